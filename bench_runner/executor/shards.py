"""Shards: `safedrift bench CONFIG --shard i/n` runs one deterministic slice of the grid, so a SLURM array, separate
machines or Ray tasks share the work; `safedrift bench merge` (executor/merge.py) then writes one results.json.

The unit of a shard is a model of the grid: the base model, or one fine-tune language with all its training seeds'
adapters (a later seed's drift is measured against the first seed's adapter, so a language's seeds stay together).
Units are sorted by name and dealt round robin, so a shard holds the same units however the config lists its
languages. A shard runs every per-model stage of its units (finetune, generate, judge, capability, representation);
the metrics and report stages read every unit and are the merge's.

Every shard needs the base model's answers (each adapter's are checked against them): after its fine-tunes, the first
shard to get there generates them under a lock in the run folder, the others wait and find them cached. Each unit is
computed under its own lock too, so a shard submitted twice (a requeued array task) waits and then finds its work
cached, and shards on separate machines against one shared runs_dir never write the same stage folder at once. A
finished shard writes runs/<run-id>/shards/<i>-of-<n>.json: its units, the config it ran, and its stage folders.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench_runner.config import BASE, RunConfig
from bench_runner.stage import RunContext
from safedrift.core.errors import ConfigError
from safedrift.core.files import atomic_write_json, stable_hash
from safedrift.core.log import log

if TYPE_CHECKING:
    from bench_runner.pipeline import BenchRun

SHARDS = "shards"  # runs/<run-id>/shards/: the finished shards' records and the locks


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as SLURM's array task ids are given (--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise ConfigError(f"--shard {text!r} is not a slice of the grid; write i/n with 1 <= i <= n, e.g. 1/4.")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def record_name(self) -> str:
        return f"{self.index}-of-{self.count}.json"

    def units(self, ctx: RunContext) -> list[str]:
        """This shard's units: every unit of the grid sorted by name, dealt round robin."""
        return sorted(grid_units(ctx))[self.index - 1 :: self.count]

    def models(self, ctx: RunContext) -> list[str]:
        """The model labels of this shard's units, in the run's model order."""
        mine = {label for unit in self.units(ctx) for label in grid_units(ctx)[unit]}
        return [m for m in ctx.models if m in mine]


def grid_units(ctx: RunContext) -> dict[str, list[str]]:
    """Unit name -> its model labels: the base model alone, each fine-tune language with every seed's adapter, and
    each model brought in (config `models:`) alone."""
    return {BASE: [BASE], **ctx.adapters, **{label: [label] for label in ctx.imported}}


@contextlib.contextmanager
def waiting_lock(path: Path) -> Iterator[None]:
    """flock(2) on `path`, waiting for another holder to finish (a shard on another node computing the same
    folder); released however the process ends. Needs a file system with working flock (local, Lustre, NFSv4)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def config_record(cfg: RunConfig) -> dict:
    """The config a shard ran, as results.json records it (local paths resolved); runs_dir left out, so shards run
    on separate machines with their own runs_dir still belong together."""
    return cfg.model_dump(mode="json", exclude={"runs_dir"})


def config_key(record: dict) -> str:
    """What makes shards one run: their config, wherever and however each ran (executor and ray left out)."""
    return stable_hash({k: v for k, v in record.items() if k not in ("executor", "ray")})


def check_shardable(run: BenchRun) -> None:
    if run.generate.backend_class.together:
        raise ConfigError(
            f"generation.backend {run.cfg.generation.backend!r} generates every model of the grid at once, so it "
            "cannot be sharded; run without --shard (one server already serves every model), or use the "
            "transformers backend for sharded runs.")


def run_shard(run: BenchRun, shard: Shard) -> Path:
    """Every per-model stage of the shard's units; the shard's record (its path)."""
    check_shardable(run)
    units = shard.units(run.ctx)
    log(f"shard {shard}: units {units or 'none (more shards than units)'}")
    try:
        for unit in units:
            run_unit(run, unit)
    finally:
        run.close()
    return write_record(run, shard)


def run_unit(run: BenchRun, unit: str) -> None:
    """Every per-model stage of the unit's models under the unit's lock: its fine-tunes first (they need nothing
    else), then the base model's answers (made once, by whichever shard gets there first, under their own lock),
    then the rest. The base lock is only ever taken inside a unit lock and holds nothing else, so no two shards
    wait on each other."""
    locks, models = run.run_dir / SHARDS / "locks", grid_units(run.ctx)[unit]
    with waiting_lock(locks / f"unit-{unit}.lock"):
        for model in models:
            if model in run.ctx.trained:
                run.finetune(model)
        with waiting_lock(locks / "generate-base.lock"):
            run.generate(BASE)
        for model in models:
            run_model(run, model)


def write_record(run: BenchRun, shard: Shard) -> Path:
    """runs/<run-id>/shards/<i>-of-<n>.json: the shard's units, the config it ran and its stage folders."""
    models = shard.models(run.ctx)
    record = {"shard": str(shard), "index": shard.index, "count": shard.count, "units": shard.units(run.ctx),
              "models": models, "config": config_record(run.cfg), "folders": model_folders(run, models)}
    path = run.run_dir / SHARDS / shard.record_name
    atomic_write_json(path, record)
    log(f"shard {shard} finished: {path}; when every shard has, `safedrift bench merge {run.run_dir}`")
    return path


def run_model(run: BenchRun, model: str) -> None:
    """Every per-model stage of one model, as the metrics stage would ask for them."""
    judge(run, model)
    if not run.ctx.with_weights([model]):  # a served model: capability and representation are skipped
        return
    if run.capability is not None:
        run.capability(model)
    if run.representation is not None and model != BASE:
        run.representation(model)


def judge(run: BenchRun, model: str) -> Path:
    """The model's judge folder, its answers generated first. Judging in English reads and writes the run's one
    translation memory (SQLite in WAL mode, which processes on different machines must not open at once), so then
    the judging of every shard or Ray task of the run takes turns under one lock."""
    run.generate(model)
    turns = waiting_lock(run.run_dir / SHARDS / "locks" / "translation-memory.lock") if run.judge.needs_english \
        else contextlib.nullcontext()
    with turns:
        return run.judge(model)


def per_model_stages(run: BenchRun) -> list[tuple[str, list[str]]]:
    """(stage name, the models it runs for) in data order."""
    ctx = run.ctx
    out = [("finetune", ctx.trained), ("generate", ctx.models), ("judge", ctx.models)]
    if run.capability is not None:
        out.append(("capability", ctx.with_weights(ctx.models)))
    if run.representation is not None:
        out.append(("representation", ctx.with_weights(ctx.finetuned)))
    return out


def stage_of(run: BenchRun, name: str):
    return {"capability": run.capability, "representation": run.representation}.get(name) or run.stage(name)


def model_folders(run: BenchRun, models: list[str]) -> dict[str, dict[str, str]]:
    """Stage -> model -> the finished folder's name (the shard's record)."""
    return {name: {m: stage_of(run, name).folder(m).name for m in labels if m in models}
            for name, labels in per_model_stages(run)}


def unfinished(run: BenchRun) -> list[str]:
    """'stage model' for every per-model stage folder of the grid that is not finished; computes nothing. A judge
    folder's key needs its model's answers, so it is checked only where they exist."""
    missing: list[str] = []
    generated: set[str] = set()
    for name, labels in per_model_stages(run):
        stage = stage_of(run, name)
        for m in labels:
            if (name == "judge" and not {m, BASE} <= generated) or not stage.done(m, stage.folder(m)):
                missing.append(f"{name} {m}")
            elif name == "generate":
                generated.add(m)
    return missing
