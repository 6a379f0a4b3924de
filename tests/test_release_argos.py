"""The argos path through a whole release, on a tiny real .argosmodel built by the tests.

The tiny model's translations are meaningless (random weights), so this asserts mechanics: the package
installs through our CLI, every language row is produced, protected spans survive, a rerun is all
memory hits."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from conftest import run_cli
from support.tiny_argos import build_tiny_argosmodel

FENCE = re.compile(r"```.*?```", re.S)
URL = re.compile(r"https?://\S+")


@pytest.fixture(scope="module")
def argos_release(tmp_path_factory, isolated_env):
    root = tmp_path_factory.mktemp("argos-release")
    pkgs = root / "packages"
    files = [build_tiny_argosmodel(root / "models", "en", "de"), build_tiny_argosmodel(root / "models", "de", "en")]
    proc = run_cli(["safedrift", "install-argos", "--packages-dir", str(pkgs), *map(str, files)], isolated_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cfg = {
        "name": "argos-test",
        "languages": ["en", "de"],
        "work_dir": str(root / "work"),
        "output_dir": str(root / "release"),
        "benign": {"sources": [{"name": "sample", "path": "data/sample/benign.jsonl"}], "subset": 30, "seed": 3},
        "sorry_bench": {"path": "data/sample/sorry_bench_demo.jsonl", "limit": 6},
        "xstest": {"source": "sample", "path": "data/sample/xstest_demo.jsonl", "limit": 6},
        "translation": {"engines": ["argos"], "batch_segments": 32,
                        "engine_options": {"argos": {"packages_dir": str(pkgs), "beam_size": 1,
                                                     "max_decoding_length": 24}}},
        # Random weights translate into no language: the gate's language-ID agreement would (rightly) block.
        "qa": {"gate": {"lang_id_agreement": 0.0}},
    }
    config = root / "argos.yaml"
    config.write_text(yaml.safe_dump(cfg))
    proc = run_cli(["safedrift", "release", str(config)], isolated_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, config


def test_argos_rows_and_translator(argos_release):
    from datasets import load_dataset

    root, _ = argos_release
    de = load_dataset(str(root / "release" / "Multilingual-Benign-Tune"), "de", cache_dir=str(root / "hf"))
    en = load_dataset(str(root / "release" / "Multilingual-Benign-Tune"), "en", cache_dir=str(root / "hf"))
    assert len(de["train"]) + len(de["test"]) == 30
    assert sorted(de["train"]["id"]) == sorted(en["train"]["id"])
    assert set(de["train"]["translator"]) == {"argos/translate-en_de-1.0"}
    assert de["train"]["output"] != en["train"]["output"]


def test_argos_keeps_code_and_urls(argos_release):
    root, _ = argos_release
    rows = {r["id"]: r for r in map(json.loads, open(root / "work" / "translated" / "benign" / "de.jsonl"))}
    src = {r["id"]: r for r in map(json.loads, open(root / "work" / "translated" / "benign" / "en.jsonl"))}
    checked = 0
    for rid, s in src.items():
        for pattern in (FENCE, URL):
            for span in pattern.findall(s["output"]):
                span = span.rstrip(".,;:!?)")
                assert span in rows[rid]["output"], (rid, span)
                checked += 1
    assert checked >= 2


def test_argos_rerun_is_all_memory_hits(argos_release, isolated_env):
    root, config = argos_release
    proc = run_cli(["builders", "build", str(config)], isolated_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads((root / "work" / "translated" / "manifest.json").read_text())
    stats = manifest["translation"]["benign/de"]
    assert stats["forward"]["translated"] == 0 and stats["forward"]["memory_hits"] == stats["forward"]["unique"] > 0
