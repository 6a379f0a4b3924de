"""Kill the build mid-translation and rerun: same parquet files, no segment translated twice."""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml
from conftest import REPO, run_cli


def _config(tmp_path: Path, name: str) -> Path:
    cfg = yaml.safe_load((REPO / "configs/release/sample.yaml").read_text())
    cfg.update(name=name, work_dir=str(tmp_path / name / "work"), output_dir=str(tmp_path / name / "release"))
    cfg["benign"]["subset"] = 24
    cfg["sorry_bench"]["limit"] = 12
    cfg["xstest"]["limit"] = 12
    cfg["translation"].update(batch_segments=8, include_installed_argos=False)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _memory_rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
    except sqlite3.Error:
        return 0


def _parquet_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


def test_kill_and_resume_gives_identical_release(tmp_path, isolated_env):
    clean = _config(tmp_path, "clean")
    proc = run_cli(["safedrift", "release", str(clean)], isolated_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = _parquet_hashes(tmp_path / "clean" / "release")
    total = _memory_rows(tmp_path / "clean" / "work" / "memory.sqlite")
    # benign train + test, SORRY-Bench test, XSTest test; in en and pt
    assert len(expected) == 8 and total > 100

    crashed = _config(tmp_path, "crashed")
    db = tmp_path / "crashed" / "work" / "memory.sqlite"
    child = subprocess.Popen([sys.executable, "-m", "safedrift", "release", str(crashed)], cwd=REPO,
                             env=isolated_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while _memory_rows(db) < total // 3 and child.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert child.poll() is None, "the build finished before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.wait()
    done_at_kill = _memory_rows(db)
    assert 0 < done_at_kill < total
    assert not (tmp_path / "crashed" / "release" / "Multilingual-Benign-Tune").exists()

    proc = run_cli(["safedrift", "release", str(crashed)], isolated_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _parquet_hashes(tmp_path / "crashed" / "release") == expected
    with sqlite3.connect(db) as con:
        rows, max_times = con.execute("SELECT COUNT(*), MAX(n_translated) FROM translations").fetchone()
    assert rows == total
    assert max_times == 1
