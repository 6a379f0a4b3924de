"""`safedrift bench export-tasks --to lm-eval|inspect DIR`: the released SORRY-Bench-Multilingual and
XSTest-Multilingual as tasks of lm-evaluation-harness and of inspect, per language, scored with safedrift's
judges (the offline refusal detector by default; a bench config's `judge:` section with --judge-config).

Every task asks a released prompt exactly as the runner does, greedily, and reports one of the runner's rates
(bench_runner.data: compliance, safe_refusal, contrast_compliance) over the scored answers, plus the share left
unscored (empty answers). A bench tool (bench_runner/cli.py TOOLS): `add_arguments` and `run`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from safedrift.core.errors import DataError
from safedrift.export.tasks import TASKS, release_sources

HARNESSES = ("lm-eval", "inspect")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", required=True, choices=HARNESSES, help="the harness to write tasks for")
    parser.add_argument("out", type=Path, help="folder to write the task files into")
    parser.add_argument("--release", default="release",
                        help="the folder holding the released datasets (default: release)")
    parser.add_argument("--sorry", help="SORRY-Bench-Multilingual: a folder or Hub id (default: under --release)")
    parser.add_argument("--xstest", help="XSTest-Multilingual: a folder or Hub id (default: under --release)")
    parser.add_argument("--languages", nargs="+",
                        help="languages to export (default: every language with a test split in a local release)")
    parser.add_argument("--judge-config", help="a bench config whose `judge:` section scores the answers "
                                               "(default: the offline refusal detector)")
    parser.add_argument("--include-failed-qa", action="store_true",
                        help="also ask the rows whose translation failed QA (default: left out, as the runner does)")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="generation budget per answer (256)")


def languages_of(source: str, wanted: list[str] | None) -> list[str]:
    """The languages to export from one dataset: `wanted`, else every config with a `test` split in a local folder."""
    from safedrift.core.hub import folder_layout

    if os.path.isabs(source) and not os.path.isdir(source):
        raise DataError(f"{source} does not exist; build the release with `make release`, or point --release (or "
                        "--sorry / --xstest) at the released datasets.")
    if not os.path.isdir(source):
        if not wanted:
            raise DataError(f"{source} is not a local folder, so its languages are unknown; name them with "
                            "--languages.")
        return list(wanted)
    found = sorted(lang for lang, splits in folder_layout(source).items() if "test" in splits)
    if not found:
        raise DataError(f"{source} holds no language with a test split; build it with `make release` or pass "
                        "--sorry/--xstest.")
    if wanted:
        missing = [lang for lang in wanted if lang not in found]
        if missing:
            raise DataError(f"{source} has no test split for {', '.join(missing)}; it has {', '.join(found)}.")
        return list(wanted)
    return found


def export(to: str, out: Path, sources: dict[str, str], languages: list[str] | None, judge_config: str | None,
           require_qa_pass: bool, max_new_tokens: int) -> list[Path]:
    judge_config = os.path.abspath(judge_config) if judge_config else None
    if to == "inspect":
        from safedrift.export.inspect_tasks import write_inspect

        for source in sources.values():
            languages_of(source, languages)  # the same checks as for lm-eval: a missing language fails here
        return write_inspect(out, sources, judge_config, require_qa_pass, max_new_tokens)
    from safedrift.export.lm_eval import write_lm_eval

    by_key = {key: languages_of(source, languages) for key, source in sources.items()}
    return write_lm_eval(out, sources, by_key, judge_config, require_qa_pass, max_new_tokens)


def run(args: argparse.Namespace) -> int:
    sources = release_sources(args.release, args.sorry, args.xstest)
    files = export(args.to, args.out, sources, args.languages, args.judge_config, not args.include_failed_qa,
                   args.max_new_tokens)
    print(f"export-tasks: {len(files)} files for {args.to} in {args.out}")
    names = ", ".join(f"safedrift_{t.name}" for t in TASKS)
    if args.to == "lm-eval":
        print(f"  lm_eval --model hf --model_args pretrained=MODEL --include_path {args.out} "
              "--tasks safedrift_xstest_pt --apply_chat_template   (tags: safedrift_<sorry|xstest>_<lang>, safedrift)")
    else:
        print(f"  inspect eval {args.out / 'safedrift_tasks.py'}@safedrift_xstest_safe -T language=pt --model hf/MODEL"
              f"   (tasks: {names})")
    return 0
