"""`python -m cards publish CONFIG`: write the local Hub-layout release folders from QA'd rows."""

from __future__ import annotations

import argparse

from builders.config import load_release_config
from builders.errors import run_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cards")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("publish", help="write release/<dataset>/ (README card + data/<lang>/*.parquet)")
    p.add_argument("config")
    args = parser.parse_args(argv)
    from cards.release import run_publish

    for name, path in run_publish(load_release_config(args.config)).items():
        print(f"{name}: {path}")
    return 0


raise SystemExit(run_cli(main))
