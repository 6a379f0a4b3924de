"""Every config in configs/ loads and validates; each starts with the command that runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO

from builders.sources import is_demo, load_benign_dataset, source_line
from cards.config import load_release_config
from safedrift.core.config import read_yaml
from safedrift.core.errors import ConfigError
from safedrift.core.locations import CONFIG_KINDS, config_path, input_path, sample_data, shipped_configs

RELEASE_CONFIGS = sorted((REPO / "configs" / "release").glob("*.yaml"))


def test_there_are_release_configs():
    assert {p.name for p in RELEASE_CONFIGS} >= {"sample.yaml", "full.yaml"}


@pytest.mark.parametrize("path", RELEASE_CONFIGS, ids=lambda p: p.name)
def test_release_config_loads(path):
    cfg = load_release_config(path)
    assert cfg.languages[0] == "en"
    assert path.read_text().startswith("# make release")


def test_full_config_has_nine_languages_and_states_every_hub_sources_revision():
    path = REPO / "configs/release/full.yaml"
    cfg = load_release_config(path)
    assert cfg.languages == ["en", "ar", "de", "es", "fr", "hi", "pt", "th", "zh"]
    assert cfg.translation.engines == ["argos"]
    assert [s.key for s in cfg.specs()] == ["benign", "sorry_bench", "xstest"]
    # Every Hub source names its revision in the file itself (not left to a spec's default), so pinning the
    # release to commits is one edit per source; the cards say which revision each source was read at.
    raw = read_yaml(path)
    assert [(s["name"], s["hub_id"], s["revision"]) for s in raw["benign"]["sources"]] == [
        ("alpaca", "tatsu-lab/alpaca", "main"), ("dolly", "databricks/databricks-dolly-15k", "main")]
    assert (raw["sorry_bench"]["hub_id"], raw["sorry_bench"]["revision"]) == ("sorry-bench/sorry-bench-202503", "main")
    assert (cfg.xstest.source, cfg.xstest.hub_id, cfg.xstest.revision, cfg.xstest.path) == (
        "xstest", "walledai/XSTest", "main", None)
    assert source_line(cfg.benign.sources[1], 7).startswith(
        "`dolly`: [`databricks/databricks-dolly-15k`](https://huggingface.co/datasets/databricks/databricks-dolly-15k) "
        "at revision `main`, dolly format")


def test_sample_config_is_offline():
    cfg = load_release_config(REPO / "configs/release/sample.yaml")
    assert cfg.languages == ["en", "pt"]
    assert [s.path for s in cfg.benign.sources] == ["data/sample/benign.jsonl"]
    assert (cfg.sorry_bench.path, cfg.xstest.path) == ("data/sample/sorry_bench_demo.jsonl",
                                                     "data/sample/xstest_demo.jsonl")
    assert all((REPO / p).is_file() for p in ["data/sample/benign.jsonl", cfg.sorry_bench.path, cfg.xstest.path])
    assert cfg.xstest.source == "sample"
    assert cfg.published_name(cfg.specs()[2]) == "XSTest-Multilingual"


def test_shipped_configs_are_the_repositorys_and_a_name_finds_one():
    for kind in CONFIG_KINDS:
        shipped = shipped_configs(kind)
        assert {p.name for p in shipped.values()} == {p.name for p in (REPO / "configs" / kind).glob("*.yaml")}
        assert all(p.read_bytes() == (REPO / "configs" / kind / p.name).read_bytes() for p in shipped.values())
    assert config_path("sample", "release") == shipped_configs("release")["sample"]
    assert config_path("sample", "bench").read_text().startswith("# make bench")
    # a file of that name in the working folder is the user's, and wins over the shipped one
    assert config_path("configs/release/full.yaml", "release") == Path("configs/release/full.yaml")
    with pytest.raises(ConfigError, match=r"'sampel' is neither a config file nor a shipped bench config; did "
                                          r"you mean 'sample'\? give a YAML file's path or one of: .*sample"):
        config_path("sampel", "bench")
    assert config_path("nope.yaml", "release") == Path("nope.yaml")  # a path: the loader says it is missing


def test_a_shipped_config_reads_its_sample_data_from_an_empty_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_release_config(config_path("sample", "release"))
    assert input_path(cfg.benign.sources[0].path) == sample_data() / "benign.jsonl"
    loaded = load_benign_dataset(cfg.benign)
    assert len(loaded.rows) > 40 and loaded.stats["demo"] is True
    assert "local file `data/sample/benign.jsonl`" in loaded.source_lines[0]  # the card names it as configured
    assert is_demo("data/sample/xstest_demo.jsonl", None) and not is_demo("elsewhere.jsonl", None)
    assert cfg.output_path == Path("release") and cfg.work_path == Path("build/sample")  # outputs: this folder
    (tmp_path / "data" / "sample").mkdir(parents=True)
    (tmp_path / "data" / "sample" / "benign.jsonl").write_text("{}\n")
    assert input_path("data/sample/benign.jsonl") == Path("data/sample/benign.jsonl")  # the user's file wins


def test_en_is_added_and_thresholds_override(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("benign: {sources: [{name: s, path: x.jsonl}]}\nlanguages: [pt]\n"
                    "qa: {chrf: 30, per_language: {th: {chrf: 20}}}\n")
    cfg = load_release_config(path)
    assert cfg.name == "c" and cfg.languages == ["en", "pt"]
    assert cfg.qa.thresholds("th").chrf == 20 and cfg.qa.thresholds("pt").chrf == 30
    assert cfg.qa.thresholds("th").lang_id_score == 0.7
    # only the keys a language sets override; an explicit null turns that limit off for the language
    path.write_text("benign: {sources: [{name: s, path: x.jsonl}]}\nlanguages: [pt]\n"
                    "qa: {length_ratio_width: 3.0, per_language: {th: {lang_id_score: null, copy_ngram: 3}}}\n")
    qa = load_release_config(path).qa
    th, pt = qa.thresholds("th"), qa.thresholds("pt")
    assert (th.lang_id_score, th.copy_ngram, th.length_ratio_width, th.chrf) == (None, 3, 3.0, 35.0)
    assert (pt.lang_id_score, pt.copy_ngram, pt.length_ratio_width) == (0.7, 2, 3.0)
    assert qa.model_dump()["per_language"] == {"th": {"lang_id_score": None, "copy_ngram": 3}}


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
