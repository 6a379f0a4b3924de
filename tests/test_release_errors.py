"""Bad input stops the release with one clear sentence, exit code 2, and the release folder untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from safedrift.cli import main
from safedrift.errors import run_cli

GOOD = {"instruction": "Name a fruit.", "input": "", "output": "An apple is a fruit."}


def _write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _config(tmp_path: Path, benign_path: Path, **over) -> Path:
    cfg = {
        "name": "bad",
        "languages": ["en", "pt"],
        "output_dir": str(tmp_path / "release"),
        "work_dir": str(tmp_path / "work"),
        "benign": {"sources": [{"name": "sample", "path": str(benign_path)}]},
        "sorry_bench": {"path": "data/sample/sorry_bench_demo.jsonl"},
        "translation": {"engines": ["bergamot"]},
    }
    for key, value in over.items():
        cfg[key] = value
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


@pytest.fixture
def release_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    # an earlier release that must survive a failed build byte for byte
    old = tmp_path / "release" / "Multilingual-Benign-Tune"
    old.mkdir(parents=True)
    (old / "README.md").write_text("previous release\n")
    return tmp_path / "release"


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _fails(capsys, tmp_path, config: Path, release_dir: Path, *needles: str) -> str:
    before = _snapshot(release_dir)
    code = run_cli(main, ["release", str(config)])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert _snapshot(release_dir) == before
    return lines[0]


def test_malformed_jsonl_names_file_and_line(tmp_path, capsys, release_dir):
    data = _write_jsonl(tmp_path / "b.jsonl", [json.dumps(GOOD), json.dumps(GOOD), '{"instruction": "x",'])
    _fails(capsys, tmp_path, _config(tmp_path, data), release_dir, f"{data}:3", "malformed JSON")


def test_missing_field(tmp_path, capsys, release_dir):
    row = {"instruction": "Name a fruit.", "input": ""}
    data = _write_jsonl(tmp_path / "b.jsonl", [json.dumps(GOOD), json.dumps(row)])
    _fails(capsys, tmp_path, _config(tmp_path, data), release_dir, "output", f"{data}:2")


def test_empty_instruction(tmp_path, capsys, release_dir):
    data = _write_jsonl(tmp_path / "b.jsonl", [json.dumps(dict(GOOD, instruction="   "))])
    _fails(capsys, tmp_path, _config(tmp_path, data), release_dir, "instruction", f"{data}:1")


def test_unknown_language(tmp_path, capsys, release_dir):
    data = _write_jsonl(tmp_path / "b.jsonl", [json.dumps(GOOD)])
    line = _fails(capsys, tmp_path, _config(tmp_path, data, languages=["en", "xx"]), release_dir,
                  "unknown language 'xx'")
    assert "ar, de, en, es, fr, hi, pt, th, zh" in line


def test_unknown_engine(tmp_path, capsys, release_dir):
    data = _write_jsonl(tmp_path / "b.jsonl", [json.dumps(GOOD)])
    _fails(capsys, tmp_path, _config(tmp_path, data, translation={"engines": ["bergamott"]}), release_dir,
           "unknown", "bergamott", "bergamot")


def test_unknown_config_key(tmp_path, capsys, release_dir):
    data = _write_jsonl(tmp_path / "b.jsonl", [json.dumps(GOOD)])
    _fails(capsys, tmp_path, _config(tmp_path, data, langauges=["en"]), release_dir, "langauges",
           "unknown key")


def test_language_without_engine_stops_before_work(tmp_path, capsys, release_dir):
    data = _write_jsonl(tmp_path / "b.jsonl", [json.dumps(GOOD)])
    _fails(capsys, tmp_path, _config(tmp_path, data, languages=["en", "de"]), release_dir,
           "no translation engine has a model for en<->de", "bergamot")
    assert not (tmp_path / "work" / "memory.sqlite").exists()


def test_identity_engine_cannot_stand_in_for_a_translation(tmp_path, capsys, release_dir):
    data = _write_jsonl(tmp_path / "b.jsonl", [json.dumps(GOOD)])
    _fails(capsys, tmp_path, _config(tmp_path, data, languages=["en", "pt"], translation={"engines": ["identity"]}),
           release_dir, "no translation engine has a model for en<->pt (tried identity)")
