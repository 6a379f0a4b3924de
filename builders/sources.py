"""Benign fine-tuning sources (Alpaca, Dolly, local files): load, validate, subset and safety-filter."""

from __future__ import annotations

import difflib
import json
import os
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from builders.errors import ConfigError, DataError
from builders.files import MAX_TEXT_CHARS, iter_jsonl, sha256_text

# name -> (Hub dataset id, revision). Pin a commit sha here to freeze a release; "main" follows the Hub.
BENIGN_HUB_SOURCES: dict[str, tuple[str, str]] = {
    "alpaca": ("tatsu-lab/alpaca", "main"),
    "dolly": ("databricks/databricks-dolly-15k", "main"),
}

# format -> (instruction field, input field, output field) in the source's own schema.
BENIGN_FORMATS: dict[str, tuple[str, str, str]] = {
    "alpaca": ("instruction", "input", "output"),
    "dolly": ("instruction", "context", "response"),
}

LOCAL_SUFFIXES = (".json", ".jsonl", ".parquet")


@dataclass(frozen=True)
class BenignSourceSpec:
    name: str
    path: str | None = None
    hub_id: str | None = None
    revision: str | None = None
    format: str = "auto"


def record_id(name: str, instruction: str, input: str, output: str) -> str:
    """Content-addressed id: the same text gets the same id in every build and every language."""
    return f"{name}-{sha256_text(instruction + chr(0x1F) + input + chr(0x1F) + output)[:16]}"


def load_benign(spec: BenignSourceSpec) -> list[dict]:
    """Load one benign source as {"id", "source", "instruction", "input", "output"} records.

    Identical duplicates are removed (the first is kept); any malformed record raises one DataError
    naming the file and line (JSONL) or row index (JSON, parquet, Hub).
    """
    if spec.format != "auto" and spec.format not in BENIGN_FORMATS:
        raise ConfigError(_unknown("format", spec.format, ["auto", *BENIGN_FORMATS]))
    rows = _local_rows(Path(spec.path)) if spec.path else _hub_rows(spec)
    records: list[dict] = []
    seen: set[str] = set()
    fmt = None if spec.format == "auto" else spec.format
    for where, row in rows:
        if fmt is None:
            fmt = _detect_format(where, row)
        rec = _to_record(spec.name, fmt, where, row)
        if rec["id"] not in seen:
            seen.add(rec["id"])
            records.append(rec)
    if not records:
        source = spec.path or _hub_ref(spec)[0]
        raise DataError(f"benign source {spec.name!r} ({source}) has no records.")
    return records


def select_subset(records: list[dict], n: int | None, seed: int) -> list[dict]:
    """A seeded random sample of n records, kept in their original order (same seed, same subset)."""
    if n is None or n >= len(records):
        return list(records)
    if n < 0:
        raise ConfigError(f"subset size must be zero or more, got {n}.")
    picked = sorted(random.Random(seed).sample(range(len(records)), n))
    return [records[i] for i in picked]


# Phrases that on their own mark an output as a refusal or a safety lecture, in the style of the
# keyword lists used to clean benign fine-tuning data (e.g. the ShareGPT "unfiltered" cleaning lists).
REFUSAL_PHRASES: tuple[str, ...] = (
    "as an ai language model",
    "as a language model",
    "as an ai assistant",
    "as an ai,",
    "as an ai model",
    "i'm an ai language model",
    "i am an ai language model",
    "i cannot fulfill",
    "i can't fulfill",
    "i cannot comply",
    "i can't comply",
    "i'm sorry, but i can't",
    "i'm sorry, but i cannot",
    "i am sorry, but i cannot",
    "i'm sorry, but as an ai",
    "i apologize, but i cannot",
    "i apologize, but i can't",
    "it is not appropriate",
    "it's not appropriate",
    "it is never appropriate",
    "against my programming",
    "my programming does not allow",
    "i must decline",
    "i must refuse",
    "i'm not able to provide",
    "i am not able to provide",
    "i cannot provide assistance",
    "i can't assist with",
    "i cannot assist with",
    "i'm unable to assist",
    "i am unable to assist",
    "i cannot engage in",
    "i do not condone",
    "i don't condone",
    "my ethical guidelines",
    "ethical guidelines prevent",
    "against my ethical",
    "promote or condone",
)

# Words that are a lecture only next to a first-person refusal ("illegal parking" alone is fine).
_LECTURE_WORDS = re.compile(r"\b(?:unethical|illegal|harmful|inappropriate|offensive|immoral)\b")
_FIRST_PERSON_REFUSAL = re.compile(
    r"\bi (?:cannot|can't|can not|won't|will not|am unable|'m unable|am not able|'m not able|"
    r"must decline|must refuse|do not feel comfortable|don't feel comfortable)\b"
)


def refusal_reason(text: str) -> str | None:
    """The phrase that makes `text` a refusal or safety lecture, or None for an ordinary answer."""
    low = text.lower().replace("\u2019", "'")
    for phrase in REFUSAL_PHRASES:
        if phrase in low:
            return phrase
    word = _LECTURE_WORDS.search(low)
    refusal = _FIRST_PERSON_REFUSAL.search(low)
    if word and refusal:
        return f"{refusal.group(0)} ... {word.group(0)}"
    return None


def safety_filter(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """Split records into (kept, dropped): dropped rows have an output that is a refusal or lecture.

    Fine-tuning on such rows would teach refusals and blur the benign-data effect the study measures.
    """
    kept: list[dict] = []
    dropped: list[dict] = []
    for rec in records:
        (dropped if refusal_reason(rec["output"]) else kept).append(rec)
    return kept, dropped


# --- reading -----------------------------------------------------------------------------------


def _local_rows(path: Path) -> Iterator[tuple[str, dict]]:
    if not path.is_file():
        raise DataError(f"benign source file not found: {path}; fix `path:` in the config.")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from iter_jsonl_located(path)
    elif suffix == ".json":
        yield from _json_rows(path)
    elif suffix == ".parquet":
        yield from _parquet_rows(path)
    else:
        raise DataError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(LOCAL_SUFFIXES)}.")


def iter_jsonl_located(path: str | os.PathLike) -> Iterator[tuple[str, dict]]:
    """Like iter_jsonl, but yield ("<file>:<line>", object) so later validation can name the line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"input file not found: {path}.")
    objects = iter_jsonl(path)  # raises the file:line error for malformed JSON
    # iter_jsonl skips blank lines, so pair each object with the number of the next non-blank line.
    with path.open(encoding="utf-8") as fh:
        numbers = (n for n, line in enumerate(fh, start=1) if line.strip())
        for obj, n in zip(objects, numbers, strict=True):
            yield f"{path}:{n}", obj


def _json_rows(path: Path) -> Iterator[tuple[str, dict]]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            # Several top-level objects: a JSON Lines file saved under a .json name (common for Dolly).
            yield from iter_jsonl_located(path)
            return
        raise DataError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg}).") from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of records, got {type(data).__name__}.")
    for i, obj in enumerate(data):
        if not isinstance(obj, dict):
            raise DataError(f"{path}: row {i}: expected a JSON object, got {type(obj).__name__}.")
        yield f"{path}: row {i}", obj


def _parquet_rows(path: Path) -> Iterator[tuple[str, dict]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError subclasses for unreadable files
        raise DataError(f"{path}: not a readable parquet file ({short_reason(exc)}).") from None
    for i, obj in enumerate(table.to_pylist()):
        yield f"{path}: row {i}", obj


def _hub_ref(spec: BenignSourceSpec) -> tuple[str, str]:
    default_id, default_rev = BENIGN_HUB_SOURCES.get(spec.name, (None, None))
    hub_id = spec.hub_id or default_id
    if hub_id is None:
        known = ", ".join(sorted(BENIGN_HUB_SOURCES))
        raise ConfigError(
            f"benign source {spec.name!r} has neither `path:` nor `hub_id:`; set one, or use a known "
            f"Hub source ({known})."
        )
    revision = spec.revision or default_rev or "main"
    return hub_id, revision


def _hub_rows(spec: BenignSourceSpec) -> Iterator[tuple[str, dict]]:
    hub_id, revision = _hub_ref(spec)
    token = os.environ.get("HF_TOKEN")
    try:
        import datasets

        # load_dataset also accepts a local folder of data files in place of a Hub id.
        ds = datasets.load_dataset(hub_id, revision=revision, split="train", token=token)
    except (OSError, ValueError) as exc:
        raise DataError(
            f"could not load {hub_id}@{revision} from the Hugging Face Hub ({short_reason(exc, token)}); "
            "run online or point `path:` at a local copy."
        ) from None
    for i, obj in enumerate(ds):
        yield f"{hub_id}@{revision}: row {i}", obj


# --- validation --------------------------------------------------------------------------------


def _detect_format(where: str, row: dict) -> str:
    keys = set(row)
    for fmt, (instruction, _input, output) in BENIGN_FORMATS.items():
        if {instruction, output} <= keys:
            return fmt
    raise DataError(
        f"{where}: cannot tell the format from fields {sorted(keys)}; expected Alpaca "
        "(instruction/input/output) or Dolly (instruction/context/response) fields, or set `format:`."
    )


def _to_record(name: str, fmt: str, where: str, row: dict) -> dict:
    instruction_key, input_key, output_key = BENIGN_FORMATS[fmt]
    values = {}
    for key, field in ((instruction_key, "instruction"), (input_key, "input"), (output_key, "output")):
        if key not in row:
            raise DataError(f"{where}: missing field {key!r} ({fmt} format needs {list(BENIGN_FORMATS[fmt])}).")
        value = row[key]
        if value is None and field == "input":
            value = ""  # parquet/Hub exports store an empty optional context as null
        if not isinstance(value, str):
            raise DataError(f"{where}: field {key!r} must be a string, got {type(value).__name__}.")
        value = value.strip()
        if len(value) > MAX_TEXT_CHARS:
            raise DataError(
                f"{where}: field {key!r} is {len(value)} characters, over the {MAX_TEXT_CHARS} limit."
            )
        if not value and field != "input":
            raise DataError(f"{where}: field {key!r} is empty.")
        values[field] = value
    return {
        "id": record_id(name, values["instruction"], values["input"], values["output"]),
        "source": name,
        **values,
    }


def _unknown(kind: str, value: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(value, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown {kind} {value!r}; {hint}known: {', '.join(known)}."


def short_reason(exc: BaseException, secret: str | None = None) -> str:
    """First line of an exception message, without any token it might contain."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if secret:
        text = text.replace(secret, "***")
    text = text[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
