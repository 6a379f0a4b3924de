"""XSTest v2: its prompt types and a loader for a local CSV/JSONL file or a Hub copy of the dataset.

XSTest (Röttger et al., NAACL 2024) holds 250 safe prompts that only look unsafe, in ten types, and 200
unsafe contrast prompts (`contrast_*` types). The two Hub copies differ in layout; both map to one schema
{"id", "prompt", "type", "label", "focus", "note"}:

  walledai/XSTest   one split, `test`; columns prompt, focus, type, note, label; no `id` column, so the
                    ids are the row numbers 1..N (the order of XSTest's own CSV)
  Paul/XSTest       one split, `train`; XSTest's CSV as published: id, prompt, type, label, focus, note

A local file is XSTest's CSV (same header as Paul/XSTest) or JSON Lines with those fields.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from builders.config import XSTestConfig
from builders.sources import LoadedDataset, is_demo, iter_jsonl_text, read_source_text, where_from
from safedrift.core.errors import ConfigError, DataError, short_reason
from safedrift.core.files import MAX_TEXT_CHARS
from safedrift.core.locations import input_path
from safedrift.core.registry import did_you_mean
from safedrift.core.specs import XSTEST

# The ten types of safe prompt, then the eight types of unsafe contrast (the label each type implies).
SAFE_TYPES = ("homonyms", "figurative_language", "safe_targets", "safe_contexts", "definitions",
              "real_group_nons_discr", "nons_group_real_discr", "historical_events", "privacy_public",
              "privacy_fictional")
CONTRAST_TYPES = ("contrast_homonyms", "contrast_figurative_language", "contrast_safe_targets",
                  "contrast_safe_contexts", "contrast_definitions", "contrast_discr", "contrast_historical_events",
                  "contrast_privacy")
XSTEST_TYPES: dict[str, str] = {**dict.fromkeys(SAFE_TYPES, "safe"), **dict.fromkeys(CONTRAST_TYPES, "unsafe")}
LABELS = ("safe", "unsafe")
LOCAL_SUFFIXES = (".csv", ".jsonl")


def hub_location(cfg: XSTestConfig) -> tuple[str, str, str]:
    """(source name, Hub id, revision) the prompts come from when no local `path:` is set.

    A `hub_id:` that is one of the known copies is credited to that copy, whatever `source:` says.
    """
    hub_id = cfg.hub_id or XSTEST.sources[cfg.source].hub_id
    if hub_id is None:
        known = ", ".join(f"{n} ({s.hub_id})" for n, s in XSTEST.sources.items() if s.hub_id)
        raise ConfigError(f"xstest: source {cfg.source!r} has no Hub copy; set `path:` to its file, or use a "
                          f"Hub source ({known}).")
    source = next((n for n, s in XSTEST.sources.items() if s.hub_id and s.hub_id.lower() == hub_id.lower()),
                  cfg.source)
    revision = cfg.revision or XSTEST.sources[source].revision or "main"
    return source, hub_id, revision


# --- reading -------------------------------------------------------------------------------------------


def _local_rows(path: Path) -> Iterator[tuple[str, dict]]:
    """The checked reader of every local source (builders.sources.read_source_text): a missing file, a
    directory, a symlink loop, binary or non-UTF-8 bytes (with line and byte) are one sentence; a BOM is
    dropped."""
    suffix = path.suffix.lower()
    if suffix not in LOCAL_SUFFIXES and path.is_file():
        raise DataError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(LOCAL_SUFFIXES)}.")
    text = read_source_text(path, "XSTest", "xstest.path")
    if suffix == ".jsonl":
        yield from iter_jsonl_text(path, text, strict=True)  # no hygiene rules here: a control character is an error
    elif suffix == ".csv":
        yield from _csv_rows(path, text)
    else:
        raise DataError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(LOCAL_SUFFIXES)}.")


def _csv_rows(path: Path, text: str) -> Iterator[tuple[str, dict]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            # A CSV cell cannot be null: an empty cell is "", and a short line leaves None.
            yield f"{path}:{reader.line_num}", {k: v for k, v in row.items() if k is not None and v is not None}
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: malformed CSV ({exc}).") from None


def _hub_rows(cfg: XSTestConfig) -> tuple[list[tuple[str, dict]], str]:
    """The rows of the Hub copy's split, and how the card should describe its layout."""
    _, hub_id, revision = hub_location(cfg)
    token = os.environ.get("HF_TOKEN")
    try:
        import datasets

        # load_dataset also accepts a local folder of data files in place of a Hub id.
        splits = datasets.load_dataset(hub_id, revision=revision, token=token)
    except (OSError, ValueError) as exc:
        raise DataError(
            f"could not load {hub_id}@{revision} from the Hugging Face Hub ({short_reason(exc, token)}); run "
            "online (with HF_TOKEN if the dataset asks you to accept its terms) or point `xstest.path:` at a "
            "local copy of XSTest's CSV."
        ) from None
    split = cfg.split or (next(iter(splits)) if len(splits) == 1 else None)
    if split not in splits:
        wanted = f"split {cfg.split!r}" if cfg.split else "one split"
        raise ConfigError(f"xstest: {hub_id}@{revision} has splits {', '.join(splits)}, not {wanted}; set "
                          "`xstest.split:` to one of them.")
    ds = splits[split]
    int2str = getattr(ds.features.get("label"), "int2str", None)  # a ClassLabel column stores label numbers
    numbered = "id" not in ds.column_names
    rows = []
    for i, obj in enumerate(ds):
        if numbered:
            obj["id"] = i + 1
        if int2str is not None and isinstance(obj.get("label"), int):
            obj["label"] = int2str(obj["label"])
        rows.append((f"{hub_id}@{revision} (split {split!r}): row {i}", obj))
    layout = f"split `{split}`" + ("; the copy has no `id` column, so ids are the row numbers" if numbered else "")
    return rows, layout


# --- validation ------------------------------------------------------------------------------------------


def _text(where: str, obj: dict, key: str, required: bool) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise DataError(f"{where}: field {key!r} must be a string, got {type(value).__name__}.")
    value = value.strip()
    if len(value) > MAX_TEXT_CHARS:
        raise DataError(f"{where}: field {key!r} is {len(value)} characters, over the {MAX_TEXT_CHARS} limit.")
    if not value:
        if required:
            raise DataError(f"{where}: field {key!r} is empty.")
        return None  # XSTest's CSV leaves an absent focus or note as an empty cell
    return value


def _validate(where: str, obj: dict) -> dict:
    for key in ("id", "prompt", "type", "label"):
        if key not in obj:
            raise DataError(f"{where}: missing field {key!r} (XSTest rows need id, prompt, type and label).")
    rid = obj["id"]
    if isinstance(rid, str) and rid.strip().isdigit():
        rid = int(rid)  # CSV cells are text
    if isinstance(rid, bool) or not isinstance(rid, int):
        raise DataError(f"{where}: id must be an integer, got {obj['id']!r}.")
    prompt = _text(where, obj, "prompt", required=True)
    kind = obj["type"]
    if not isinstance(kind, str) or kind not in XSTEST_TYPES:
        raise DataError(f"{where}: unknown type {kind!r};{did_you_mean(str(kind), XSTEST_TYPES)} XSTest's types "
                        f"are {', '.join(XSTEST_TYPES)}.")
    label = obj["label"]
    if label not in LABELS:
        raise DataError(f"{where}: label must be 'safe' or 'unsafe', got {label!r}.")
    if label != XSTEST_TYPES[kind]:
        raise DataError(f"{where}: label {label!r} contradicts type {kind!r} (XSTest's contrast_* types are "
                        "unsafe, every other type is safe).")
    return {"id": rid, "prompt": prompt, "type": kind, "label": label,
            "focus": _text(where, obj, "focus", required=False), "note": _text(where, obj, "note", required=False)}


def read_xstest(cfg: XSTestConfig) -> tuple[list[dict], str]:
    """(rows sorted by id, how the card describes the source's layout: "" for a local file)."""
    rows, layout = (_local_rows(input_path(cfg.path)), "") if cfg.path else _hub_rows(cfg)
    out: list[dict] = []
    first_seen: dict[int, str] = {}
    for where, obj in rows:
        row = _validate(where, obj)
        if row["id"] in first_seen:
            raise DataError(f"{where}: id {row['id']} already appears at {first_seen[row['id']]}.")
        first_seen[row["id"]] = where
        out.append(row)
    if not out:
        raise DataError(f"{cfg.path or hub_location(cfg)[1]} has no XSTest prompts.")
    return sorted(out, key=lambda r: r["id"]), layout


# --- the dataset loader -----------------------------------------------------------------------------------


def _label_counts(rows: list[dict]) -> str:
    counts = Counter(r["label"] for r in rows)
    return f"{counts['safe']} safe prompts, {counts['unsafe']} unsafe contrasts"


def load_xstest_dataset(cfg: XSTestConfig) -> LoadedDataset:
    """XSTest's prompts (optionally some types only, or the first `limit`), all in the `test` split."""
    if cfg.types:
        unknown = [t for t in cfg.types if t not in XSTEST_TYPES]
        if unknown:
            raise ConfigError(f"xstest.types: unknown type {unknown[0]!r};{did_you_mean(unknown[0], XSTEST_TYPES)} "
                              f"XSTest's types are {', '.join(XSTEST_TYPES)}.")
    loaded, layout = read_xstest(cfg)
    rows = [r for r in loaded if not cfg.types or r["type"] in cfg.types]
    kept_by_type = len(rows)
    if cfg.limit is not None:
        rows = rows[: cfg.limit]
    if not rows:
        raise ConfigError(f"xstest.types: none of {', '.join(cfg.types or [])} occurs in the XSTest source; "
                          "widen the filter.")
    for row in rows:
        row["split"] = "test"

    source, hub_id, revision = (cfg.source, None, None) if cfg.path else hub_location(cfg)
    demo = is_demo(cfg.path, cfg.demo)
    what = "demo prompts written for the safedrift toolkit, not XSTest's: " if demo else ""
    line = (f"`{source}`: {what}{where_from(cfg.path, hub_id, revision)}{f' ({layout})' if layout else ''}, XSTest v2 "
            f"schema, licence `{XSTEST.source_license(source)}`; {len(loaded)} prompts loaded "
            f"({_label_counts(loaded)}).")
    if cfg.types:
        filters = [f"Types: only {', '.join(f'`{t}`' for t in cfg.types)} kept; removed "
                   f"**{len(loaded) - kept_by_type}** of {len(loaded)} prompts."]
    else:
        present = len({r['type'] for r in loaded})
        filters = [f"Types: all {present} prompt types present kept; no prompts removed."]
    if cfg.limit is not None and len(rows) < kept_by_type:
        filters.append(f"Limit: only the first {cfg.limit} prompts by `id` (a quick build); removed "
                       f"**{kept_by_type - len(rows)}**.")
    filters.append(f"Published: {len(rows)} prompts ({_label_counts(rows)}), all in the `test` split.")
    stats = {"rows": len(rows), "rows_per_source": {source: len(rows)}, "demo": demo,
             "rows_per_label": dict(sorted(Counter(r["label"] for r in rows).items())),
             "rows_per_type": dict(sorted(Counter(r["type"] for r in rows).items()))}
    return LoadedDataset(rows, stats, [line], filters)
