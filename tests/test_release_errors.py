"""Bad input stops the release with one clear sentence, exit code 2, and the release folder untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from safedrift.cli import main
from safedrift.core.errors import run_cli

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


# --- hard input failures, through the command: one sentence, exit 2, nothing written -----------------------


def test_non_utf8_source(tmp_path, capsys, release_dir):
    data = tmp_path / "b.jsonl"
    data.write_bytes(json.dumps(GOOD).encode() + b"\n" + '{"instruction": "Caf\u00e9?"}'.encode("cp1252") + b"\n")
    _fails(capsys, tmp_path, _config(tmp_path, data), release_dir, f"{data}:2: not UTF-8 text (byte 0xe9 at column",
           "re-encode the file as UTF-8")
    assert not (tmp_path / "work" / "memory.sqlite").exists()


def test_source_path_is_a_directory(tmp_path, capsys, release_dir):
    folder = tmp_path / "alpaca.jsonl"
    folder.mkdir()
    _fails(capsys, tmp_path, _config(tmp_path, folder), release_dir, f"{folder} is a directory, not a file")


def test_gzip_source_named_jsonl(tmp_path, capsys, release_dir):
    import gzip

    data = tmp_path / "b.jsonl"
    data.write_bytes(gzip.compress((json.dumps(GOOD) + "\n").encode()))
    _fails(capsys, tmp_path, _config(tmp_path, data), release_dir, f"{data} is gzip-compressed, not JSON text")


# --- the output directory: read-only or full ---------------------------------------------------------------
# The build and QA of the sample release are reused (copied from the session's sample_release); `publish`
# then writes into an output directory that cannot take the new release. The previous release must stay
# byte-identical, and the failure is one sentence with exit 2 (safedrift/release.py turns the OSError of
# an unwritable folder into a SafedriftError).


def _read_only(folder: Path):
    """Make `folder` unwritable even for root (chattr +i); returns the undo, or skips."""
    import os
    import subprocess

    if os.geteuid() != 0:
        folder.chmod(0o555)
        return lambda: folder.chmod(0o755)
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root without chattr +i support: cannot make a folder read-only")
    return lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)


def _full_disk(mountpoint: Path, size: str):
    """A small tmpfs at `mountpoint`; returns the undo, or skips (needs root with CAP_SYS_ADMIN)."""
    import subprocess

    mountpoint.mkdir(parents=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root with CAP_SYS_ADMIN) to fill a disk")
    return lambda: subprocess.run(["umount", str(mountpoint)], check=True)


def _publish_into(sample_release, tmp_path: Path, kind: str) -> dict:
    import shutil

    root, _ = sample_release
    work = tmp_path / "work"
    shutil.copytree(root / "work", work)
    if kind == "full":
        undo = _full_disk(tmp_path / "disk", "3m")
        out = tmp_path / "disk" / "release"
        shutil.copytree(root / "release", out)
        # leave less room than a release needs
        free = shutil.disk_usage(out).free
        (tmp_path / "disk" / "filler").write_bytes(b"\0" * max(0, free - 300_000))
    else:
        out = tmp_path / "release"
        shutil.copytree(root / "release", out)
        undo = _read_only(out)
    before = _snapshot(out)
    try:
        try:
            code: object = run_cli(main, ["publish", "configs/release/sample.yaml", "--work-dir", str(work),
                                          "--output-dir", str(out)])
        except OSError as exc:  # the crash the cards/release.py change turns into one sentence
            code = exc
        after = _snapshot(out)
        leftovers = sorted(p.name for p in out.iterdir())
    finally:
        undo()
    return {"code": code, "before": before, "after": after, "leftovers": leftovers, "out": out}


@pytest.mark.parametrize("kind", ["read-only", "full"])
def test_unwritable_output_dir_keeps_the_previous_release(sample_release, tmp_path, capsys, kind):
    result = _publish_into(sample_release, tmp_path, kind)
    assert result["code"] != 0
    assert result["after"] == result["before"]
    assert result["leftovers"] == ["Multilingual-Benign-Tune", "SORRY-Bench-Multilingual", "XSTest-Multilingual"]


def test_full_output_dir_is_one_sentence(sample_release, tmp_path, capsys):
    result = _publish_into(sample_release, tmp_path, "full")
    assert result["code"] == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and str(result["out"]) in lines[0] and "No space left on device" in lines[0]
