"""Every config in configs/ loads and validates; each starts with the command that runs it."""

from __future__ import annotations

import pytest
from conftest import REPO

from cards.config import load_release_config
from safedrift.core.errors import ConfigError

RELEASE_CONFIGS = sorted((REPO / "configs" / "release").glob("*.yaml"))


def test_there_are_release_configs():
    assert {p.name for p in RELEASE_CONFIGS} >= {"sample.yaml", "full.yaml"}


@pytest.mark.parametrize("path", RELEASE_CONFIGS, ids=lambda p: p.name)
def test_release_config_loads(path):
    cfg = load_release_config(path)
    assert cfg.languages[0] == "en"
    assert path.read_text().startswith("# make release")


def test_full_config_has_nine_languages_and_pinned_sources():
    cfg = load_release_config(REPO / "configs/release/full.yaml")
    assert cfg.languages == ["en", "ar", "de", "es", "fr", "hi", "pt", "th", "zh"]
    assert cfg.translation.engines == ["argos"]
    assert {s.name for s in cfg.benign.sources} == {"alpaca", "dolly"}
    assert [s.key for s in cfg.specs()] == ["benign", "sorry_bench", "xstest"]
    assert (cfg.xstest.source, cfg.xstest.hub_id, cfg.xstest.revision, cfg.xstest.path) == (
        "xstest", "walledai/XSTest", "main", None)


def test_sample_config_is_offline():
    cfg = load_release_config(REPO / "configs/release/sample.yaml")
    assert cfg.languages == ["en", "pt"]
    assert all(s.path and (REPO / s.path).is_file() for s in cfg.benign.sources)
    assert (REPO / cfg.sorry_bench.path).is_file()
    assert cfg.xstest.source == "sample" and (REPO / cfg.xstest.path).is_file()
    assert cfg.published_name(cfg.specs()[2]) == "XSTest-Multilingual"


def test_en_is_added_and_thresholds_override(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("benign: {sources: [{name: s, path: x.jsonl}]}\nlanguages: [pt]\n"
                    "qa: {chrf: 30, per_language: {th: {chrf: 20}}}\n")
    cfg = load_release_config(path)
    assert cfg.name == "c" and cfg.languages == ["en", "pt"]
    assert cfg.qa.thresholds("th").chrf == 20 and cfg.qa.thresholds("pt").chrf == 30
    assert cfg.qa.thresholds("th").lang_id_score == 0.7


@pytest.mark.parametrize(
    "text, needle",
    [
        ("benign: {sources: []}\nlanguages: [pt]\n", "benign.sources"),
        ("benign: {sources: [{name: s}]}\nlanguages: [pt]\nextra: 1\n", "extra: unknown key"),
        ("benign: {sources: [{name: s}]}\nlanguages: [pt, pt]\n", "listed twice"),
        ("benign: {sources: [{name: s}]}\nlanguages: [klingon]\n", "unknown language 'klingon'"),
        ("- just a list\n", "mapping"),
        ("benign: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_configs(tmp_path, text, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=None) as exc:
        load_release_config(path)
    assert needle in str(exc.value)
    assert str(path) in str(exc.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_release_config(tmp_path / "nope.yaml")


def test_comet_enabled_accepts_yaml_on_off(tmp_path):
    path = tmp_path / "c.yaml"
    for raw, expected in (("on", "on"), ("off", "off"), ("auto", "auto"), ('"on"', "on")):
        path.write_text("benign: {sources: [{name: s, path: x.jsonl}]}\nlanguages: [pt]\n"
                        f"qa: {{comet: {{enabled: {raw}}}}}\n")
        assert load_release_config(path).qa.comet.enabled == expected
    assert "comet" in load_release_config(path).qa.scorers
