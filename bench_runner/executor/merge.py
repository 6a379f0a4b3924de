"""`safedrift bench merge RUN_DIR...`: the finished shards of one run (executor/shards.py) -> one results.json.

    safedrift bench merge runs/my-run                      # shards that shared one runs_dir
    safedrift bench merge runs-a/my-run runs-b/my-run ...  # shards run on machines with their own runs_dir

Reads every shard record (RUN_DIR/shards/<i>-of-<n>.json), checks that they ran one config and that every shard of
1..n finished, copies the finished stage folders the target lacks from the other RUN_DIRs (the first RUN_DIR, or
--into), checks every per-model stage folder of the grid is there, and runs the metrics and report stages there.
It computes no per-model stage: a missing one is an error naming the shard to rerun. The figures are those of one
unsharded run, since every stage folder is keyed by its inputs alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

from bench_runner.config import parse_config
from bench_runner.executor.shards import SHARDS, config_key, unfinished
from safedrift.core.errors import ConfigError, DataError
from safedrift.core.log import log


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR",
                        help="runs/<run-id> folder(s) holding finished shards (shards/<i>-of-<n>.json)")
    parser.add_argument("--into", type=Path, default=None,
                        help="the run folder to write the merged run to (default: the first RUN_DIR)")


def read_records(run_dirs: list[Path]) -> list[dict]:
    records = []
    for run_dir in run_dirs:
        found = sorted((run_dir / SHARDS).glob("*-of-*.json"))
        if not found:
            raise ConfigError(f"{run_dir} holds no finished shard ({run_dir / SHARDS}/<i>-of-<n>.json); run "
                              "`safedrift bench CONFIG --shard i/n` with that runs_dir first.")
        records += [{**json.loads(p.read_text(encoding="utf-8")), "_dir": run_dir} for p in found]
    return records


def check_complete(records: list[dict]) -> dict:
    """The one config every shard ran; every shard of one count finished."""
    configs = {config_key(r["config"]) for r in records}
    if len(configs) != 1:
        raise ConfigError("the shards ran different configs; merge only the shards of one config "
                          f"({', '.join(sorted(r['shard'] + ' in ' + str(r['_dir']) for r in records))}).")
    counts = {r["count"] for r in records}
    if len(counts) != 1:
        raise ConfigError(f"the shards split the grid {sorted(counts)} ways; merge the shards of one --shard i/n "
                          "split.")
    count = counts.pop()
    missing = sorted(set(range(1, count + 1)) - {r["index"] for r in records})
    if missing:
        raise ConfigError(f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} did not finish; run "
                          f"`safedrift bench CONFIG --shard {missing[0]}/{count}` (and the others), then merge again.")
    return records[0]["config"]


def gather(sources: list[Path], target: Path) -> int:
    """Copy every finished stage folder (runs/<run-id>/<stage>/<label>-<key>/) the target lacks; how many."""
    copied = 0
    for src in sources:
        if src.resolve() == target.resolve():
            continue
        for manifest in sorted(src.glob("*/*/manifest.json")):
            folder = manifest.parent
            dest = target / folder.parent.name / folder.name
            if (dest / "manifest.json").is_file():
                continue
            part = dest.with_name(f".{dest.name}.merging")
            shutil.rmtree(part, ignore_errors=True)
            shutil.copytree(folder, part)
            shutil.rmtree(dest, ignore_errors=True)  # an unfinished folder of an interrupted stage
            os.replace(part, dest)  # whole or not at all: a finished folder is one rename
            copied += 1
    return copied


def merge(run_dirs: list[Path], into: Path | None = None) -> Path:
    """The merged run's results.json."""
    from bench_runner.pipeline import BenchRun

    records = read_records(run_dirs)
    config = check_complete(records)
    target = Path(os.path.abspath(into or run_dirs[0]))
    copied = gather(list(dict.fromkeys(r["_dir"] for r in records)), target)
    log(f"merge: {len(records)} shards, {copied} stage folders copied into {target}")
    cfg = parse_config({**config, "runs_dir": str(target.parent), "run_id": target.name}, target / SHARDS)
    run = BenchRun(cfg)
    missing = unfinished(run)
    if missing:
        raise DataError(f"the shards left {len(missing)} stage folder(s) unfinished ({', '.join(missing[:6])}); "
                        "rerun the shard that holds them (same config and --shard i/n), then merge again.")
    run.run()
    return cfg.run_dir / "results.json"


def run(args: argparse.Namespace) -> int:
    print(merge(args.run_dirs, args.into))
    return 0
