"""QA sensitivity: seeded corruptions of correct translations, rescored through the QA stage (issue 16).

    .venv/bin/python benchmarks/qa_sensitivity.py [--rows 81] [--classes negation,digit] [--chunks 5]
        [--seed 0] [--memory build/qa_sensitivity/memory.sqlite] [--no-similarity] [--write]

The sample's benign rows (data/sample/benign.jsonl) are translated en->pt and back with bergamot through a
translation memory (the first run translates, later ones read the memory), then validation/sensitivity.py
corrupts each row's Portuguese output once per class, translates the corrupted output back with the same
engine and scores the corpus with the release's QA config (configs/release/sample.yaml) through
`score_language`, the function the QA stage runs. Prints per class the share of corrupted rows that fail
and the checks that fired, and the share of clean rows that fail; says so where a goal is not met.
--write stores the figures in validation/detection.py, where the QA report and the dataset cards read them.
"""

from __future__ import annotations

import argparse
import json
import pprint
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def sample_rows(n: int | None) -> list[dict]:
    rows = [json.loads(line) for line in (REPO / "data/sample/benign.jsonl").read_text().splitlines() if line.strip()]
    return [dict(r, id=f"row-{i:02d}", source="sample", language="en") for i, r in enumerate(rows[:n])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None, help="first N sample rows (default: all)")
    parser.add_argument("--classes", default=None, help="comma-separated corruption classes (default: all)")
    parser.add_argument("--chunks", type=int, default=5, help="corrupt 1/CHUNKS of the rows per scoring run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory", default=str(REPO / "build/qa_sensitivity/memory.sqlite"))
    parser.add_argument("--no-similarity", action="store_true", help="leave out the embedding scorer")
    parser.add_argument("--write", action="store_true", help="store the figures in validation/detection.py")
    args = parser.parse_args()

    from builders.build import translate_fields
    from builders.engines import get_engine
    from builders.memory import TranslationMemory
    from builders.translate import translate_texts
    from safedrift.core.specs import BENIGN
    from validation.config import load_qa_config
    from validation.sensitivity import CLASSES, DESCRIPTIONS, GOALS, MAX_FALSE_ALARMS, measure, table

    qa = load_qa_config(REPO / "configs/release/sample.yaml").qa
    if args.no_similarity:
        qa = qa.model_copy(update={"scorers": [s for s in qa.scorers if s != "similarity"]})
    qa = qa.model_copy(update={"scorers": [s for s in qa.scorers if s != "comet"]})  # COMET: see its own venv
    classes = args.classes.split(",") if args.classes else list(CLASSES)
    engine = get_engine("bergamot")
    Path(args.memory).parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with TranslationMemory(args.memory) as memory:
        en = sample_rows(args.rows)
        fields = BENIGN.text_fields
        fwd, _ = translate_fields(en, fields, engine, "en", "pt", memory, 64, "sample en->pt")
        pt = [dict(r, **parts, language="pt") for r, parts in zip(en, fwd, strict=True)]
        back, _ = translate_fields(pt, fields, engine, "pt", "en", memory, 64, "sample pt->en")
        for row, parts in zip(pt, back, strict=True):
            row.update({f"bt_{f}": v for f, v in parts.items()})
        en = [dict(r, **{f"bt_{f}": r[f] for f in fields}) for r in en]

        def back_translate(texts: list[str]) -> list[str]:
            out, _ = translate_texts(texts, engine=engine, source="pt", target="en", memory=memory, progress=False)
            return out

        result = measure(BENIGN, en, pt, back_translate, qa, classes=classes, chunks=args.chunks, seed=args.seed)
    elapsed = time.perf_counter() - start
    print(f"QA sensitivity on the sample: {len(en)} benign rows, en->pt->en with bergamot, scorers "
          f"{', '.join(qa.scorers)}; {elapsed:.0f} s\n")
    print(table(result))
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
            "measured": (f"benchmarks/qa_sensitivity.py: {len(en)} sample rows, en->pt->en bergamot, seed "
                         f"{args.seed}, scorers {', '.join(qa.scorers)}"),
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
