"""One release at a time per work directory (safedrift.release.work_lock): a second run stops at once with a
clear sentence, a killed holder leaves no stale lock, and the translation memory is never touched by the
refused run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_cli

from safedrift.cli import main
from safedrift.core.errors import run_cli as run_main
from safedrift.release import LOCK_FILE, work_lock

GOOD = {"instruction": "Name a fruit.", "input": "", "output": "An apple is a fruit."}

HOLD = """
import sys, time
from pathlib import Path
from safedrift.release import work_lock
with work_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(600)
"""


def _holder(work: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(work)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def _config(tmp_path: Path) -> Path:
    data = tmp_path / "b.jsonl"
    data.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    cfg = {"name": "locked", "languages": ["en", "pt"], "output_dir": str(tmp_path / "release"),
           "work_dir": str(tmp_path / "work"), "datasets": {"benign": "Multilingual-Benign-Tune"},
           "benign": {"sources": [{"name": "sample", "path": str(data)}]},
           "translation": {"engines": ["bergamot"]}}
    path = tmp_path / "locked.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def _memory_rows(work: Path) -> tuple[str, int]:
    with sqlite3.connect(work / "memory.sqlite") as conn:
        return (conn.execute("PRAGMA integrity_check").fetchone()[0],
                conn.execute("SELECT COUNT(*) FROM translations").fetchone()[0])


def test_a_second_run_stops_at_once_and_a_killed_holder_leaves_no_stale_lock(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = _config(tmp_path)
    work, release = tmp_path / "work", tmp_path / "release"
    release.mkdir()
    (release / "README.md").write_text("previous release\n")
    holder = _holder(work)
    try:
        for command in (["release", str(config)], ["publish", str(config)]):
            assert run_main(main, command) == 2
            err = capsys.readouterr().err
            lines = [line for line in err.splitlines() if line.startswith("error:")]
            assert lines == [f"error: another safedrift release is using the work directory {work} (pid "
                             f"{holder.pid}, started " + lines[0].split("started ", 1)[1]]
            assert lines[0].endswith("); wait for it to finish, or give this run another --work-dir.")
        # the refused run did nothing: no memory, no translations, the previous release untouched
        assert sorted(p.name for p in work.iterdir()) == [LOCK_FILE]
        assert [p.name for p in release.iterdir()] == ["README.md"]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # kill -9 released the flock; the lock file stays and blocks nobody
    assert (work / LOCK_FILE).is_file()
    with work_lock(work):
        assert (work / LOCK_FILE).read_text().startswith(f"pid {os.getpid()}, started ")


def test_two_real_runs_on_one_work_dir(sample_release, tmp_path, isolated_env):
    """A real `safedrift publish` holds the work dir while a real `safedrift release` is refused; the first
    still finishes, and the memory is intact."""
    root, _ = sample_release
    work, out = tmp_path / "work", tmp_path / "release"
    shutil.copytree(root / "work", work)
    shutil.copytree(root / "release", out)
    before = _memory_rows(work)
    assert before[0] == "ok" and before[1] > 0
    args = ["configs/release/sample.yaml", "--work-dir", str(work), "--output-dir", str(out)]
    first = subprocess.Popen([sys.executable, "-m", "safedrift", "publish", *args], cwd=REPO, env=isolated_env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while f"pid {first.pid}," not in ((work / LOCK_FILE).read_text() if (work / LOCK_FILE).exists() else ""):
            assert first.poll() is None and time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.05)
        second = run_cli(["safedrift", "release", *args], isolated_env)
        assert second.returncode == 2, second.stderr[-2000:]
        assert f"another safedrift release is using the work directory {work} (pid {first.pid}" in second.stderr
        stdout, stderr = first.communicate(timeout=900)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, stderr[-3000:]
    assert f"Multilingual-Benign-Tune: {out / 'Multilingual-Benign-Tune'}" in stdout
    assert _memory_rows(work) == before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="flock semantics are POSIX")
def test_the_lock_is_per_work_dir(tmp_path):
    with work_lock(tmp_path / "a"), work_lock(tmp_path / "b"):
        assert (tmp_path / "a" / LOCK_FILE).is_file() and (tmp_path / "b" / LOCK_FILE).is_file()


HOLD_OUTPUT = """
import sys, time
from pathlib import Path
from safedrift.core.files import output_lock
with output_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(600)
"""


@pytest.mark.parametrize("command", ["build", "qa", "publish", "push"])
def test_every_writer_takes_the_work_dir_lock(tmp_path, capsys, monkeypatch, command):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = _config(tmp_path)
    work = tmp_path / "work"
    holder = _holder(work)
    try:
        argv = [command, str(config)] + (["--hub-org", "me", "--dry-run"] if command == "push" else [])
        assert run_main(main, argv) == 2
        err = capsys.readouterr().err
        assert f"error: another safedrift release is using the work directory {work} (pid {holder.pid}," in err
        assert sorted(p.name for p in work.iterdir()) == [LOCK_FILE]  # the refused run wrote nothing
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()


def test_two_work_dirs_cannot_publish_into_one_release_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = _config(tmp_path)
    out = tmp_path / "release"
    out.mkdir()
    (out / "README.md").write_text("previous release\n")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_OUTPUT, str(out)], cwd=REPO, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        # another work dir, the same release folder: the work-dir lock is free, the release folder's is not
        assert run_main(main, ["publish", str(config), "--work-dir", str(tmp_path / "other-work")]) == 2
        err = capsys.readouterr().err
        assert f"error: another safedrift run is publishing into {out} (pid {holder.pid}, started " in err
        assert err.rstrip().endswith("); wait for it to finish, or choose another --output-dir.")
        assert [p.name for p in out.iterdir()] == ["README.md"]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
