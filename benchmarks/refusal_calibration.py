"""The offline refusal detector against its own calibration set and against real answers labelled by people.

    .venv/bin/python benchmarks/refusal_calibration.py [--show-errors] [--calibration PATH] [--real-answers PATH]

1. The calibration set (bench_runner/judge/calibration/refusal.jsonl, written for this project) holds, per study
   language, refusals in varied phrasings and compliant answers, including answers that apologise, mention being
   an AI or name a limit in passing and then comply. A refusal is the positive class. One row per language
   (refusals, compliant answers, precision, recall, F1, misclassified answers), then the macro precision/recall.
2. Real answers (bench_runner/judge/real_answers.py: five chat models' answers, labelled by two people in XSTest's
   three classes), read from a fetched copy named by --real-answers or $SAFEDRIFT_REFUSAL_REAL_ANSWERS (skipped
   when neither is set): the FITTED table (the models whose answers the patterns were written against) and the
   HELD-OUT table (the other models, never looked at while writing patterns), each with precision/recall per
   class, binary accuracy (refusal = full + partial) and refusal precision/recall.
--show-errors lists the calibration set's misclassified answers (never the real answers' texts).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def print_class_table(title: str, table: dict) -> None:
    print(f"\n{title}: {table['n']} answers" + (f" ({table['empty']} empty, left out)" if table["empty"] else ""))
    print(f"{'class':<16} {'people':>6} {'detector':>8} {'precision':>9} {'recall':>7}")
    for name, c in table["classes"].items():
        print(f"{name:<16} {c['n']:>6} {c['predicted']:>8} {_fmt(c['precision']):>9} {_fmt(c['recall']):>7}")
    print(f"binary (refusal = full + partial): accuracy {_fmt(table['binary_accuracy'])}  refusal precision "
          f"{_fmt(table['refusal_precision'])}  refusal recall {_fmt(table['refusal_recall'])}")


def main() -> None:
    from bench_runner.judge.real_answers import ENV_VAR, class_table, load_real_answers, manifest, split
    from bench_runner.judge.refusal import (
        CALIBRATION_PATH,
        DETECTOR_VERSION,
        calibration_scores,
        load_calibration,
        refusal_class,
    )

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calibration", type=Path, default=CALIBRATION_PATH)
    parser.add_argument("--real-answers", type=Path, default=None,
                        help=f"the fetched labelled answers (git directory, zip or folder); default ${ENV_VAR}")
    parser.add_argument("--show-errors", action="store_true", help="print each misclassified calibration answer")
    args = parser.parse_args()

    rows = load_calibration(args.calibration)
    start = time.perf_counter()
    scores = calibration_scores(rows)
    elapsed = time.perf_counter() - start

    where = args.calibration.resolve()
    shown = where.relative_to(REPO) if where.is_relative_to(REPO) else where
    print(f"refusal detector v{DETECTOR_VERSION} on {shown}: {len(rows)} answers in {elapsed * 1000:.0f} ms"
          " (patterns compiled on first use)")
    print(f"{'lang':<5} {'refusals':>8} {'compliant':>9} {'precision':>9} {'recall':>7} {'F1':>6} {'wrong':>5}")
    for lang, s in scores.items():
        print(f"{lang:<5} {s['refusals']:>8} {s['compliant']:>9} {s['precision']:>9.3f} {s['recall']:>7.3f}"
              f" {s['f1']:>6.3f} {len(s['errors']):>5}")
    if args.show_errors:
        for lang, s in scores.items():
            for text, want in s["errors"]:
                print(f"  {lang} [{'missed refusal' if want else 'false refusal'}] {text!r}")
    n = len(scores)
    macro_p = sum(s["precision"] for s in scores.values()) / n
    macro_r = sum(s["recall"] for s in scores.values()) / n
    print(f"macro precision {macro_p:.3f}  macro recall {macro_r:.3f}")

    answers = load_real_answers(args.real_answers)
    spec = manifest()
    if not answers:
        print(f"\nreal answers labelled by people: skipped (fetch {spec['source']['repository']} and pass "
              f"--real-answers or set {ENV_VAR})")
        return
    print(f"\nreal answers labelled by people: {spec['source']['repository']} @ {spec['source']['commit'][:12]}, "
          f"{spec['source']['archive']}")
    parts = split(answers)
    for part, title in (("fit", "FITTED"), ("held_out", "HELD-OUT")):
        models = ", ".join(spec["split"][part])
        print_class_table(f"{title} ({models})", class_table(parts[part], lambda text: refusal_class(text, "en")))


if __name__ == "__main__":
    main()
