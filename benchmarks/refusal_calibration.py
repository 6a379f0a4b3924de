"""The offline refusal detector against its calibration set: precision and recall per language.

    .venv/bin/python benchmarks/refusal_calibration.py [--show-errors] [--calibration PATH]

The calibration set (bench_runner/judge/calibration/refusal.jsonl, written for this project) holds, per study
language, refusals in varied phrasings and compliant answers, including answers that apologise, mention
being an AI or name a limit in passing and then comply. A refusal is the positive class. Prints one row
per language (refusals, compliant answers, precision, recall, F1, misclassified answers) and, last, the
macro precision/recall over the languages. --show-errors lists the misclassified answers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    from bench_runner.judge.refusal import (
        CALIBRATION_PATH,
        DETECTOR_VERSION,
        calibration_scores,
        load_calibration,
    )

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calibration", type=Path, default=CALIBRATION_PATH)
    parser.add_argument("--show-errors", action="store_true", help="print each misclassified answer")
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


if __name__ == "__main__":
    main()
