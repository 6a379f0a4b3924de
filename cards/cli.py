"""`python -m cards push CONFIG --hub-org ORG [--dry-run]`: push the release folders to the Hub.

Writing the release folders (stage, gate, swap) is the release pipeline's: `safedrift publish CONFIG`."""

from __future__ import annotations

import argparse

from safedrift.core.errors import run_cli


def add_push_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config")
    p.add_argument("--hub-org", dest="hub_org", help="Hub user or organisation (overrides hub.org)")
    p.add_argument("--dry-run", action="store_true", help="print what would be pushed; send nothing")
    p.add_argument("--private", action=argparse.BooleanOptionalAction, default=None,
                   help="create the repositories private / public (overrides hub.private)")
    p.add_argument("--endpoint", help="Hub endpoint, e.g. a self-hosted Hub (overrides hub.endpoint)")
    p.add_argument("--output-dir", dest="output_dir",
                   help="folder holding the release folders (default: the config's output_dir)")


def push(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cards.config import load_release_config
    from cards.push import run_push
    from cards.swap import recover
    from safedrift.core.files import output_lock, work_lock

    cfg = load_release_config(args.config)
    out = Path(args.output_dir) if args.output_dir else cfg.output_path
    # One writer per work dir, and no publish into the release folder while it is being read for the push;
    # a swap a crash interrupted is completed first, so a push never sends half of one release and half of another.
    with work_lock(cfg.work_path), output_lock(out):
        recover(out)
        run_push(cfg, org=args.hub_org, yes=not args.dry_run, endpoint=args.endpoint, private=args.private,
                 release_dir=args.output_dir)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cards", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_push_arguments(sub.add_parser("push", help="push release/<dataset>/ to the Hub (--dry-run: plan only)"))
    return push(parser.parse_args(argv))


def entry() -> None:
    raise SystemExit(run_cli(main))
