"""Shards (`--shard i/n`) and `bench merge`: a deterministic slice of the grid, and merged shards give the figures of
one unsharded run."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import yaml
from support.fixtures import tiny_config_dict

from bench_runner.cli import main
from bench_runner.config import parse_config
from bench_runner.executor import run_grid
from bench_runner.executor.merge import check_complete
from bench_runner.executor.shards import Shard, config_key, grid_units, waiting_lock
from bench_runner.pipeline import BenchRun
from bench_runner.report.schema import Results
from bench_runner.stage import RunContext
from safedrift.core.errors import ConfigError


def ctx(languages: list[str], seeds: list[int] | None = None) -> RunContext:
    return RunContext(parse_config({"run_id": "r", "model": {"builtin": "smollm2-135m-instruct"},
                                    "finetune_languages": languages, "training": {"seeds": seeds}}))


def test_shard_parse_and_its_errors():
    assert Shard.parse("2/4") == Shard(2, 4) and str(Shard.parse(" 1 / 3 ")) == "1/3"
    for bad in ("0/2", "3/2", "1", "a/b", "1/0"):
        with pytest.raises(ConfigError, match="write i/n"):
            Shard.parse(bad)


def test_units_are_dealt_round_robin_by_name_whatever_the_config_order():
    one = ctx(["base", "pt", "en", "de"], seeds=[0, 1])
    other = ctx(["de", "en", "base", "pt"], seeds=[0, 1])
    assert grid_units(one)["pt"] == ["pt", "pt-seed1"]  # a language's seeds stay in one unit
    assert [Shard(i, 2).units(one) for i in (1, 2)] == [["base", "en"], ["de", "pt"]]
    assert [Shard(i, 2).units(other) for i in (1, 2)] == [["base", "en"], ["de", "pt"]]
    assert Shard(2, 2).models(one) == ["pt", "pt-seed1", "de", "de-seed1"]  # in the run's model order
    # Every model in exactly one shard, for any count; more shards than units leaves some empty.
    for n in (1, 3, 4, 6):
        dealt = [m for i in range(1, n + 1) for m in Shard(i, n).models(one)]
        assert sorted(dealt) == sorted(one.models)
    assert Shard(6, 6).units(one) == []


def test_a_unit_lock_waits_for_its_holder(tmp_path):
    """Two shards on one unit (a requeued array task): the second waits, then finds the work done."""
    lock, order = tmp_path / "shards" / "locks" / "unit-pt.lock", []

    def second() -> None:
        with waiting_lock(lock):
            order.append("second")

    with waiting_lock(lock):
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.3)
        order.append("first done")
    waiter.join(5)
    assert order == ["first done", "second"]


def record(index: int, count: int, config: dict) -> dict:
    return {"shard": f"{index}/{count}", "index": index, "count": count, "config": config, "_dir": Path("runs/r")}


def test_merge_refuses_a_missing_shard_or_shards_of_two_configs():
    config = {"run_id": "r", "eval_languages": ["en"]}
    assert check_complete([record(2, 2, config), record(1, 2, config)]) == config
    # Where a shard ran is no part of the run: one shard here, one as Ray tasks.
    assert check_complete([record(1, 2, config), record(2, 2, {**config, "executor": "ray"})]) == config
    with pytest.raises(ConfigError, match=r"shard\(s\) 2/3 did not finish; run `safedrift bench CONFIG --shard 2/3`"):
        check_complete([record(1, 3, config), record(3, 3, config)])
    with pytest.raises(ConfigError, match="ran different configs"):
        check_complete([record(1, 2, config), record(2, 2, {**config, "eval_languages": ["pt"]})])
    with pytest.raises(ConfigError, match=r"split the grid \[2, 3\] ways"):
        check_complete([record(1, 2, config), record(2, 3, config)])
    assert config_key(config) == config_key(dict(reversed(config.items())))


def test_shard_is_for_whole_runs_only_and_not_for_a_backend_that_serves_every_model(tmp_path, tiny_model,
                                                                                      tiny_release):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_config_dict(tmp_path, tiny_model, tiny_release)))
    with pytest.raises(ConfigError, match="--shard slices the whole run, not the generate stage"):
        main(["generate", str(path), "--shard", "1/2"])
    vllm = BenchRun(parse_config(tiny_config_dict(tmp_path, tiny_model, tiny_release,
                                                  generation={"backend": "vllm"})))
    with pytest.raises(ConfigError, match="cannot be sharded"):
        run_grid(vllm, Shard(1, 2))


@pytest.mark.slow
def test_two_shards_on_two_machines_merge_to_the_figures_of_one_run(tmp_path, bench_home, tiny_model, tiny_release,
                                                                     capsys, local_ray):
    """Shard 1/2 (here) and 2/2 (as Ray tasks) each with their own runs_dir (as on two machines), merged: the metrics
    of one unsharded run, byte for byte; the merge copies the stage folders and computes no per-model stage."""
    def config(runs: str, **more) -> dict:
        return tiny_config_dict(tmp_path / runs, tiny_model, tiny_release, tracking={"comet": "off"}, **more)

    whole = BenchRun(parse_config(config("whole")))
    run_grid(whole)
    paths = {}
    for i, executor in ((1, {}), (2, {"executor": "ray", "ray": {"num_cpus": 2}})):  # the second as Ray tasks
        paths[i] = tmp_path / f"shard{i}.yaml"
        paths[i].write_text(yaml.safe_dump(config(f"machine{i}", **executor)))
        assert main(["run", str(paths[i]), "--shard", f"{i}/2"]) == 0
        assert capsys.readouterr().out.strip().endswith(f"shards/{i}-of-2.json")
    one, two = (tmp_path / f"machine{i}" / "runs" / "tiny" for i in (1, 2))
    first = json.loads((one / "shards" / "1-of-2.json").read_text())
    assert first["units"] == ["base", "pt"] and first["models"] == ["base", "pt"]
    assert sorted(first["folders"]) == ["capability", "finetune", "generate", "judge", "representation"]
    assert not (one / "results.json").exists() and not list(one.glob("metrics/*"))
    assert not list(one.glob("finetune/en-*")) and list(two.glob("finetune/en-*"))

    # Merging one machine's shards alone names the shard that is missing.
    with pytest.raises(ConfigError, match=r"shard\(s\) 2/2 did not finish"):
        main(["merge", str(one)])
    assert main(["merge", str(one), str(two)]) == 0
    assert capsys.readouterr().out.strip() == str(one / "results.json")
    merged, single = (Results.model_validate_json((d / "results.json").read_text())
                      for d in (one, whole.run_dir))
    assert merged.metrics.model_dump_json() == single.metrics.model_dump_json()
    assert merged.stage_keys == single.stage_keys
    assert [(c.finetune_language, c.eval_language) for c in merged.metrics.cells] == [
        (ft, ev) for ft in ("base", "en", "pt") for ev in ("en", "pt")]


def test_the_slurm_example_submits_an_array_of_shards_then_the_merge(tmp_path):
    """slurm/submit.sh with a stand-in sbatch: N array tasks of `--shard i/N`, then the merge after all of them."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls.txt"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(f'#!/bin/bash\necho "$* CONFIG=${{CONFIG:-}} RUN_DIR=${{RUN_DIR:-}}" >> {calls}\n'
                                    'echo 4242\n')
    (bin_dir / "sbatch").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}"}
    out = subprocess.run(["bash", "slurm/submit.sh", "sample", "4", str(tmp_path / "runs")], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    array, merge = calls.read_text().splitlines()
    assert array.startswith("--parsable --export=ALL --array=1-4 ") and array.endswith(
        "bench_array.sbatch CONFIG=sample RUN_DIR=")
    assert merge.startswith("--parsable --export=ALL --dependency=afterok:4242 ") and merge.endswith(
        f"merge.sbatch CONFIG= RUN_DIR={tmp_path / 'runs' / 'sample-smollm2'}")
    script = (repo / "slurm" / "bench_array.sbatch").read_text()
    assert '--shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}"' in script
