"""Kill -9 the bench at random points inside fine-tuning, generation and judging; the resumed run ends with the
figures of a run that was never killed, and no stage file holds a row twice."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml
from conftest import REPO
from support.fixtures import tiny_config_dict

from safedrift.core.files import iter_jsonl, read_manifest

# (stage killed, the log line after which the process is inside it, the line that ends it): the runner's order is
# finetune -> generate -> judge per model, base first, then en, then pt.
TARGETS = [
    ("finetune pt", r"safedrift judge en: ", r"safedrift finetune pt: loss"),
    ("generate pt", r"safedrift finetune pt: loss", r"safedrift generate pt: "),
    ("judge pt", r"safedrift generate pt: ", r"safedrift judge pt: "),
]


class _Child:
    """`safedrift bench CONFIG` in a subprocess; its stderr lines with their arrival times."""

    def __init__(self, config: Path, env: dict[str, str]):
        self.proc = subprocess.Popen([sys.executable, "-m", "safedrift", "bench", str(config)], cwd=REPO, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def wait_for(self, pattern: str, timeout: float = 600) -> float:
        deadline = time.monotonic() + timeout
        while True:
            for at, line in list(self.lines):
                if re.match(pattern, line):
                    return at
            if time.monotonic() > deadline or not self._reader.is_alive():
                break
            time.sleep(0.002)
        raise AssertionError(f"no line matching {pattern!r}:\n{self.tail()}")

    def finish(self) -> int:
        rc = self.proc.wait(timeout=900)
        self._reader.join(timeout=10)
        return rc

    def tail(self) -> str:
        return "\n".join(line for _, line in self.lines[-30:])


def _finished(run_dir: Path, stage: str) -> bool:
    kind, model = stage.split()
    return any((f / "manifest.json").is_file() for f in (run_dir / kind).glob(f"{model}-*"))


def _figures(run_dir: Path) -> dict:
    """What a reader takes from results.json: every metric, the loss curves and the generation counts, which a
    resumed generate stage recounts from every row on disk (not timings or dates)."""
    results = json.loads((run_dir / "results.json").read_text())
    counts = ("new_tokens", "truncated", "rows")
    return {"metrics": results["metrics"], "loss": {k: v["loss"] for k, v in results["finetune"].items()},
            "generation": {m: {k: g[k] for k in counts} for m, g in results["generation"].items()}}


def _no_duplicates(run_dir: Path) -> None:
    for path in [*run_dir.glob("generate/*/samples.jsonl"), *run_dir.glob("judge/*/scores.jsonl")]:
        uids = [row["uid"] for row in iter_jsonl(path)]
        assert len(uids) == len(set(uids)), f"{path} holds a row twice"
        if (path.parent / "manifest.json").is_file():
            assert read_manifest(path.parent)["stage"] in {"generate", "judge"}


def test_kill_9_inside_each_bench_stage_resumes_to_the_same_figures(tmp_path, isolated_env, tiny_model,
                                                                      tiny_release):
    env = {**isolated_env, "SAFEDRIFT_PROGRESS": "lines"}

    def config(name: str) -> Path:
        # Enough steps and one prompt per batch, so that each stage lasts long enough to be killed inside.
        cfg = tiny_config_dict(tmp_path / name, tiny_model, tiny_release, training={"max_steps": 40},
                               generation={"batch_size": 1, "max_new_tokens": 12})
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    clean = _Child(config("clean"), env)
    assert clean.finish() == 0, clean.tail()
    clean_dir = tmp_path / "clean" / "runs" / "tiny"
    # How long each target stage took in the clean run: from the line that starts it to the line that ends it.
    durations = {}
    for stage, start, end in TARGETS:
        durations[stage] = clean.wait_for(end, timeout=0) - clean.wait_for(start, timeout=0)
        assert durations[stage] > 0

    rng = random.Random(int(os.environ.get("SAFEDRIFT_KILL_SEED", "0")))
    crashed = config("crashed")
    run_dir = tmp_path / "crashed" / "runs" / "tiny"
    for stage, start, _end in TARGETS:
        child = _Child(crashed, env)
        started = child.wait_for(start)
        # A random point in the first half of the stage, as long as it took in the clean run.
        time.sleep(max(0.0, started + rng.uniform(0.05, 0.5) * durations[stage] - time.monotonic()))
        assert child.proc.poll() is None, f"the run ended before it could be killed in {stage}:\n{child.tail()}"
        child.proc.send_signal(signal.SIGKILL)
        assert child.finish() == -signal.SIGKILL
        assert not _finished(run_dir, stage), f"{stage} finished before the kill"
        assert not (run_dir / "results.json").exists()
        _no_duplicates(run_dir)

    resumed = _Child(crashed, env)
    assert resumed.finish() == 0, resumed.tail()
    log = "\n".join(line for _, line in resumed.lines)
    for stage in ("finetune en", "generate base", "judge en"):  # finished before the first kill: not redone
        assert f"{stage}: cached" in log
    _no_duplicates(run_dir)
    assert _figures(run_dir) == _figures(clean_dir)
    samples = {(r["model"], r["uid"]): r["response"] for r in iter_jsonl(run_dir / "samples.jsonl")}
    assert samples == {(r["model"], r["uid"]): r["response"] for r in iter_jsonl(clean_dir / "samples.jsonl")}
