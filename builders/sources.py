"""Benign fine-tuning sources (Alpaca, Dolly, local files): load, validate, subset, safety-filter, split.

Also the loader registry: each dataset spec (safedrift.specs) has one loader here that turns its config
section into rows (with their split) plus what the card must say about where they came from.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path, PurePosixPath

from builders.config import BenignConfig, BenignSourceConfig
from safedrift.errors import ConfigError, DataError, short_reason
from safedrift.files import MAX_TEXT_CHARS, iter_jsonl_located, sha256_text
from safedrift.registry import LazyRegistry
from safedrift.specs import BENIGN


@dataclass
class LoadedDataset:
    """One dataset's English rows, ready to translate, and the facts its card states."""

    rows: list[dict]  # each with its "split"
    stats: dict  # counts for the sources manifest
    source_lines: list[str] = dataclass_field(default_factory=list)  # card: where the rows come from
    filter_lines: list[str] = dataclass_field(default_factory=list)  # card: what was removed, and why


# dataset spec key -> "module:function(section config) -> LoadedDataset"
LOADERS = LazyRegistry("dataset loader", {
    "benign": "builders.sources:load_benign_dataset",
    "sorry_bench": "builders.sorry_bench:load_sorry_dataset",
})

# format -> (instruction field, input field, output field) in the source's own schema.
BENIGN_FORMATS: dict[str, tuple[str, str, str]] = {
    "alpaca": ("instruction", "input", "output"),
    "dolly": ("instruction", "context", "response"),
}

LOCAL_SUFFIXES = (".json", ".jsonl", ".parquet")


def record_id(name: str, instruction: str, input: str, output: str) -> str:
    """Content-addressed id: the same text gets the same id in every build and every language."""
    return f"{name}-{sha256_text(instruction + chr(0x1F) + input + chr(0x1F) + output)[:16]}"


def load_benign(spec: BenignSourceConfig) -> list[dict]:
    """Load one benign source as {"id", "source", "instruction", "input", "output"} records.

    Identical duplicates are removed (the first is kept); any malformed record raises one DataError
    naming the file and line (JSONL) or row index (JSON, parquet, Hub).
    """
    rows = _local_rows(Path(spec.path)) if spec.path else _hub_rows(spec)
    records: list[dict] = []
    seen: set[str] = set()
    fmt: str | None = None if spec.format == "auto" else spec.format
    for where, row in rows:
        fmt = fmt or _detect_format(where, row)
        rec = _to_record(spec.name, fmt, where, row)
        if rec["id"] not in seen:
            seen.add(rec["id"])
            records.append(rec)
    if not records:
        source = spec.path or hub_ref(spec)[0]
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


def hub_ref(spec: BenignSourceConfig) -> tuple[str, str]:
    """(Hub id, revision) of a source without `path:`: its own, else the known source of that name."""
    known_source = BENIGN.sources.get(spec.name)
    hub_id = spec.hub_id or (known_source.hub_id if known_source else None)
    if hub_id is None:
        known = ", ".join(sorted(n for n, s in BENIGN.sources.items() if s.hub_id))
        raise ConfigError(
            f"benign source {spec.name!r} has neither `path:` nor `hub_id:`; set one, or use a known "
            f"Hub source ({known})."
        )
    revision = spec.revision or (known_source.revision if known_source else None) or "main"
    return hub_id, revision


def _hub_rows(spec: BenignSourceConfig) -> Iterator[tuple[str, dict]]:
    hub_id, revision = hub_ref(spec)
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


# --- the dataset loader ------------------------------------------------------------------------------


def assign_splits(ids: list[str], test_fraction: float, seed: int) -> dict[str, str]:
    """Seeded train/test split over ids, the same for every language."""
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    n_test = max(1, math.ceil(len(order) * test_fraction)) if len(order) > 1 else 0
    test = set(order[:n_test])
    return {i: ("test" if i in test else "train") for i in ids}


def where_from(path: str | None, hub_id: str | None, revision: str | None) -> str:
    """A source's location as a card shows it (a file name, or a Hub link with its revision)."""
    if path:
        # An absolute path would leak the builder's machine layout into the card; the file name is enough.
        shown = path if not PurePosixPath(path).is_absolute() else PurePosixPath(path).name
        return f"local file `{shown}`"
    return f"[`{hub_id}`](https://huggingface.co/datasets/{hub_id}) at revision `{revision or 'main'}`"


def source_line(src: BenignSourceConfig, n_rows: int) -> str:
    """The card's line about one benign source: where it is, its format and licence, rows loaded."""
    hub_id, revision = (None, None) if src.path else hub_ref(src)
    return (f"`{src.name}`: {where_from(src.path, hub_id, revision)}, {src.format} format, licence "
            f"`{BENIGN.source_license(src.name)}`; {n_rows} rows loaded (exact duplicates removed).")


def load_benign_dataset(cfg: BenignConfig) -> LoadedDataset:
    """Every benign source, de-duplicated, safety-filtered, subset and split."""
    benign: list[dict] = []
    seen: set[str] = set()
    per_source: dict[str, int] = {}
    for src in cfg.sources:
        records = load_benign(src)
        per_source[src.name] = len(records)
        for rec in records:
            if rec["id"] not in seen:
                seen.add(rec["id"])
                benign.append(rec)
    loaded = len(benign)
    dropped: list[dict] = []
    if cfg.safety_filter:
        benign, dropped = safety_filter(benign)
    kept = len(benign)
    benign = select_subset(benign, cfg.subset, cfg.seed)
    if not benign:
        raise ConfigError("the benign sources are empty after filtering; check benign.sources and the filter.")
    splits = assign_splits([r["id"] for r in benign], cfg.test_fraction, cfg.seed)
    for row in benign:
        row["split"] = splits[row["id"]]

    source_lines = [source_line(src, per_source.get(src.name, 0)) for src in cfg.sources]
    if cfg.safety_filter:
        filters = [f"Safety filter: removed **{len(dropped)}** of {loaded} rows whose response is a refusal or "
                   "a safety lecture (a phrase list in the style of the usual fine-tuning-data cleaning "
                   "lists); training on them would teach refusals and blur the effect under study."]
    else:
        filters = ["Safety filter: off (no rows removed)."]
    if cfg.subset is not None and len(benign) < kept:
        filters.append(f"Subset: a random subset of {len(benign)} rows (seed {cfg.seed}) of the {kept} "
                       f"remaining; removed **{kept - len(benign)}**.")
    else:
        filters.append(f"Subset: none; all {len(benign)} remaining rows kept.")
    filters.append(f"Split: {cfg.test_fraction:.0%} of ids held out as `test` (seed {cfg.seed}), the same ids "
                   "in every language.")
    stats = {
        "rows_per_source": per_source,
        "rows": len(benign),
        "safety_filter_dropped": len(dropped),
        "safety_filter_dropped_ids": [r["id"] for r in dropped],
    }
    return LoadedDataset(benign, stats, source_lines, filters)
