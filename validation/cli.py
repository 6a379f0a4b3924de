"""`python -m validation qa CONFIG` (QA the built rows) and `python -m validation validate FOLDER` (QA an
existing release folder without changing it)."""

from __future__ import annotations

import argparse
from pathlib import Path

from safedrift.core.errors import run_cli
from safedrift.core.overrides import add_set_argument, parse_sets


def add_validate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folders", nargs="+", type=Path,
                   help="a dataset folder (README.md + data/<lang>/*.parquet) or a release root holding them")
    p.add_argument("--config", help="release config for engines and thresholds (default: offline engines, "
                                    "documented QA defaults)")
    p.add_argument("--out", type=Path, default=Path("build/validate"),
                   help="where report.json, report.md and data_docs/ go (default: build/validate)")
    p.add_argument("--work-dir", type=Path, default=None,
                   help="translation memory for the back-translations (default: the --out folder)")


def validate(args: argparse.Namespace) -> int:
    from validation.config import load_qa_config
    from validation.report import markdown_table
    from validation.validate import run_validate

    cfg = load_qa_config(args.config) if args.config else None
    report = run_validate(args.folders, cfg, args.out, args.work_dir or args.out)
    for dataset, name in zip(report["datasets"], report["validated"], strict=True):
        print(f"{name}\n{markdown_table(report['datasets'][dataset])}\n")
    print(f"gate passed ({report['gate']['expectations']} expectations); report: {args.out / 'report.json'}")
    return 0


def qa(config: str, overrides: dict | None = None) -> int:
    from safedrift.core.errors import disk_errors
    from safedrift.core.files import work_lock
    from validation.config import load_qa_config
    from validation.qa import run_qa

    cfg = load_qa_config(config, overrides)
    with work_lock(cfg.work_path), disk_errors(cfg.work_path):  # one writer per work dir, as `safedrift qa`
        print(run_qa(cfg) / "report.json")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m validation", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("qa", help="every QA scorer over the built rows of a release config; qa/report.json")
    p.add_argument("config")
    p.add_argument("--work-dir", dest="work_dir", help="override the config's work_dir")
    add_set_argument(p, "qa.chrf=40")
    add_validate_arguments(sub.add_parser("validate", help="QA + release gate on an existing release folder "
                                                           "(read-only)"))
    args = parser.parse_args(argv)
    if args.command == "qa":
        return qa(args.config, {**({"work_dir": args.work_dir} if args.work_dir else {}), **parse_sets(args.sets)})
    return validate(args)


def entry() -> None:
    raise SystemExit(run_cli(main))
