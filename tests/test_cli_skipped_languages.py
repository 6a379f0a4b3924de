"""`safedrift release` ends by naming every known language it did not build, and why."""

from __future__ import annotations

from cards.config import load_release_config
from safedrift.core.languages import LANGUAGES
from safedrift.core.locations import config_path
from safedrift.core.overrides import parse_sets
from safedrift.release import skipped_languages


def test_skipped_languages_say_why():
    cfg = load_release_config(config_path("sample", "release"), parse_sets(["translation.engines=[bergamot]"]))
    skipped = skipped_languages(cfg, ["en"])
    assert list(skipped) == [code for code in LANGUAGES if code != "en"]  # all eight, in registry order
    assert skipped["pt"] == "not in the config's `languages:` (bergamot can translate it; add it there)"
    assert skipped["de"] == ("no configured engine translates en<->de (tried bergamot); `safedrift engines` says "
                             "how to add the pair")
    assert "pt" not in skipped_languages(cfg, ["en", "pt"])
