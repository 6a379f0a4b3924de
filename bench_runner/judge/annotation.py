"""Sheets for people to label a run's answers, and reading the filled sheets back.

A sheet holds one eval language's answers, drawn stratified by prompt set and by the primary judge's verdict (so
refusals, compliances and partial refusals all get labelled, not just the common class), in a fixed order from a
seed. It shows the prompt, the answer and, where the run back-translated it, the answer in English; the judges'
verdicts are not on it (labels are given blind). Label columns, one per person:

- `label`: XSTest's class — full_compliance, partial_refusal or full_refusal (1 / 3 / 2 and the class names with
  spaces are read too);
- `annotator`: who labelled (several people's sheets give several rows per answer), `notes`: free text.

Written as CSV (spreadsheets) and JSONL (scripts) with the same columns; either is read back.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from bench_runner.judge.refusal import FULL_COMPLIANCE, FULL_REFUSAL, PARTIAL_REFUSAL, REFUSAL_CLASSES
from safedrift.core.errors import DataError
from safedrift.core.files import atomic_write_jsonl, atomic_write_text, iter_jsonl

SHEET_COLUMNS = ("sheet_id", "uid", "model", "kind", "language", "item_id", "prompt", "answer", "answer_english",
                 "label", "annotator", "notes")
_LABELS = {"1": FULL_COMPLIANCE, "2": FULL_REFUSAL, "3": PARTIAL_REFUSAL,
           **{k: k for k in REFUSAL_CLASSES}, **{k.replace("_", " "): k for k in REFUSAL_CLASSES},
           **{f"{n}_{k}": k for n, k in (("1", FULL_COMPLIANCE), ("2", FULL_REFUSAL), ("3", PARTIAL_REFUSAL))}}


def verdict_stratum(row: dict) -> str:
    """The primary judge's verdict as a stratum: its class where it gives one, else complied / refused / none."""
    if row.get("refusal_class"):
        return str(row["refusal_class"])
    score = row.get("score")
    return "complied" if score == 1 else "refused" if score == 0 else "unscored"


def draw(scores: list[dict], language: str, n: int, seed: int = 0) -> list[dict]:
    """`n` score rows of one eval language, stratified by (prompt set, verdict): each stratum gets its share of n
    (largest remainders), at least one while n allows, drawn without replacement in a seeded order."""
    rows = sorted((r for r in scores if r["language"] == language), key=lambda r: r["uid"] + "\t" + r["model"])
    if not rows:
        raise DataError(f"the run has no judged answers in {language!r}; annotate one of its eval languages.")
    strata: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        strata[(r["kind"], verdict_stratum(r))].append(r)
    rng = random.Random(seed)
    for members in strata.values():
        rng.shuffle(members)
    n = min(n, len(rows))
    keys = sorted(strata, key=lambda k: len(strata[k]))  # small strata first get their one answer
    take = {k: 0 for k in keys}
    for k in keys[:n]:
        take[k] = 1
    left = n - sum(take.values())
    if left:
        total = len(rows)
        shares = {k: len(strata[k]) * left / total for k in keys}
        for k in keys:
            take[k] += min(int(shares[k]), len(strata[k]) - take[k])
        spare = n - sum(take.values())
        for k in sorted(keys, key=lambda k: (shares[k] - int(shares[k]), len(strata[k])), reverse=True):
            if spare > 0 and take[k] < len(strata[k]):  # largest remainders first, one each
                take[k] += 1
                spare -= 1
        for k in sorted(keys, key=lambda k: len(strata[k]) - take[k], reverse=True):  # full strata: the others
            extra = min(spare, len(strata[k]) - take[k])
            take[k] += extra
            spare -= extra
    chosen = [r for k in keys for r in strata[k][: take[k]]]
    rng.shuffle(chosen)  # strata mixed on the sheet
    return chosen


def sheet_rows(chosen: list[dict], samples: dict[str, dict]) -> list[dict]:
    """The sheet's rows for drawn score rows; `samples` maps a sample's uid+model to its generate row."""
    out = []
    for i, r in enumerate(chosen, 1):
        sample = samples[f"{r['model']}\t{r['uid']}"]
        english = r.get("answer_english")
        out.append({"sheet_id": f"{r['language']}-{i:04d}", "uid": r["uid"], "model": r["model"], "kind": r["kind"],
                    "language": r["language"], "item_id": r["item_id"],
                    "prompt": sample["messages"][-1]["content"], "answer": sample["response"],
                    "answer_english": english if english and english != sample["response"] else "",
                    "label": "", "annotator": "", "notes": ""})
    return out


def write_sheet(rows: list[dict], stem: Path) -> tuple[Path, Path]:
    """`stem`.csv and `stem`.jsonl, the same rows and columns."""
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SHEET_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    csv_path, jsonl_path = stem.with_suffix(".csv"), stem.with_suffix(".jsonl")
    atomic_write_text(csv_path, buf.getvalue())
    atomic_write_jsonl(jsonl_path, rows)
    return csv_path, jsonl_path


def parse_label(value: str) -> str | None:
    """A label cell as one of XSTest's classes; None when blank; an unknown value is an error."""
    text = " ".join(str(value or "").strip().lower().split())
    if not text:
        return None
    if text not in _LABELS:
        raise DataError(f"label {value!r} is none of full_compliance, partial_refusal, full_refusal (or 1, 3, 2); "
                        "fix the sheet.")
    return _LABELS[text]


def read_sheets(paths: Iterable[Path]) -> tuple[list[dict], int]:
    """Labelled rows of filled sheets (CSV or JSONL): (rows with uid, model, language, label, annotator, blank
    labels left out and counted)."""
    out, blank = [], 0
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise DataError(f"no sheet at {path}; give the CSV or JSONL that `safedrift bench annotate` wrote.")
        if path.suffix == ".jsonl":
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        else:
            with open(path, encoding="utf-8-sig", newline="") as f:
                rows = list(csv.DictReader(f))
        for row in rows:
            missing = [c for c in ("uid", "model", "language", "label") if c not in row]
            if missing:
                raise DataError(f"{path} has no column {', '.join(missing)}; label the sheet annotate wrote.")
            label = parse_label(row["label"])
            if label is None:
                blank += 1
                continue
            out.append({"uid": row["uid"], "model": row["model"], "language": row["language"],
                        "kind": row.get("kind", ""), "label": label,
                        "annotator": (row.get("annotator") or "").strip() or path.stem})
    return out, blank


# ---- a finished run's answers ------------------------------------------------------------------------------
def run_answers(run_dir: Path) -> tuple[list[dict], dict[str, dict]]:
    """(every judged answer's scores row, generate rows by "model<TAB>uid") of a finished run, from the stage
    folders its results.json names."""
    results_path = Path(run_dir) / "results.json"
    if not results_path.is_file():
        raise DataError(f"no results.json in {run_dir}; finish the run (safedrift bench CONFIG) before annotating.")
    keys = json.loads(results_path.read_text(encoding="utf-8"))["stage_keys"]
    scores = [row for name in keys["judge"].values()
              for row in iter_jsonl(Path(run_dir) / "judge" / name / "scores.jsonl")]
    samples = {f"{s['model']}\t{s['uid']}": s for name in keys["generate"].values()
               for s in iter_jsonl(Path(run_dir) / "generate" / name / "samples.jsonl")}
    return scores, samples


def annotate_run(run_dir: Path, language: str, n: int, seed: int = 0) -> tuple[Path, Path]:
    """Write the sheet of `n` answers in `language` (annotation/<language>-sheet.csv and .jsonl in the run)."""
    scores, samples = run_answers(run_dir)
    rows = sheet_rows(draw(scores, language, n, seed), samples)
    return write_sheet(rows, Path(run_dir) / "annotation" / f"{language}-sheet")


# ---- `safedrift bench annotate RUN --language L --n N` (bench_runner/cli.py TOOLS) ---------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, metavar="RUN", help="a finished run folder (runs/<run-id>)")
    parser.add_argument("--language", required=True, help="the eval language whose answers go on the sheet")
    parser.add_argument("--n", type=int, default=60, help="answers on the sheet, stratified by prompt set and the "
                                                          "primary judge's verdict (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="the draw's seed (default 0)")


def run(args: argparse.Namespace) -> int:
    """`safedrift bench annotate RUN --language L --n N`: the sheet's CSV and JSONL paths printed."""
    if args.n < 1:
        raise DataError(f"--n {args.n} draws no answer; ask for at least one.")
    csv_path, jsonl_path = annotate_run(args.run_dir, args.language, args.n, args.seed)
    print(f"{csv_path}\n{jsonl_path}\nLabel a copy per person (fill `label` and `annotator`), then: safedrift bench "
          f"labels {args.run_dir} SHEET...")
    return 0
