"""`python -m cards publish CONFIG` writes the local Hub-layout release folders from QA'd rows;
`python -m cards push CONFIG --org ORG` shows what a push would send (dry run) and `--yes` sends it."""

from __future__ import annotations

import argparse

from builders.config import load_release_config
from builders.errors import run_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cards")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("publish", help="write release/<dataset>/ (README card + data/<lang>/*.parquet)")
    p.add_argument("config")
    p = sub.add_parser("push", help="push release/<dataset>/ to the Hub: prints the plan, sends only with --yes")
    p.add_argument("config")
    p.add_argument("--org", help="Hub user or organisation (overrides hub.org in the config)")
    p.add_argument("--yes", action="store_true", help="really push (default: dry run, nothing is sent)")
    p.add_argument("--private", action=argparse.BooleanOptionalAction, default=None,
                   help="create the repositories private / public (overrides hub.private)")
    p.add_argument("--endpoint", help="Hub endpoint, e.g. a self-hosted Hub (overrides hub.endpoint)")
    p.add_argument("--release-dir", help="folder holding the release folders (default: the config's output_dir)")
    args = parser.parse_args(argv)
    cfg = load_release_config(args.config)
    if args.command == "push":
        from cards.push import run_push

        run_push(cfg, org=args.org, yes=args.yes, endpoint=args.endpoint, private=args.private,
                 release_dir=args.release_dir)
        return 0
    from cards.release import run_publish

    for name, path in run_publish(cfg).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
