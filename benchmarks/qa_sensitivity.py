"""QA sensitivity: seeded corruptions of correct translations, rescored through the QA stage (issues 16, 25).

    .venv/bin/python benchmarks/qa_sensitivity.py [WORKDIR] [--real [PATH]] [--rows 81]
        [--classes negation,digit] [--chunks 5] [--seed 0] [--memory build/qa_sensitivity/memory.sqlite]
        [--config configs/release/sample.yaml] [--no-similarity] [--write]

Three corpora, each en->pt with bergamot:
- default: the sample's benign rows (data/sample/benign.jsonl), translated en->pt and back through a
  translation memory (the first run translates, later ones read the memory);
- WORKDIR: a built release work dir (`safedrift build`/`make release`): its translated/benign/{en,pt}.jsonl
  rows as the build wrote them, scored with the QA thresholds its qa/report.json records (a release built
  before a check existed does not fail on it) unless --config is given;
- --real [PATH]: the real-data evaluation set (validation/realset.py): the Alpaca-format file at PATH (or
  $SAFEDRIFT_QA_REAL_ROWS), its rows labelled in validation/realset_labels.json translated like the sample;
  rows labelled correct are the clean rows (a failure there is a false alarm), rows labelled correct or
  minor are corrupted, and QA's verdict on every row is set against the labels. Skipped with a message when the file is absent.
validation/sensitivity.py corrupts each row's Portuguese output once per class, translates the corrupted
output back with the same engine and scores the corpus through `score_language`, the function the QA stage
runs. Prints per class the share of corrupted rows that fail and the checks that fired, and the share of
clean rows that fail; says so where a goal is not met. --write stores the figures in validation/detection.py,
where the QA report and the dataset cards read them.
"""

from __future__ import annotations

import argparse
import json
import pprint
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def sample_rows(n: int | None) -> list[dict]:
    rows = [json.loads(line) for line in (REPO / "data/sample/benign.jsonl").read_text().splitlines() if line.strip()]
    return [dict(r, id=f"row-{i:02d}", source="sample", language="en") for i, r in enumerate(rows[:n])]


def translate_corpus(en: list[dict], memory_path: str) -> tuple[list[dict], list[dict], Callable[[list[str]], list[str]]]:
    """validation.sensitivity.translate_corpus with a translation memory at `memory_path` (kept between runs)."""
    from builders.memory import TranslationMemory
    from validation.sensitivity import translate_corpus as translate

    Path(memory_path).parent.mkdir(parents=True, exist_ok=True)
    return translate(en, TranslationMemory(memory_path))


def workdir_corpus(work: Path) -> tuple[list[dict], list[dict], dict | None]:
    """A built work dir's benign en/pt rows (pt rows that have an English source) and its QA thresholds."""
    from builders.build import read_translated
    from safedrift.core.specs import BENIGN

    if not (work / "translated/benign/pt.jsonl").is_file():
        raise SystemExit(f"{work} has no translated/benign/pt.jsonl; build a release with Portuguese first "
                         "(make release) or leave WORKDIR out for the sample.")
    en_by_id = {BENIGN.row_id(r): r for r in read_translated(work, "benign", "en")}
    pt = [r for r in read_translated(work, "benign", "pt") if BENIGN.row_id(r) in en_by_id]
    en = [en_by_id[BENIGN.row_id(r)] for r in pt]
    report = work / "qa/report.json"
    thresholds = json.loads(report.read_text())["thresholds"] if report.is_file() else None
    return en, pt, thresholds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", nargs="?", default=None, help="a built release work dir (default: the sample)")
    parser.add_argument("--real", nargs="?", const="", default=None,
                        help="the real-data set: an Alpaca-format file (default: $SAFEDRIFT_QA_REAL_ROWS)")
    parser.add_argument("--rows", type=int, default=None, help="first N sample rows (default: all)")
    parser.add_argument("--classes", default=None, help="comma-separated corruption classes (default: all)")
    parser.add_argument("--chunks", type=int, default=5, help="corrupt 1/CHUNKS of the rows per scoring run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory", default=str(REPO / "build/qa_sensitivity/memory.sqlite"))
    parser.add_argument("--config", default=None,
                        help="the release config whose qa section is used (default: for WORKDIR the thresholds "
                             "its qa/report.json records, else configs/release/sample.yaml)")
    parser.add_argument("--no-similarity", action="store_true", help="leave out the embedding scorer")
    parser.add_argument("--write", action="store_true", help="store the figures in validation/detection.py")
    args = parser.parse_args()

    from safedrift.core.specs import BENIGN
    from validation import realset
    from validation.config import QAConfig, load_qa_config
    from validation.sensitivity import CLASSES, DESCRIPTIONS, GOALS, MAX_FALSE_ALARMS, measure, table

    qa = load_qa_config(args.config or REPO / "configs/release/sample.yaml").qa
    classes = args.classes.split(",") if args.classes else list(CLASSES)
    clean: list[int] | None = None
    eligible: list[int] | None = None
    start = time.perf_counter()
    if args.real is not None:
        path = realset.rows_path(args.real or None)
        if path is None:
            print(f"The real-data set is not here: pass the Alpaca-format file named in "
                  f"validation/realset_labels.json as --real PATH or ${realset.ENV_VAR}; skipped.")
            return
        en, pt, back_translate = translate_corpus(realset.labelled_rows(path), args.memory)
        clean = [i for i, r in enumerate(en) if r["label"] == "correct"]
        eligible = [i for i, r in enumerate(en) if r["label"] in ("correct", "minor")]
        corpus = (f"the real-data set ({len(en)} labelled Alpaca rows: {len(clean)} correct, clean; "
                  f"{len(eligible)} correct or minor, corrupted)")
    elif args.workdir is not None:
        en, pt, thresholds = workdir_corpus(Path(args.workdir))
        if thresholds is not None and args.config is None:
            qa = QAConfig(**thresholds)
        _, _, back_translate = translate_corpus([], args.memory)
        corpus = f"{args.workdir} ({len(pt)} benign rows)"
    else:
        en, pt, back_translate = translate_corpus(sample_rows(args.rows), args.memory)
        corpus = f"the sample ({len(en)} benign rows)"
    if args.no_similarity:
        qa = qa.model_copy(update={"scorers": [s for s in qa.scorers if s != "similarity"]})
    qa = qa.model_copy(update={"scorers": [s for s in qa.scorers if s != "comet"]})  # COMET: see its own venv
    result = measure(BENIGN, en, pt, back_translate, qa, classes=classes, chunks=args.chunks, seed=args.seed,
                     clean=clean, eligible=eligible)
    elapsed = time.perf_counter() - start
    print(f"QA sensitivity on {corpus}, en->pt->en with bergamot, scorers {', '.join(qa.scorers)}; "
          f"{elapsed:.0f} s\n")
    print(table(result))
    if clean is not None:
        print("\nQA against the labels (every row, uncorrupted):\n")
        print(realset.agreement_table(realset.agreement(
            [dict(r, label=e["label"]) for r, e in zip(result.scored, en, strict=True)])))
    if result.excluded:
        print(f"\nRows that fail when clean (left out of the corruptions): {', '.join(result.excluded)}")
    missed = [n for n, r in result.classes.items() if r.rate < GOALS[n]]
    if missed or result.false_alarm_rate > MAX_FALSE_ALARMS:
        print("\nGoals not met: " + ", ".join(
            [f"{n} ({result.classes[n].rate:.0%} < {GOALS[n]:.0%})" for n in missed]
            + ([f"false alarms {result.false_alarm_rate:.1%}"] if result.false_alarm_rate > MAX_FALSE_ALARMS else [])))
    else:
        print("\nAll goals met.")
    for name, res in result.classes.items():
        undetected = [e for e in res.examples if e[1] == "-"]
        if undetected:
            print(f"  {name}, e.g. missed: {undetected[0][0]!r}")
    if args.write:
        figures = {
            "measured": (f"benchmarks/qa_sensitivity.py on {time.strftime('%Y-%m-%d', time.gmtime())}: {corpus}, "
                         f"en->pt->en bergamot, seed {args.seed}, scorers {', '.join(qa.scorers)}"),
            "clean": {"n": result.clean_n, "flagged": result.clean_flagged,
                      "by_check": dict(result.clean_by_check.most_common())},
            "classes": {n: {"description": DESCRIPTIONS[n], "n": r.n, "detected": r.detected,
                            "by_check": dict(r.by_check.most_common())} for n, r in result.classes.items()},
        }
        path = REPO / "validation/detection.py"
        path.write_text('"""What each QA check caught in benchmarks/qa_sensitivity.py (written by its --write; '
                        'do not edit by hand).\n\nvalidation/report.py turns these figures into the table of '
                        'checks in the QA report and the dataset cards.\n"""\n\nDETECTION: dict = '
                        + pprint.pformat(figures, width=110, sort_dicts=False) + "\n")
        print(f"\nwrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
