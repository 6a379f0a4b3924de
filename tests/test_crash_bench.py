"""Crash points of the benchmark (the release's are in test_crash_release.py): the bench is killed with SIGKILL
at both boundaries of every stage — its files computed but the folder not yet marked finished, and just after the
manifest — one after the other on the same run folder, each run resuming the last; the run that finally finishes
gives every figure of a run that was never killed, the generation counts included, and no stage file holds a row
twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from support.fixtures import tiny_config_dict

from safedrift.core.files import CRASH_ENV, iter_jsonl

pytestmark = pytest.mark.slow

STAGES = ("finetune", "generate", "judge", "metrics", "report")
BOUNDARIES = [f"bench-{stage}-{when}" for stage in STAGES for when in ("computed", "finished")]


def _bench(config: Path, env: dict[str, str], crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in env.items() if k != CRASH_ENV} | ({CRASH_ENV: crash_at} if crash_at else {})
    return subprocess.run([sys.executable, "-m", "safedrift", "bench", str(config)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)


def _figures(run_dir: Path) -> dict:
    """Every figure of results.json a reader uses: the metrics, the loss curves and the generation counts (not
    timings, dates or stage keys)."""
    results = json.loads((run_dir / "results.json").read_text())
    counts = ("new_tokens", "truncated", "rows")
    return {"metrics": results["metrics"], "loss": {k: v["loss"] for k, v in results["finetune"].items()},
            "generation": {m: {k: g.get(k) for k in counts} for m, g in results["generation"].items()},
            "samples": sorted((r["model"], r["uid"], r["response"], r["score"])
                              for r in iter_jsonl(run_dir / "samples.jsonl"))}


def test_a_kill_at_every_stage_boundary_then_a_resume_gives_the_uninterrupted_figures(tmp_path, isolated_env,
                                                                                      tiny_model, tiny_release):
    def config(name: str) -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(tiny_config_dict(tmp_path / name, tiny_model, tiny_release)))
        return path

    clean = _bench(config("clean"), isolated_env)
    assert clean.returncode == 0, clean.stderr[-3000:]
    crashed, run_dir = config("crashed"), tmp_path / "crashed" / "runs" / "tiny"
    for boundary in BOUNDARIES:
        proc = _bench(crashed, isolated_env, crash_at=boundary)
        assert proc.returncode == -signal.SIGKILL, f"not killed at {boundary}:\n{proc.stderr[-3000:]}"
        for path in [*run_dir.glob("generate/*/samples.jsonl"), *run_dir.glob("judge/*/scores.jsonl")]:
            uids = [row["uid"] for row in iter_jsonl(path)]
            assert len(uids) == len(set(uids)), f"{path} holds a row twice after the kill at {boundary}"
    resumed = _bench(crashed, isolated_env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _figures(run_dir) == _figures(tmp_path / "clean" / "runs" / "tiny")
