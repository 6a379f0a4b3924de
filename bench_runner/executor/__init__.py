"""Where the grid runs: here, stage by stage (executor: local), or as tasks on a Ray cluster (executor: ray).

With Ray every fine-tune language is a task; then the base model's generation (every adapter's answers are
checked against it), then each fine-tuned model's generation and judging, then metrics and the report. Tasks
hold `ray.num_cpus_per_task` CPUs and `ray.num_gpus_per_task` GPUs, so Ray runs as many at once as the cluster
has room for. Every task is the same stage of the pipeline (bench_runner.pipeline.BenchRun) as a local run, with
the same stage caches under runs_dir (a folder every node sees), so a grid submitted again resumes where it
stopped and the figures in results.json are those of a local run. The executor sits on top of the pipeline: the
pipeline knows nothing of where it runs.

With a shard (`--shard i/n`, executor/shards.py) either executor runs only that slice's per-model stages and writes
the shard's record instead of the report; `safedrift bench merge` (executor/merge.py) makes the report.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench_runner.config import RunConfig
from bench_runner.executor.shards import Shard
from bench_runner.pipeline import BenchRun
from safedrift.core.errors import missing_extra
from safedrift.core.log import log


def run_grid(run: BenchRun, shard: Shard | None = None) -> Path:
    """The report folder of the whole grid of `run`, computed as cfg.executor says; with a shard, that slice's
    per-model stages and the shard's record (its path)."""
    if run.cfg.executor == "ray":
        return run_on_ray(run.cfg, shard)
    if shard is not None:
        from bench_runner.executor.shards import run_shard

        return run_shard(run, shard)
    return run.run()


# ---- tasks: each rebuilds the run from its config and asks for one stage; finished stages are found cached ----
def _finetune(cfg: RunConfig, language: str) -> str:
    return str(BenchRun(cfg).finetune(language))


def _generate_and_judge(cfg: RunConfig, model: str, *after: str) -> str:
    """`after`: what the tasks this one waits for returned (Ray starts it once they are done)."""
    from bench_runner.executor.shards import judge

    run = BenchRun(cfg)
    try:
        return str(judge(run, model))  # judging in English takes turns with the other tasks (one memory)
    finally:
        run.close()  # a judge served by vLLM stops with its task


def _unit(cfg: RunConfig, unit: str) -> str:
    """One unit of a shard (executor/shards.py): its fine-tunes, the base model's answers, its models, under locks."""
    from bench_runner.executor.shards import run_unit

    run = BenchRun(cfg)
    try:
        run_unit(run, unit)
    finally:
        run.close()
    return unit


def _report(cfg: RunConfig) -> str:
    run = BenchRun(cfg)
    try:
        return str(run.report())
    finally:
        run.close()


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise missing_extra("ray", "bench", " (executor: ray)") from exc
    return ray


def connect(cfg: RunConfig) -> bool:
    """Join the cluster at ray.address (or $RAY_ADDRESS), else start a local one; True when this call started or
    joined it (and so should shut it down)."""
    ray = _ray()
    if ray.is_initialized():
        return False
    address = cfg.ray.address or os.environ.get("RAY_ADDRESS") or None
    kwargs: dict = {"runtime_env": dict(cfg.ray.runtime_env) or None, "log_to_driver": True}
    if address is None:
        kwargs.update(num_cpus=cfg.ray.num_cpus, include_dashboard=False)
    ray.init(address=address, **kwargs)
    resources = ray.cluster_resources()
    log(f"ray: {'joined ' + address if address else 'local cluster'}, {resources.get('CPU', 0):g} CPUs, "
        f"{resources.get('GPU', 0):g} GPUs")
    return True


def task_resources(cfg: RunConfig) -> dict:
    """What one task holds: ray.num_cpus_per_task CPUs and ray.num_gpus_per_task GPUs (1 when the cluster has GPUs
    and the config says nothing)."""
    gpus = cfg.ray.num_gpus_per_task
    if gpus is None:
        gpus = 1 if _ray().cluster_resources().get("GPU", 0) > 0 else 0
    return {"num_cpus": cfg.ray.num_cpus_per_task, "num_gpus": gpus}


def run_on_ray(cfg: RunConfig, shard: Shard | None = None) -> Path:
    ray = _ray()
    # Tasks may start in another working directory (or on another node): the run folder is given absolute.
    cfg = cfg.model_copy(update={"runs_dir": os.path.abspath(cfg.runs_dir)})
    started = connect(cfg)
    try:
        opts = task_resources(cfg)
        finetune = ray.remote(_finetune).options(**opts)
        generate_and_judge = ray.remote(_generate_and_judge).options(**opts)
        report = ray.remote(_report).options(**opts)
        run = BenchRun(cfg)
        tuned, base_model = run.ctx.finetuned, run.models[0]  # trained here or brought in
        ref = ray.put(cfg)
        if shard is not None:  # the same slice as a local shard: one task per unit, then the shard's record
            from bench_runner.executor.shards import check_shardable, write_record

            check_shardable(run)
            ray.get([ray.remote(_unit).options(**opts).remote(ref, unit) for unit in shard.units(run.ctx)])
            return write_record(run, shard)
        pending = {lang: finetune.remote(ref, lang) for lang in run.ctx.trained}  # 1. every fine-tune at once
        if run.generate.backend_class.together:
            # One server generates for the base model and every adapter at once: after all fine-tunes.
            base = generate_and_judge.remote(ref, base_model, *pending.values())
            judged = [generate_and_judge.remote(ref, m, base) for m in tuned]
        else:
            # The base model's answers beside the fine-tunes; a fine-tuned model's once its adapter and the base
            # model's answers exist (every adapter's answers are checked against the base model's).
            base = generate_and_judge.remote(ref, base_model)
            judged = [generate_and_judge.remote(ref, m, *([pending[m]] if m in pending else []), base) for m in tuned]
        folders = ray.get([base, *judged])
        log(f"ray: {len(tuned)} fine-tunes and {len(folders)} judged models done; metrics and report")
        # 3. metrics and the report, from the finished stage folders
        return Path(ray.get(report.remote(ref)))
    finally:
        if started:
            ray.shutdown()
