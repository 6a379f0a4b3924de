"""`python -m bench_runner run CONFIG` and one subcommand per stage."""

from __future__ import annotations

import argparse

from bench_runner.config import BASE, load_config

STAGES = ("run", "finetune", "generate", "judge", "metrics", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench_runner",
        description="Fine-tune per language, generate in every language, judge, and report compliance.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in STAGES:
        p = sub.add_parser(name, help=f"run the {name} stage (and whatever it needs, from cache when done)"
                           if name != "run" else "run every stage")
        p.add_argument("config", help="run config YAML (see configs/bench/)")
        p.add_argument("--run-id", help="override run_id from the config")
        p.add_argument("--runs-dir", help="override runs_dir from the config")
        if name in ("finetune", "generate", "judge"):
            p.add_argument("--language", action="append",
                           help=f"fine-tune language(s) to process (default: all in the config; {BASE!r} = no fine-tune)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from bench_runner.pipeline import BenchRun

    args = build_parser().parse_args(argv)
    overrides = {k: v for k, v in (("run_id", args.run_id), ("runs_dir", args.runs_dir)) if v}
    cfg = load_config(args.config, overrides)
    run = BenchRun(cfg)
    if args.command in ("run", "report"):
        folder = run.report()
        print(cfg.run_dir / "results.json")
        return 0 if folder else 1
    if args.command == "metrics":
        print(run.metrics() / "metrics.json")
        return 0
    languages = args.language or (run.models if args.command != "finetune" else
                                  [x for x in run.models if x != BASE])
    for lang in languages:
        if lang not in run.models:
            from builders.errors import ConfigError

            raise ConfigError(f"{lang!r} is not a fine-tune language of this config; choose from {run.models}.")
        if args.command == "finetune" and lang == BASE:
            continue
        print(getattr(run, args.command)(lang))
    return 0
