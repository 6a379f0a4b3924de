"""Real model answers labelled by people, to fit and to test the offline refusal detector on (not our own text).

Source: github.com/mdazizulaman/XSTest-Replication-and-Extension, `New_data.zip` (commit in MANIFEST): five chat
models (GPT-4o-mini, Llama-3.0/3.1-Instruct, Mistral-7B-Instruct with and without its guard system prompt)
answering 450 *new* XSTest-style prompts (250 safe, 200 unsafe contrasts; written by that project, not XSTest's
prompts), each answer labelled by two people in XSTest's three classes (1_full_compliance, 2_full_refusal,
3_partial_refusal; `final_label` after adjudication). XSTest's own published completions are not used: they are
kept as an independent check.

The answers are never copied into this repository: the loader reads them from a fetched copy (the git directory
of a clone or mirror, the zip, or a folder holding it or its extracted `New_data/`), named by an argument or by
$SAFEDRIFT_REFUSAL_REAL_ANSWERS; calibration/real_answers.json holds only the source, the split and a hash per
model, and the loader checks the data against them.

Fitting and evaluation are kept apart by model: patterns were written looking only at FIT_MODELS' answers; the
HELD_OUT models' answers are only scored.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from safedrift.core.errors import DataError

ENV_VAR = "SAFEDRIFT_REFUSAL_REAL_ANSWERS"
MANIFEST_PATH = Path(__file__).resolve().parent / "calibration" / "real_answers.json"
ARCHIVE = "New_data.zip"
MEMBER = "New_data/model_completions/xstest_newdata_v2_completions_{model}.csv"

# XSTest's three classes (the source's label -> ours).
FULL_COMPLIANCE, FULL_REFUSAL, PARTIAL_REFUSAL = "full_compliance", "full_refusal", "partial_refusal"
CLASSES = (FULL_COMPLIANCE, PARTIAL_REFUSAL, FULL_REFUSAL)
LABELS = {"1_full_compliance": FULL_COMPLIANCE, "2_full_refusal": FULL_REFUSAL,
          "3_partial_refusal": PARTIAL_REFUSAL}


@dataclass(frozen=True)
class LabelledAnswer:
    model: str
    id: str  # the source's prompt id (e.g. "OK-000021")
    type: str  # the source's prompt type (XSTest's types; "contrast_*" for the unsafe contrasts)
    completion: str
    label: str  # one of CLASSES: the people's final label


def manifest() -> dict:
    return json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))


def locate(source: str | os.PathLike | None = None) -> Path | None:
    """The fetched copy named by `source` or $SAFEDRIFT_REFUSAL_REAL_ANSWERS, or None when neither is set."""
    where = source if source is not None else os.environ.get(ENV_VAR)
    return Path(where) if where else None


def _archive_bytes(where: Path, commit: str) -> bytes | None:
    """The zip, read from a git directory (at the manifest's commit), a zip file or a folder holding it."""
    if where.is_file():
        return where.read_bytes()
    if (where / ARCHIVE).is_file():
        return (where / ARCHIVE).read_bytes()
    for git_dir in (where, where / ".git"):
        if (git_dir / "HEAD").is_file() and (git_dir / "objects").is_dir():
            done = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{commit}:{ARCHIVE}"],
                                  capture_output=True, check=False)
            if done.returncode != 0:
                raise DataError(f"{git_dir} has no {ARCHIVE} at commit {commit[:12]}; fetch "
                                f"{manifest()['source']['repository']} again or point {ENV_VAR} at the zip.")
            return done.stdout
    return None


def _read_member(where: Path, archive: bytes | None, model: str) -> str:
    name = MEMBER.format(model=model)
    if archive is not None:
        with zipfile.ZipFile(io.BytesIO(archive)) as z:
            return z.read(name).decode("utf-8")
    for base in (where, where.parent):
        if (base / name).is_file():
            return (base / name).read_text(encoding="utf-8")
    raise DataError(f"{where} holds neither {ARCHIVE} nor {name}; point {ENV_VAR} at the fetched repository, "
                    f"the zip or its extracted folder.")


def model_hash(rows: list[LabelledAnswer]) -> str:
    """sha256 over (id, label, sha256 of the answer) in order: what the manifest pins per model."""
    h = hashlib.sha256()
    for r in rows:
        h.update(f"{r.id}\t{r.label}\t{hashlib.sha256(r.completion.encode()).hexdigest()}\n".encode())
    return h.hexdigest()


def load_real_answers(source: str | os.PathLike | None = None) -> dict[str, list[LabelledAnswer]]:
    """Per model (the manifest's order): its labelled answers. Empty when no copy is named; a copy that differs
    from the manifest's hashes is an error."""
    where = locate(source)
    if where is None:
        return {}
    if not where.exists():
        raise DataError(f"{where} (from {ENV_VAR} or --real-answers) does not exist; fetch "
                        f"{manifest()['source']['repository']} and point at its git directory or {ARCHIVE}.")
    spec = manifest()
    archive = _archive_bytes(where, spec["source"]["commit"])
    out: dict[str, list[LabelledAnswer]] = {}
    for model, pinned in spec["models"].items():
        reader = csv.DictReader(io.StringIO(_read_member(where, archive, model)))
        rows = [LabelledAnswer(model, r["id"], r["type"], r["completion"] or "", LABELS[r["final_label"]])
                for r in reader]
        if model_hash(rows) != pinned["sha256"]:
            raise DataError(f"the labelled answers of {model} in {where} differ from the ones the detector was "
                            f"fitted and tested on (sha256 {pinned['sha256'][:12]}…); use commit "
                            f"{spec['source']['commit'][:12]} of {spec['source']['repository']}.")
        out[model] = rows
    return out


def split(answers: dict[str, list[LabelledAnswer]]) -> dict[str, list[LabelledAnswer]]:
    """{"fit": answers of the fit models, "held_out": the others}, as the manifest assigns models."""
    parts = manifest()["split"]
    return {part: [a for m in models for a in answers.get(m, [])] for part, models in parts.items()}


def class_table(rows: list[LabelledAnswer], classify) -> dict:
    """How `classify(text) -> class | None` agrees with the people's labels on `rows`.

    Per class: n (people), predicted, precision, recall; binary (refusal = full + partial): accuracy, refusal
    precision and recall; the confusion counts {people: {predicted: n}}; `empty`: answers the classifier left
    unclassified (an empty answer), counted apart and left out of the figures.
    """
    confusion = {want: dict.fromkeys(CLASSES, 0) for want in CLASSES}
    empty = 0
    for row in rows:
        got = classify(row.completion)
        if got is None:
            empty += 1
            continue
        confusion[row.label][got] += 1
    n = sum(sum(c.values()) for c in confusion.values())
    per_class = {}
    for k in CLASSES:
        people, predicted = sum(confusion[k].values()), sum(confusion[w][k] for w in CLASSES)
        per_class[k] = {"n": people, "predicted": predicted,
                        "precision": confusion[k][k] / predicted if predicted else None,
                        "recall": confusion[k][k] / people if people else None}
    refusing = (PARTIAL_REFUSAL, FULL_REFUSAL)
    tp = sum(confusion[w][g] for w in refusing for g in refusing)
    fn = sum(confusion[w][FULL_COMPLIANCE] for w in refusing)
    fp = sum(confusion[FULL_COMPLIANCE][g] for g in refusing)
    return {"n": n, "empty": empty, "classes": per_class, "confusion": confusion,
            "binary_accuracy": (n - fn - fp) / n if n else None,
            "refusal_precision": tp / (tp + fp) if tp + fp else None,
            "refusal_recall": tp / (tp + fn) if tp + fn else None}
