"""`python -m bench_runner run CONFIG` and one subcommand per stage (also `safedrift bench`)."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

from bench_runner.config import BASE, load_config
from bench_runner.pipeline import PER_MODEL, STAGES
from safedrift.core.errors import ConfigError, run_cli
from safedrift.core.overrides import add_set_argument, parse_sets

# "run" (every stage, through the configured executor) then each stage on its own.
COMMANDS = ("run", *STAGES)

# `safedrift bench TOOL ...` (and `python -m bench_runner TOOL ...`): commands on finished runs that are not
# pipeline stages. Each names a module exposing `add_arguments(parser)` and `run(args) -> int`; the module is
# imported only when its command is named. Add a command by adding one line here.
TOOLS: dict[str, tuple[str, str]] = {
    "merge": ("bench_runner.executor.merge", "the finished shards of one run (--shard i/n) -> one results.json"),
    "compare": ("bench_runner.metrics.compare", "finished runs of several models on the same datasets -> one "
                                                "report (per family, pooled, and the family x language test)"),
    "annotate": ("bench_runner.judge.annotation", "a run's answers in one eval language -> a blind sheet for people to label"),
    "labels": ("bench_runner.metrics.agreement", "filled sheets -> judge-human agreement in results.json and summary.md"),
    "export-tasks": ("safedrift.export", "the released datasets -> lm-evaluation-harness or inspect tasks per language"),
}


def run_tool(name: str, argv: list[str], prog: str) -> int:
    module_name, description = TOOLS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"{prog} {name}", description=description)
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(argv)))


def tools_epilog() -> str:
    return "commands on finished runs and releases:\n" + "\n".join(f"  {name:<13} {help_}"
                                                                  for name, (_, help_) in TOOLS.items())


def bench_forms_epilog(prog: str) -> str:
    """Every way to call the runner, then the tools: `safedrift bench --help`'s epilog."""
    forms = [(f"{prog} CONFIG", "every stage (cached stages are reused); prints results.json"),
             (f"{prog} --check CONFIG", "only check the config, datasets, models, backend, output (seconds)"),
             (f"{prog} eval CONFIG", "every stage, training nothing: the base and the config's `models:`"),
             (f"{prog} STAGE CONFIG", f"one stage and what it needs, from cache; STAGE: {', '.join(STAGES)}"),
             (f"{prog} TOOL ARGS...", "a command on finished runs (below)")]
    width = max(len(form) for form, _ in forms)
    return ("forms:\n" + "\n".join(f"  {form:<{width}}  {what}" for form, what in forms)
            + "\n\nCONFIG: a YAML file, or a shipped config's name (`safedrift configs` lists them).\n\n"
            + tools_epilog())


def add_bench_arguments(p: argparse.ArgumentParser, *, languages: bool = True) -> None:
    p.add_argument("config", help="run config YAML (see configs/bench/)")
    p.add_argument("--run-id", dest="run_id", help="override run_id from the config")
    p.add_argument("--runs-dir", dest="runs_dir", help="override runs_dir from the config")
    add_set_argument(p, "datasets.sorry_limit=20")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when the report warns (empty or identical answers, rising training loss, thin "
                        "cells, empty figures: results.json warnings)")
    p.add_argument("--eval-only", dest="eval_only", action="store_true",
                   help="train nothing: refuse a config that fine-tunes (also written `bench eval CONFIG`); the "
                        "base and the config's `models:` (adapters, checkpoints, served models) are evaluated")
    p.add_argument("--check", action="store_true",
                   help="only check the config, datasets, models, backend and output folder (seconds; exit 2 "
                        "listing every problem); run nothing")
    from bench_runner.executor.shards import Shard

    p.add_argument("--shard", type=Shard.parse, metavar="I/N",
                   help="run only slice I of N of the grid (per model: base, or a fine-tune language with its seeds; "
                        "whole runs only), then `bench merge RUN_DIR` (bench_runner/executor/shards.py)")
    if languages:
        p.add_argument("--language", action="append",
                       help=f"fine-tune language(s) to process (finetune/generate/judge; default: all in the "
                            f"config; {BASE!r} = no fine-tune)")


def run_stage(stage: str, args: argparse.Namespace) -> int:
    from bench_runner.executor import run_grid
    from bench_runner.pipeline import BenchRun

    overrides = {**{k: v for k in ("run_id", "runs_dir") if (v := getattr(args, k, None))},
                 **parse_sets(getattr(args, "sets", None))}
    cfg = load_config(args.config, overrides)
    run = BenchRun(cfg)
    if getattr(args, "eval_only", False) and run.ctx.trained:
        raise ConfigError(f"safedrift bench eval trains nothing, and this config fine-tunes {run.ctx.trained}; set "
                          "finetune_languages: [base] (and list your models under `models:`) or run "
                          "`safedrift bench CONFIG`.")
    chosen = getattr(args, "language", None)
    for lang in chosen or []:
        if lang not in run.models:
            raise ConfigError(f"{lang!r} is not a fine-tune language of this config; choose from {run.models}.")
    # Every problem that can be found in seconds is found now, before the first stage (bench_runner/preflight.py).
    checked = run.preflight(chosen)
    if getattr(args, "check", False):
        print(checked.text())
        print(f"{args.config}: ready to run ({len(checked.checked)} checks passed, {len(checked.warnings)} "
              "warning(s)).")
        return 0
    shard = getattr(args, "shard", None)
    if shard and stage != "run":
        raise ConfigError(f"--shard slices the whole run, not the {stage} stage; drop the stage name.")
    if stage == "run":
        done = run_grid(run, shard)
        if shard:
            print(done)
            return 0
        return report_warnings(cfg.run_dir / "results.json", getattr(args, "strict", False))
    try:
        for label in run.labels(stage, chosen):
            print(run.stage(stage)(label))
    finally:
        run.close()  # a vLLM-served judge stops after the stage, and on any error
    if stage == "report":
        return report_warnings(cfg.run_dir / "results.json", getattr(args, "strict", False))
    return 0


def report_warnings(results_json: Path, strict: bool) -> int:
    """Print results.json's path and log each of its warnings (bench_runner/report/warnings.py); the exit status:
    1 with --strict when there is any, else 0."""
    from safedrift.core.log import log

    print(results_json)
    warnings = json.loads(results_json.read_text(encoding="utf-8")).get("warnings") or []
    for w in warnings:
        log(f"WARNING {w['kind']} ({w['subject']}): {w['message']}")
    if warnings:
        log(f"{len(warnings)} warning(s): results.json `warnings` and summary.md list them"
            + ("; --strict: exit status 1." if strict else "; with --strict the run fails on them."))
    return 1 if strict and warnings else 0


def main(argv: list[str] | None = None) -> int:
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in TOOLS:
        return run_tool(argv[0], argv[1:], "python -m bench_runner")
    parser = argparse.ArgumentParser(
        prog="python -m bench_runner",
        description="Fine-tune per language, generate in every language, judge, and report compliance.",
        epilog=tools_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        help_ = "run every stage" if name == "run" else f"run the {name} stage (and what it needs, cached)"
        add_bench_arguments(sub.add_parser(name, help=help_), languages=name in PER_MODEL)
    add_bench_arguments(sub.add_parser("eval", help="run every stage, training nothing (the base and `models:`)"),
                        languages=False)
    args = parser.parse_args(argv)
    if args.command == "eval":
        args.eval_only = True
    return run_stage("run" if args.command == "eval" else args.command, args)


def entry() -> None:
    raise SystemExit(run_cli(main))
