"""The `safedrift` command: the release pipeline, each release stage on its own, and the benchmark runner.

    safedrift release CONFIG [--push | --dry-run] [--hub-org ORG]
    safedrift build|qa|publish CONFIG              one release stage (publish = stage, gate, swap)
    safedrift validate DIR [--config CONFIG]       QA + gate on an existing release folder (read-only)
    safedrift push CONFIG --hub-org ORG [--dry-run]
    safedrift engines | install-argos FILE...
    safedrift bench CONFIG                          the whole benchmark run
    safedrift bench --check CONFIG                  only check it (datasets, models, backend, output): seconds
    safedrift bench STAGE CONFIG [--language L]     one benchmark stage: finetune|generate|judge|metrics|report
    safedrift bench compare OUT RUN_DIR...          finished runs of several models -> one report

CONFIG is a YAML file, or the name of a config shipped with the package (`safedrift release sample`,
`safedrift bench sample`: configs/release/sample.yaml, configs/bench/sample.yaml). A shipped config runs from
any folder: its outputs (release/, runs/) go to the working folder, its sample data comes from the package.
"""

from __future__ import annotations

import argparse

from safedrift.core.errors import run_cli
from safedrift.core.locations import config_path


def build_parser() -> argparse.ArgumentParser:
    from bench_runner.cli import add_bench_arguments, tools_epilog
    from bench_runner.pipeline import STAGES
    from builders.cli import add_build_arguments, add_install_argos_arguments
    from cards.cli import add_push_arguments
    from validation.cli import add_validate_arguments

    parser = argparse.ArgumentParser(prog="safedrift", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="build -> QA -> stage -> gate -> swap (-> push): the local Hub-layout release")
    add_build_arguments(p)
    p.add_argument("--hub-org", dest="hub_org", help="Hub org/user (overrides hub.org); also named in the cards")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--push", action="store_true", help="after the local release, push it to the Hub")
    mode.add_argument("--dry-run", dest="dry_run", action="store_true",
                      help="after the local release, print what --push would send; send nothing")
    add_build_arguments(sub.add_parser("build", help="sources -> translations in the work dir"))
    add_build_arguments(sub.add_parser("qa", help="QA scorers over the built rows; qa/report.json"))
    p = sub.add_parser("publish", help="write the release folders from the QA'd rows (stage, gate, swap)")
    add_build_arguments(p)
    p.add_argument("--hub-org", dest="hub_org", help="Hub org/user named in the cards (overrides hub.org)")
    add_validate_arguments(sub.add_parser("validate", help="QA + release gate on an existing release folder"))
    add_push_arguments(sub.add_parser("push", help="push the release folders to the Hub (--dry-run: plan only)"))
    sub.add_parser("engines", help="translation engines and the language pairs they can do now")
    add_install_argos_arguments(sub.add_parser("install-argos", help="install argos packages (.argosmodel files "
                                                                     "or --pair from the index)"))
    p = sub.add_parser("bench", help="the benchmark runner: `bench CONFIG`, or `bench STAGE CONFIG`",
                       epilog=tools_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_bench_arguments(p)
    p.add_argument("--stage", choices=STAGES, help="run one stage (and what it needs, from cache)")
    return parser


def main(argv: list[str] | None = None) -> int:
    import sys

    from bench_runner.pipeline import STAGES

    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) > 1 and argv[0] == "bench":
        from bench_runner.cli import TOOLS, run_tool

        if argv[1] in TOOLS:  # `safedrift bench compare ...`: a command on finished runs, not a stage
            return run_tool(argv[1], argv[2:], "safedrift bench")
    # `safedrift bench finetune CONFIG` is `safedrift bench CONFIG --stage finetune`.
    if len(argv) > 2 and argv[0] == "bench" and argv[1] in STAGES:
        argv = ["bench", *argv[2:], "--stage", argv[1]]
    args = build_parser().parse_args(argv)
    command = args.command
    if getattr(args, "config", None):  # every command's CONFIG is a release config, but bench's
        args.config = str(config_path(args.config, "bench" if command == "bench" else "release"))
    if command == "engines":
        from builders.cli import list_engines

        return list_engines()
    if command == "install-argos":
        from builders.cli import install_argos

        return install_argos(args)
    if command == "validate":
        from validation.cli import validate

        return validate(args)
    if command == "push":
        from cards.cli import push

        return push(args)
    if command == "bench":
        from bench_runner.cli import run_stage

        return run_stage(args.stage or "run", args)
    from builders.cli import overrides
    from safedrift import release

    if command == "qa":  # every writer takes the work-dir lock (safedrift.release)
        from validation.config import load_qa_config

        print(release.qa(load_qa_config(args.config, overrides(args))) / "report.json")
        return 0
    if command == "build":
        from builders.config import load_build_config

        print(release.build(load_build_config(args.config, overrides(args))))
        return 0
    from cards.config import load_release_config

    cfg = load_release_config(args.config, overrides(args))
    if command == "publish":
        for name, path in release.publish(cfg, args.hub_org or cfg.hub.org).items():
            print(f"{name}: {path}")
        return 0
    release.release(cfg, hub_org=args.hub_org, push=args.push, dry_run=args.dry_run)
    return 0


def entry() -> None:
    raise SystemExit(run_cli(main))
