"""The `safedrift` command: the release pipeline, each release stage on its own, and the benchmark runner.

    safedrift release CONFIG [--push | --dry-run] [--hub-org ORG] [--set KEY=VALUE ...]
    safedrift build|qa|publish CONFIG [--set KEY=VALUE ...]   one release stage (publish = stage, gate, swap)
    safedrift validate DIR [--config CONFIG]       QA + gate on an existing release folder (read-only)
    safedrift push CONFIG --hub-org ORG [--dry-run]
    safedrift engines | install-argos FILE...
    safedrift configs                               the shipped configs; `configs cp NAME DEST` copies one to edit
    safedrift bench CONFIG [--set KEY=VALUE ...] [--strict]   the whole benchmark run
    safedrift bench --check CONFIG                  only check it (datasets, models, backend, output): seconds
    safedrift bench eval CONFIG                     every stage, training nothing: the base and the config's models:
    safedrift bench STAGE CONFIG [--language L]     one benchmark stage: finetune|generate|judge|metrics|report
    safedrift bench compare OUT RUN_DIR...          finished runs of several models -> one report
    safedrift bench annotate RUN --language L [--n 60]   a stratified sheet for people to label
    safedrift bench labels RUN SHEET...             filled sheets -> judge-human agreement in results.json
    safedrift bench merge RUN_DIR... [--into DIR]   finished shards (--shard i/n) -> one results.json
    safedrift bench export-tasks --to lm-eval|inspect DIR   the datasets as lm-eval / inspect tasks
    safedrift --version | --print-completion bash|zsh|tcsh|fish|powershell

CONFIG is a YAML file, or the name of a config shipped with the package (`safedrift release sample`,
`safedrift bench sample`: configs/release/sample.yaml, configs/bench/sample.yaml). A shipped config runs from
any folder: its outputs (release/, runs/) go to the working folder, its sample data comes from the package.
`--set a.b=value` replaces one key of the config for this run (the value is read as YAML; repeatable); it is
validated with the file and recorded in the run's provenance.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from safedrift.core.errors import run_cli
from safedrift.core.locations import config_path


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, what adds its arguments, what runs it, and the kind of config its CONFIG
    names (None: it takes no shipped config's name)."""

    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    config_kind: str | None = "release"
    epilog: Callable[[], str] | None = None
    usage: str | None = None


# --- the release commands -----------------------------------------------------------------------------------

def _release_arguments(p: argparse.ArgumentParser) -> None:
    from builders.cli import add_build_arguments

    add_build_arguments(p)
    p.add_argument("--hub-org", dest="hub_org", help="Hub org/user (overrides hub.org); also named in the cards")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--push", action="store_true", help="after the local release, push it to the Hub")
    mode.add_argument("--dry-run", dest="dry_run", action="store_true",
                      help="after the local release, print what --push would send; send nothing")


def _publish_arguments(p: argparse.ArgumentParser) -> None:
    from builders.cli import add_build_arguments

    add_build_arguments(p)
    p.add_argument("--hub-org", dest="hub_org", help="Hub org/user named in the cards (overrides hub.org)")


def _build_arguments(p: argparse.ArgumentParser) -> None:
    from builders.cli import add_build_arguments

    add_build_arguments(p)


def _release_config(args: argparse.Namespace):
    from builders.cli import overrides
    from cards.config import load_release_config

    return load_release_config(args.config, overrides(args))


def _release(args: argparse.Namespace) -> int:
    from safedrift import release

    release.release(_release_config(args), hub_org=args.hub_org, push=args.push, dry_run=args.dry_run)
    return 0


def _publish(args: argparse.Namespace) -> int:
    from safedrift import release

    cfg = _release_config(args)
    for name, path in release.publish(cfg, args.hub_org or cfg.hub.org).items():
        print(f"{name}: {path}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from builders.cli import overrides
    from builders.config import load_build_config
    from safedrift import release

    print(release.build(load_build_config(args.config, overrides(args))))  # under the work-dir lock
    return 0


def _qa(args: argparse.Namespace) -> int:
    from builders.cli import overrides
    from safedrift import release
    from validation.config import load_qa_config

    print(release.qa(load_qa_config(args.config, overrides(args))) / "report.json")
    return 0


# --- the other commands: each stage's own CLI functions -------------------------------------------------------

def _validate_arguments(p: argparse.ArgumentParser) -> None:
    from validation.cli import add_validate_arguments

    add_validate_arguments(p)


def _validate(args: argparse.Namespace) -> int:
    from validation.cli import validate

    return validate(args)


def _push_arguments(p: argparse.ArgumentParser) -> None:
    from cards.cli import add_push_arguments

    add_push_arguments(p)


def _push(args: argparse.Namespace) -> int:
    from cards.cli import push

    return push(args)


def _no_arguments(p: argparse.ArgumentParser) -> None:
    pass


def _engines(args: argparse.Namespace) -> int:
    from builders.cli import list_engines

    return list_engines()


def _install_argos_arguments(p: argparse.ArgumentParser) -> None:
    from builders.cli import add_install_argos_arguments

    add_install_argos_arguments(p)


def _install_argos(args: argparse.Namespace) -> int:
    from builders.cli import install_argos

    return install_argos(args)


def _configs_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="configs_command")
    sub.add_parser("ls", help="list the shipped configs (the default)")
    cp = sub.add_parser("cp", help="copy a shipped config to a file to edit (as torchtune's `tune cp`)")
    cp.add_argument("name", help="kind/name as `safedrift configs` lists it (bench/sample), or a name shipped for "
                                 "one kind only")
    cp.add_argument("dest", help="the new file (NAME.yaml), or a folder to copy it into")


def _configs(args: argparse.Namespace) -> int:
    from safedrift.core import locations

    if args.configs_command == "cp":
        full, _ = locations.find_shipped_config(args.name)
        target = locations.copy_shipped_config(full, args.dest)
        print(f"{target}: a copy of {full}; edit it, then run `safedrift {full.partition('/')[0]} {target}`")
        return 0
    rows = [(f"{kind}/{name}", locations.config_description(path)) for kind in locations.CONFIG_KINDS
            for name, path in locations.shipped_configs(kind).items()]
    width = max(len(name) for name, _ in rows)
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
    print("\nrun one by name (safedrift release sample, safedrift bench sample) or copy it to edit: "
          "safedrift configs cp bench/sample my-run.yaml")
    return 0


def _bench_arguments(p: argparse.ArgumentParser) -> None:
    from bench_runner.cli import add_bench_arguments
    from bench_runner.pipeline import STAGES

    add_bench_arguments(p)
    p.add_argument("--stage", choices=STAGES, help="run one stage (and what it needs, from cache); also written "
                                                   "`bench STAGE CONFIG`")


def _bench_epilog() -> str:
    from bench_runner.cli import bench_forms_epilog

    return bench_forms_epilog("safedrift bench")


def _bench(args: argparse.Namespace) -> int:
    from bench_runner.cli import run_stage

    return run_stage(args.stage or "run", args)


# The subcommands, in the order `safedrift --help` lists them. Add a command by adding one entry.
COMMANDS: dict[str, Command] = {
    "release": Command("build -> QA -> stage -> gate -> swap (-> push): the local Hub-layout release",
                       _release_arguments, _release),
    "build": Command("sources -> translations in the work dir", _build_arguments, _build),
    "qa": Command("QA scorers over the built rows; qa/report.json", _build_arguments, _qa),
    "publish": Command("write the release folders from the QA'd rows (stage, gate, swap)", _publish_arguments,
                       _publish),
    "validate": Command("QA + release gate on an existing release folder", _validate_arguments, _validate),
    "push": Command("push the release folders to the Hub (--dry-run: plan only)", _push_arguments, _push),
    "engines": Command("translation engines and the language pairs they can do now", _no_arguments, _engines, None),
    "install-argos": Command("install argos packages (.argosmodel files or --pair from the index)",
                             _install_argos_arguments, _install_argos, None),
    "configs": Command("the configs shipped with the package; `configs cp NAME DEST` copies one to edit",
                       _configs_arguments, _configs, None),
    "bench": Command("the benchmark runner: `bench CONFIG`, `bench STAGE CONFIG`, `bench TOOL ...`",
                     _bench_arguments, _bench, "bench", _bench_epilog,
                     usage="safedrift bench [STAGE] CONFIG [options]  |  safedrift bench TOOL ..."),
}


def package_version() -> str:
    """The installed distribution's version (pyproject.toml's, through the package metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("safedrift")
    except PackageNotFoundError:  # imported from a tree that was never installed
        from safedrift import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    import shtab

    parser = argparse.ArgumentParser(prog="safedrift", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"safedrift {package_version()}")
    # `safedrift --print-completion bash > ~/.local/share/bash-completion/completions/safedrift` (zsh, tcsh too)
    shtab.add_argument_to(parser, ["--print-completion"], help="print a shell completion script for the named shell")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        command.arguments(sub.add_parser(name, help=command.help, description=command.help, usage=command.usage,
                                         epilog=command.epilog() if command.epilog else None,
                                         formatter_class=argparse.RawDescriptionHelpFormatter))
    return parser


def _bench_forms(argv: list[str]) -> list[str] | int:
    """`safedrift bench TOOL ...` runs the tool (its exit status returned); `safedrift bench STAGE CONFIG ...` is
    `safedrift bench CONFIG ... --stage STAGE`; anything else is returned as it is."""
    if len(argv) > 1 and argv[0] == "bench":
        from bench_runner.cli import TOOLS, run_tool
        from bench_runner.pipeline import STAGES

        if argv[1] in TOOLS:  # a command on finished runs, not a stage
            return run_tool(argv[1], argv[2:], "safedrift bench")
        if len(argv) > 2 and argv[1] == "eval":  # every stage, training nothing
            return ["bench", *argv[2:], "--eval-only"]
        if len(argv) > 2 and argv[1] in STAGES:
            return ["bench", *argv[2:], "--stage", argv[1]]
    return argv


def main(argv: list[str] | None = None) -> int:
    import sys

    forms = _bench_forms(list(sys.argv[1:] if argv is None else argv))
    if isinstance(forms, int):
        return forms
    args = build_parser().parse_args(forms)
    command = COMMANDS[args.command]
    if command.config_kind and getattr(args, "config", None):
        args.config = str(config_path(args.config, command.config_kind))
    return command.run(args)


def entry() -> None:
    raise SystemExit(run_cli(main))
