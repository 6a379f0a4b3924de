"""The real-data QA evaluation set: instruction rows no one on this project wrote, with our labels.

The rows' text is never in this repository (Alpaca's licence, and the rule that a third-party dataset's
text stays out): only the labels are, keyed by a hash of each row, in validation/realset_labels.json. The
rows come from a copy of an Alpaca-format file the user fetches (a JSON list or JSON lines of
{"instruction", "input", "output"}); any file holding the labelled rows works, extra rows are ignored.

Labels (one person read each bergamot en->pt translation beside its source):
  correct  the translation says what the source says, in fluent Portuguese;
  minor    a small slip that does not change what a reader or a fine-tuned model learns (a word order, an
           article, a near-synonym, one word left in English inside a name);
  wrong    a meaning changes, something is lost or added, or text is left untranslated.
QA should pass `correct` rows (a failure there is a false alarm) and is welcome to fail `wrong` ones.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

LABELS_PATH = Path(__file__).with_name("realset_labels.json")
ENV_VAR = "SAFEDRIFT_QA_REAL_ROWS"
LABELS = ("correct", "minor", "wrong")
FIELDS = ("instruction", "input", "output")


def row_hash(row: dict) -> str:
    """16 hex digits of sha256 over the three text fields: the key a label is stored under."""
    text = json.dumps([row.get(f) or "" for f in FIELDS], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_labels(path: Path = LABELS_PATH) -> dict:
    """{"source": ..., "selection": ..., "labels": {hash: {"label": ..., "note": ...}}}."""
    data = json.loads(path.read_text())
    bad = sorted({v["label"] for v in data["labels"].values()} - set(LABELS))
    if bad:
        raise ValueError(f"{path}: unknown labels {bad}; use one of {list(LABELS)}.")
    return data


def read_rows(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        rows = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [{f: r.get(f) or "" for f in FIELDS} for r in rows]


def rows_path(given: str | os.PathLike | None = None) -> Path | None:
    """The fetched file: the given path, else $SAFEDRIFT_QA_REAL_ROWS; None when neither names a file."""
    value = given if given is not None else os.environ.get(ENV_VAR)
    if not value:
        return None
    path = Path(value)
    return path if path.is_file() else None


def labelled_rows(path: Path, labels: dict | None = None) -> list[dict]:
    """The labelled rows of the file, in the labels' order, as benign rows (id = the row hash) with their
    `label`. Raises when the file holds none of them (a different file was given)."""
    labels = labels if labels is not None else load_labels()["labels"]
    by_hash = {row_hash(r): r for r in read_rows(path)}
    rows = [dict(by_hash[h], id=h, source="alpaca", language="en", label=v["label"])
            for h, v in labels.items() if h in by_hash]
    if not rows:
        raise ValueError(f"{path} holds none of the {len(labels)} labelled rows; give the file named in "
                         f"{LABELS_PATH.name} ('source').")
    return rows


def agreement(scored: list[dict]) -> dict:
    """QA's verdict against the labels, over rows scored by score_language that carry their `label`:
    per label the rows, the rows QA fails, and the checks that failed them."""
    out: dict = {}
    for label in LABELS:
        rows = [r for r in scored if r["label"] == label]
        failed = [r for r in rows if not r["qa_pass"]]
        checks: dict[str, int] = {}
        for r in failed:
            for f in r["qa_flags"]:
                checks[f] = checks.get(f, 0) + 1
        out[label] = {"n": len(rows), "failed": len(failed), "failed_ids": [r["id"] for r in failed],
                      "checks": dict(sorted(checks.items(), key=lambda kv: -kv[1]))}
    return out


def agreement_table(result: dict) -> str:
    lines = ["| label | rows | QA fails | share | checks on the failed rows |", "|---|---|---|---|---|"]
    for label, res in result.items():
        share = res["failed"] / res["n"] if res["n"] else 0.0
        checks = ", ".join(f"{c} {n}" for c, n in res["checks"].items()) or "–"
        lines.append(f"| {label} | {res['n']} | {res['failed']} | {share:.0%} | {checks} |")
    return "\n".join(lines)
