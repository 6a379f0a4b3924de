"""`python -m bench_runner run CONFIG` and one subcommand per stage (also `safedrift bench`)."""

from __future__ import annotations

import argparse
import importlib

from bench_runner.config import BASE, load_config
from bench_runner.pipeline import PER_MODEL, STAGES
from safedrift.core.errors import ConfigError, run_cli

# "run" (every stage, through the configured executor) then each stage on its own.
COMMANDS = ("run", *STAGES)

# `safedrift bench TOOL ...` (and `python -m bench_runner TOOL ...`): commands on finished runs that are not
# pipeline stages. Each names a module exposing `add_arguments(parser)` and `run(args) -> int`; the module is
# imported only when its command is named. Add a command by adding one line here.
TOOLS: dict[str, tuple[str, str]] = {
    "compare": ("bench_runner.metrics.compare", "finished runs of several models on the same datasets -> one "
                                                "report (per family, pooled, and the family x language test)"),
}


def run_tool(name: str, argv: list[str], prog: str) -> int:
    module_name, description = TOOLS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"{prog} {name}", description=description)
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(argv)))


def tools_epilog() -> str:
    return "commands on finished runs:\n" + "\n".join(f"  {name:<10} {help_}" for name, (_, help_) in TOOLS.items())


def add_bench_arguments(p: argparse.ArgumentParser, *, languages: bool = True) -> None:
    p.add_argument("config", help="run config YAML (see configs/bench/)")
    p.add_argument("--run-id", dest="run_id", help="override run_id from the config")
    p.add_argument("--runs-dir", dest="runs_dir", help="override runs_dir from the config")
    p.add_argument("--check", action="store_true",
                   help="only check the config, datasets, models, backend and output folder (seconds; exit 2 "
                        "listing every problem); run nothing")
    if languages:
        p.add_argument("--language", action="append",
                       help=f"fine-tune language(s) to process (finetune/generate/judge; default: all in the "
                            f"config; {BASE!r} = no fine-tune)")


def run_stage(stage: str, args: argparse.Namespace) -> int:
    from bench_runner.executor import run_grid
    from bench_runner.pipeline import BenchRun

    overrides = {k: v for k in ("run_id", "runs_dir") if (v := getattr(args, k, None))}
    cfg = load_config(args.config, overrides)
    run = BenchRun(cfg)
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
    if stage == "run":
        run_grid(run)
        print(cfg.run_dir / "results.json")
        return 0
    try:
        for label in run.labels(stage, chosen):
            print(run.stage(stage)(label))
    finally:
        run.close()  # a vLLM-served judge stops after the stage, and on any error
    if stage == "report":
        print(cfg.run_dir / "results.json")
    return 0


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
    args = parser.parse_args(argv)
    return run_stage(args.command, args)


def entry() -> None:
    raise SystemExit(run_cli(main))
