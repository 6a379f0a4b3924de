"""`python -m validation qa CONFIG`: QA the built rows of a release config."""

from __future__ import annotations

import argparse

from builders.config import load_release_config
from builders.errors import run_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m validation")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("qa", help="back-translation chrF/BLEU, language ID and qa_pass for built rows")
    p.add_argument("config")
    args = parser.parse_args(argv)
    from validation.qa import run_qa

    print(run_qa(load_release_config(args.config)) / "report.json")
    return 0


raise SystemExit(run_cli(main))
