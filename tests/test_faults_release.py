"""Faults a new user meets (issue 28), each one clear sentence with exit code 2 and nothing half-written: an
output path that is a file, a full disk / file-size limit / read-only folder anywhere, a full translation
memory, YAML syntax errors, duplicate source names, files written private, absolute builder paths in published
files, data docs in filesystem order, and `--push` without a reachable Hub."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from pathlib import Path

import pytest
import yaml

from safedrift.cli import main
from safedrift.core.errors import run_cli

GOOD = [{"instruction": "Name a fruit.", "input": "", "output": "An apple is a fruit."},
        {"instruction": "Name a colour.", "input": "", "output": "Blue is a colour."}]


def _config(tmp_path: Path, **over) -> Path:
    data = tmp_path / "b.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in GOOD), encoding="utf-8")
    cfg = {"name": "faults", "languages": ["en", "pt"], "output_dir": str(tmp_path / "release"),
           "work_dir": str(tmp_path / "work"), "datasets": {"benign": "Multilingual-Benign-Tune"},
           "benign": {"sources": [{"name": "sample", "path": str(data)}]},
           "translation": {"engines": ["bergamot"]}, **over}
    path = tmp_path / "faults.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def _one_error(capsys, argv: list[str]) -> str:
    code = run_cli(main, argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def home(tmp_path, isolated_home):
    return isolated_home


# --- paths checked before any work ------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["release", "publish", "build"])
def test_an_output_or_work_path_that_is_a_file_stops_before_any_work(tmp_path, capsys, home, command):
    (tmp_path / "release").write_text("not a folder\n")
    line = _one_error(capsys, [command, str(_config(tmp_path))])
    assert line == (f"error: the release folder {tmp_path / 'release'} cannot be created: {tmp_path / 'release'} is a "
                    "file, not a folder; choose another --output-dir (or `output_dir:` in the config) or move the "
                    "file away.")
    assert not (tmp_path / "work").exists()  # nothing was built, not even the lock
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    line = _one_error(capsys, [command, str(_config(tmp_path, output_dir=str(tmp_path / "out"),
                                                    work_dir=str(blocker / "work")))])
    assert f"the work directory {blocker / 'work'} cannot be created: {blocker} is a file" in line


# --- a refused write anywhere: one sentence naming the file and the fix ------------------------------------


@pytest.mark.parametrize(("code", "reason", "fix"), [
    (errno.ENOSPC, "No space left on device", "free space on that disk"),
    (errno.EFBIG, "File too large", "raise the file-size limit (`ulimit -f`) or free space"),
    (errno.EROFS, "Read-only file system", "remount it writable or choose a writable folder"),
])
def test_a_refused_write_in_the_work_dir_is_one_sentence(tmp_path, capsys, home, monkeypatch, code, reason, fix):
    import safedrift.core.files as files

    def refuse(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(files.os, "fsync", refuse)  # the first atomic write: the build's sources
    line = _one_error(capsys, ["build", str(_config(tmp_path))])
    assert line == (f"error: cannot write {tmp_path / 'work' / 'sources' / 'benign.jsonl'} "
                    f"({reason}); {fix}, then rerun the same command: it resumes from what was written.")
    assert not list((tmp_path / "work" / "sources").glob(".*.tmp"))  # no temp file left behind


def test_a_full_translation_memory_is_one_sentence(tmp_path, capsys, home, monkeypatch):
    from builders.memory import TranslationMemory

    opened = TranslationMemory.__init__

    class Full:  # the connection as SQLite answers on a full disk (SQLITE_FULL) once the memory grows
        def __init__(self, conn):
            self.conn = conn

        def execute(self, *args):
            return self.conn.execute(*args)

        def executemany(self, *args):
            raise sqlite3.OperationalError("database or disk is full")

        def close(self):
            self.conn.close()

    def tiny(self, path):
        opened(self, path)
        self._conn = Full(self._conn)

    monkeypatch.setattr(TranslationMemory, "__init__", tiny)
    line = _one_error(capsys, ["build", str(_config(tmp_path))])
    memory = tmp_path / "work" / "memory.sqlite"
    assert line == (f"error: cannot write {memory} (database or disk is full); free space on that disk or make it "
                    "writable, then rerun the same command: it resumes from what was written.")
    with sqlite3.connect(memory) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_gate_raises_a_full_disk_once_without_great_expectations_tracebacks(tmp_path, capfd):
    import great_expectations.data_context.store.tuple_store_backend as tsb
    from support.tiny_release import write_release

    from cards.config import load_release_config
    from validation.gate import run_gate

    benign, sorry = write_release(tmp_path / "r")
    cfg = load_release_config("configs/release/sample.yaml")
    capfd.readouterr()

    def full(self, key, value, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tsb.TupleFilesystemStoreBackend, "_set", full)
        with pytest.raises(OSError) as err:
            run_gate({"benign": benign, "sorry_bench": sorry}, ["en", "pt"], cfg,
                     {"benign": tmp_path / "docs" / "benign", "sorry_bench": tmp_path / "docs" / "sorry"})
    out, errors = capfd.readouterr()
    assert "Traceback" not in out + errors and "unexpected Exception" not in out + errors
    assert err.value.errno == errno.ENOSPC
    assert str(err.value.filename).startswith(str(tmp_path / "docs" / "benign"))


# --- config and source mistakes ---------------------------------------------------------------------------


def test_a_yaml_syntax_error_is_one_line_with_line_and_column(tmp_path, capsys, home):
    config = tmp_path / "broken.yaml"
    config.write_text("name: x\nlanguages: [en, pt\noutput_dir: release\n", encoding="utf-8")
    line = _one_error(capsys, ["release", str(config)])
    assert line == (f"error: {config}:3:11: not valid YAML: expected ',' or ']', but got ':' (while parsing a flow "
                    "sequence); fix the file at that line and column.")


def test_two_benign_sources_with_one_name_are_an_error(tmp_path, capsys, home):
    other = tmp_path / "c.jsonl"
    other.write_text(json.dumps(GOOD[0]) + "\n", encoding="utf-8")
    config = _config(tmp_path)
    cfg = yaml.safe_load(config.read_text())
    cfg["benign"]["sources"].append({"name": "sample", "path": str(other)})
    config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    line = _one_error(capsys, ["build", str(config)])
    assert line == (f"error: {config}: benign.sources: source name 'sample' is used by more than one source; give "
                    "every source its own `name:`.")


# --- shareable outputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_files_are_written_with_the_users_umask(tmp_path, umask, mode):
    from safedrift.core.files import atomic_write_parquet, atomic_write_text

    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        import pyarrow as pa

        atomic_write_parquet(tmp_path / "a.parquet", pa.table({"x": [1]}))
    finally:
        os.umask(old)
    assert {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()} == {"a.txt": mode, "a.parquet": mode}


def test_published_reports_name_no_folder_of_the_builder(tmp_path, monkeypatch):
    from cards.release import shareable

    monkeypatch.chdir(tmp_path)
    checkout = str(Path(__file__).resolve().parents[1])
    report = {"pt": {"comet": {"skipped": f"the COMET venv was not found ({checkout}/.venv-comet/bin/python)"},
                     "note": f"read {tmp_path}/refs/pt.jsonl and {Path.home()}/data/x.jsonl", "n": 3}}
    assert shareable(report) == {"pt": {"comet": {"skipped": "the COMET venv was not found (./.venv-comet/bin/python)"},
                                        "note": "read ./refs/pt.jsonl and ~/data/x.jsonl", "n": 3}}


def test_data_docs_do_not_depend_on_the_order_the_filesystem_lists(tmp_path, isolated_home):
    import great_expectations.data_context.store.tuple_store_backend as tsb
    from support.tiny_release import write_release

    from cards.config import load_release_config
    from validation.gate import run_gate

    benign, _ = write_release(tmp_path / "r")
    cfg = load_release_config("configs/release/sample.yaml")
    walk = os.walk

    def reversed_walk(top, *args, **kwargs):
        for root, dirs, files in walk(top, *args, **kwargs):
            dirs.reverse()
            yield root, dirs, list(reversed(files))

    docs = {}
    for order in ("listed", "reversed"):
        with pytest.MonkeyPatch.context() as mp:
            if order == "reversed":
                mp.setattr(tsb.os, "walk", reversed_walk)
            run_gate({"benign": benign}, ["en", "pt"], cfg, {"benign": tmp_path / order})
        docs[order] = {p.relative_to(tmp_path / order): p.read_bytes() for p in (tmp_path / order).rglob("*")
                       if p.is_file()}
    assert docs["listed"] == docs["reversed"]
    assert Path("index.html") in docs["listed"]


# --- --push: the Hub is checked before minutes of building -----------------------------------------------


def test_push_checks_the_token_and_the_hub_before_building(tmp_path, capsys, home, monkeypatch):
    import socket

    import huggingface_hub.constants as hf_constants

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    line = _one_error(capsys, ["release", str(_config(tmp_path)), "--push", "--hub-org", "me"])
    assert "no Hugging Face token found: set HF_TOKEN" in line
    assert not (tmp_path / "work" / "memory.sqlite").exists()

    with socket.socket() as s:  # a port nobody listens on: the Hub cannot be reached
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_TOKEN", "hf_secret_for_tests")
    config = _config(tmp_path, hub={"endpoint": f"http://127.0.0.1:{port}"})
    line = _one_error(capsys, ["release", str(config), "--push", "--hub-org", "me"])
    assert line.startswith(f"error: checking the token with the Hub failed: cannot reach the Hub at "
                           f"http://127.0.0.1:{port}")
    assert line.endswith("; nothing was built or sent.") and "hf_secret_for_tests" not in line
    assert not (tmp_path / "work" / "memory.sqlite").exists() and not (tmp_path / "work" / "sources").exists()
