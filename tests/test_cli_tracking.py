"""`tracking: {comet: offline|online|off}`: a bare `off` (YAML's false) and `false` both turn it off; the old
top-level `comet:` key is still read, with a one-line notice."""

from __future__ import annotations

import pytest
import yaml

from bench_runner.config import parse_config
from bench_runner.report.tracking import log_to_comet

BASE = {"run_id": "t", "model": {"builtin": "smollm2-135m-instruct"}}


@pytest.mark.parametrize(("text", "expected"), [
    ("tracking: {comet: off}", "off"),
    ("tracking: {comet: false}", "off"),
    ("tracking: {comet: 'off'}", "off"),
    ("tracking: {comet: online, project: p}", "online"),
    ("{}", "offline"),
])
def test_tracking_comet_values(text, expected, capsys):
    cfg = parse_config({**BASE, **yaml.safe_load(text)})
    assert cfg.tracking.comet == expected
    assert "deprecated" not in capsys.readouterr().err


def test_old_comet_key_is_read_with_a_notice(capsys):
    cfg = parse_config({**BASE, **yaml.safe_load("comet: off\ncomet_project: mine")})
    assert (cfg.tracking.comet, cfg.tracking.project) == ("off", "mine")
    err = capsys.readouterr().err.splitlines()
    assert "safedrift config: `comet:` is deprecated; write `tracking: {comet: ...}` instead." in err
    assert "safedrift config: `comet_project:` is deprecated; write `tracking: {project: ...}` instead." in err
    assert "comet" not in cfg.model_dump() and cfg.model_dump()["tracking"] == {"comet": "off", "project": "mine"}


def test_bad_tracking_value_names_the_key():
    from safedrift.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"tracking\.comet: Input should be 'offline', 'online' or 'off'"):
        parse_config({**BASE, "tracking": {"comet": "yes-please"}})


def test_off_logs_nothing(tmp_path):
    assert log_to_comet(None, "off", "p", tmp_path) is None  # type: ignore[arg-type]
    assert not (tmp_path / "comet").exists()
