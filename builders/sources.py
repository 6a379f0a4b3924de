"""Benign fine-tuning sources (Alpaca, Dolly, local files): load, validate, subset, safety-filter, split.

Also the loader registry: each dataset spec (safedrift.core.specs) has one loader here that turns its config
section into rows (with their split) plus what the card must say about where they came from.
"""

from __future__ import annotations

import errno
import json
import math
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path, PurePosixPath

from builders.config import BenignConfig, BenignSourceConfig, HygieneConfig
from builders.hygiene import LANGUAGE_BOUND, clean_text, is_placeholder, language_bound_rule, model_limitation
from safedrift.core.errors import ConfigError, DataError, short_reason
from safedrift.core.files import MAX_TEXT_CHARS, sha256_text
from safedrift.core.locations import input_path, sample_data
from safedrift.core.registry import LazyRegistry
from safedrift.core.specs import BENIGN


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
    "xstest": "builders.xstest:load_xstest_dataset",
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


@dataclass
class SourceCounts:
    """What loading one benign source did (builders.hygiene): rows read, cleaned, cleared, dropped."""

    rows_read: int = 0
    control_rows: int = 0  # rows with control characters removed
    control_chars: int = 0
    invisible_rows: int = 0  # rows with invisible format characters removed
    invisible_chars: int = 0
    input_placeholders: int = 0  # placeholder inputs cleared
    placeholder_outputs: int = 0  # rows dropped: the output is a placeholder
    duplicates: int = 0  # rows dropped: the same instruction, input and output as an earlier row


def load_benign_counted(spec: BenignSourceConfig, hygiene: HygieneConfig | None = None,
                        seen: set[str] | None = None) -> tuple[list[dict], SourceCounts]:
    """Load one benign source as {"id", "source", "instruction", "input", "output"} records, with the hygiene
    rules applied (control and invisible characters removed, placeholders cleared or dropped, exact
    duplicates dropped, keeping the first) and counted.

    `seen`: content keys of rows already loaded from earlier sources (updated), so a row repeated across
    sources is a duplicate too. Any malformed record raises one DataError naming the file and line (JSONL) or
    row index (JSON, parquet, Hub).
    """
    hygiene = hygiene or HygieneConfig()
    seen = set() if seen is None else seen
    counts = SourceCounts()
    records: list[dict] = []
    rows = _local_rows(input_path(spec.path)) if spec.path else _hub_rows(spec)
    fmt: str | None = None if spec.format == "auto" else spec.format
    for where, row in rows:
        counts.rows_read += 1
        fmt = fmt or _detect_format(where, row)
        values, control, invisible = _clean_fields(fmt, where, row)
        counts.control_rows += bool(control)
        counts.control_chars += control
        counts.invisible_rows += bool(invisible)
        counts.invisible_chars += invisible
        if hygiene.placeholders:
            if values["input"] and is_placeholder(values["input"]):
                values["input"] = ""
                counts.input_placeholders += 1
            if is_placeholder(values["output"]):
                counts.placeholder_outputs += 1
                continue
        key = content_key(values["instruction"], values["input"], values["output"])
        if key in seen:
            counts.duplicates += 1
            continue
        seen.add(key)
        records.append({"id": record_id(spec.name, values["instruction"], values["input"], values["output"]),
                        "source": spec.name, **values})
    if not counts.rows_read:
        source = spec.path or hub_ref(spec)[0]
        raise DataError(f"benign source {spec.name!r} ({source}) has no records.")
    return records, counts


def content_key(instruction: str, input: str, output: str) -> str:
    """What makes two rows exact duplicates, whatever source they come from."""
    return sha256_text(instruction + chr(0x1F) + input + chr(0x1F) + output)


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


def refusal_rule(text: str) -> tuple[str, str] | None:
    """(rule, phrase) when `text` is a refusal, a safety lecture or a "a GPT model cannot do this" non-answer:
    rule `refusal_phrase` (a REFUSAL_PHRASES entry), `refusal_lecture` (a first-person refusal next to a
    lecture word) or `model_limitation` (builders.hygiene.MODEL_LIMITATION: the "... cannot be done by a
    GPT model" family of non-answers in Alpaca-style data); None for an ordinary answer."""
    low = text.lower().replace("\u2019", "'")
    for phrase in REFUSAL_PHRASES:
        if phrase in low:
            return "refusal_phrase", phrase
    word = _LECTURE_WORDS.search(low)
    refusal = _FIRST_PERSON_REFUSAL.search(low)
    if word and refusal:
        return "refusal_lecture", f"{refusal.group(0)} ... {word.group(0)}"
    limitation = model_limitation(low)
    if limitation:
        return "model_limitation", limitation
    return None


SAFETY_RULES = ("refusal_phrase", "refusal_lecture", "model_limitation")


def safety_filter(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """Split records into (kept, dropped): dropped rows have an output that is a refusal, a lecture or a
    "a GPT model cannot do this" non-answer (refusal_rule).

    Fine-tuning on such rows would teach refusals and blur the benign-data effect the study measures.
    """
    kept: list[dict] = []
    dropped: list[dict] = []
    for rec in records:
        rule = refusal_rule(rec["output"])
        if rule:
            dropped.append(rec)
        else:
            kept.append(rec)
    return kept, dropped


# --- reading -----------------------------------------------------------------------------------


# Magic bytes of formats that are not the JSON text a .jsonl/.json source must be.
_BINARY_MAGIC = {
    b"\x1f\x8b": "gzip-compressed",
    b"BZh": "bzip2-compressed",
    b"\xfd7zXZ\x00": "xz-compressed",
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
    b"PK\x03\x04": "a zip archive",
    b"PAR1": "a parquet file",
}


def read_source_text(path: Path, what: str = "source", setting: str = "path") -> str:
    """The text of a local JSON/JSONL source file, or one DataError naming the file and what is wrong: missing,
    a directory or other non-file, unreadable, compressed or binary, or not UTF-8 (with line, column and byte
    offset). A UTF-8 byte-order mark is dropped."""
    if path.is_dir():
        raise DataError(f"{what} path {path} is a directory, not a file; point `{setting}:` at the file inside it.")
    try:
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataError(f"{what} path {path} is a symbolic link loop (too many levels of links); point "
                            f"`{setting}:` at the real file.") from None
        if path.is_symlink():
            raise DataError(f"{what} path {path} is a symbolic link to {os.readlink(path)}, which does not "
                            f"exist; fix the link or `{setting}:` in the config.") from None
        raise DataError(f"{what} file not found: {path}; fix `{setting}:` in the config.") from None
    if not path.is_file():
        raise DataError(f"{what} path {path} is not a regular file (a pipe, socket or device); point `{setting}:` "
                        "at a file.")
    try:
        data = path.read_bytes()
    except PermissionError:
        raise DataError(f"cannot read {what} file {path}: permission denied; make it readable "
                        "(chmod u+r) or copy it somewhere readable.") from None
    except OSError as exc:
        raise DataError(f"cannot read {what} file {path} ({exc.strerror or short_reason(exc)}); check the "
                        "file and the disk it is on.") from None
    for magic, kind in _BINARY_MAGIC.items():
        if data.startswith(magic):
            fix = (f"decompress it first (e.g. `gunzip -k {path}`)" if kind.endswith("compressed")
                   else f"point `{setting}:` at a JSON Lines/JSON file, or give the file its real suffix")
            raise DataError(f"{path} is {kind}, not JSON text; {fix}.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DataError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column}, byte offset "
            f"{exc.start}); re-encode the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
        ) from None
    return text.removeprefix("\ufeff")


def iter_jsonl_text(path: Path, text: str, strict: bool = False) -> Iterator[tuple[str, dict]]:
    """("<file>:<line>", object) for every non-blank line of JSON Lines text; a bad line is a DataError
    naming it. Lines are split on "\n" only (a stray control character inside a line stays in it), and
    control characters inside strings are accepted here and removed by the hygiene rules, with a count (with
    `strict`, for sources without those rules, they are malformed JSON)."""
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, strict=strict)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{lineno}: malformed JSON ({exc.msg}).") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}.")
        yield f"{path}:{lineno}", obj


def read_jsonl(path: Path, what: str = "source") -> Iterator[tuple[str, dict]]:
    """A local JSON Lines file's objects with their "<file>:<line>", every failure one DataError."""
    yield from iter_jsonl_text(path, read_source_text(path, what))


def _local_rows(path: Path) -> Iterator[tuple[str, dict]]:
    suffix = path.suffix.lower()
    if suffix == ".gz":
        raise DataError(f"{path} is gzip-compressed; decompress it first (`gunzip -k {path}`) and point `path:` "
                        "at the result.")
    if suffix not in LOCAL_SUFFIXES and not path.is_dir():
        if not path.exists():
            raise DataError(f"benign source file not found: {path}; fix `path:` in the config.")
        raise DataError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(LOCAL_SUFFIXES)}.")
    if suffix == ".jsonl":
        yield from read_jsonl(path, "benign source")
    elif suffix == ".json":
        yield from _json_rows(path, read_source_text(path, "benign source"))
    else:
        if path.is_dir() or not path.is_file():
            read_source_text(path, "benign source")  # raises the directory / missing / not-a-file error
        yield from _parquet_rows(path)


def _json_rows(path: Path, text: str) -> Iterator[tuple[str, dict]]:
    try:
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            # Several top-level objects: a JSON Lines file saved under a .json name (common for Dolly).
            yield from iter_jsonl_text(path, text)
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


def _clean_fields(fmt: str, where: str, row: dict) -> tuple[dict[str, str], int, int]:
    """{"instruction", "input", "output"} of a source row, validated, stripped and without control and
    invisible characters; plus how many of each were removed."""
    instruction_key, input_key, output_key = BENIGN_FORMATS[fmt]
    values = {}
    control = invisible = 0
    for key, field in ((instruction_key, "instruction"), (input_key, "input"), (output_key, "output")):
        if key not in row:
            raise DataError(f"{where}: missing field {key!r} ({fmt} format needs {list(BENIGN_FORMATS[fmt])}).")
        value = row[key]
        if value is None and field == "input":
            value = ""  # parquet/Hub exports store an empty optional context as null
        if not isinstance(value, str):
            raise DataError(f"{where}: field {key!r} must be a string, got {type(value).__name__}.")
        value, n_control, n_invisible = clean_text(value)
        control += n_control
        invisible += n_invisible
        value = value.strip()
        if len(value) > MAX_TEXT_CHARS:
            raise DataError(
                f"{where}: field {key!r} is {len(value)} characters, over the {MAX_TEXT_CHARS} limit."
            )
        if not value and field != "input":
            raise DataError(f"{where}: field {key!r} is empty.")
        values[field] = value
    return values, control, invisible


# --- the dataset loader ------------------------------------------------------------------------------


def assign_splits(ids: list[str], test_fraction: float, seed: int) -> dict[str, str]:
    """Seeded train/test split over ids, the same for every language."""
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    n_test = max(1, math.ceil(len(order) * test_fraction)) if len(order) > 1 else 0
    test = set(order[:n_test])
    return {i: ("test" if i in test else "train") for i in ids}


def is_demo(path: str | None, demo: bool | None) -> bool:
    """A source holds demo data: `demo:` when set, else a local file inside the shipped data/sample folder (the
    demo data written for the toolkit, in the schemas of the public datasets)."""
    if demo is not None:
        return demo
    if not path:
        return False
    return input_path(path).resolve().is_relative_to(sample_data().resolve())


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
    demo = "demo rows written for the safedrift toolkit (not taken from a public dataset), " \
        if is_demo(src.path, src.demo) else ""
    return (f"`{src.name}`: {demo}{where_from(src.path, hub_id, revision)}, {src.format} format, licence "
            f"`{BENIGN.source_license(src.name)}`; {n_rows} rows loaded (exact duplicates and placeholder rows "
            "removed).")


# Card wording of each counted rule.
RULE_NAMES = {
    "refusal_phrase": "a refusal phrase",
    "refusal_lecture": "a first-person refusal next to a lecture word",
    "model_limitation": "“a language model cannot do this”",
    "grammar_spelling": "spelling/grammar of English text",
    "rhyme_verse": "rhymes and verse forms",
    "anagram_palindrome": "anagrams/palindromes",
    "pun_wordplay": "puns and wordplay",
    "letters_syllables": "letters/syllables",
    "translation": "translation or a named language",
}


def _by_rule(counts: dict[str, int]) -> str:
    return ", ".join(f"{RULE_NAMES[rule]} {n}" for rule, n in counts.items() if n) or "none"


def load_benign_dataset(cfg: BenignConfig) -> LoadedDataset:
    """Every benign source, cleaned and de-duplicated, safety-filtered, language-bound tasks counted (and
    dropped on request), subset and split; every rule's count goes to the stats and the card."""
    benign: list[dict] = []
    seen: set[str] = set()
    per_source: dict[str, int] = {}
    counts: dict[str, SourceCounts] = {}
    for src in cfg.sources:
        records, counts[src.name] = load_benign_counted(src, cfg.hygiene, seen)
        per_source[src.name] = len(records)
        benign.extend(records)
    loaded = len(benign)
    dropped: list[dict] = []
    if cfg.safety_filter:
        benign, dropped = safety_filter(benign)
    by_safety_rule = {rule: 0 for rule in SAFETY_RULES}
    for rule_phrase in map(refusal_rule, (rec["output"] for rec in dropped)):
        if rule_phrase:
            by_safety_rule[rule_phrase[0]] += 1
    bound = {rec["id"]: rule for rec in benign if (rule := language_bound_rule(rec["instruction"], rec["output"]))}
    by_bound_rule = {rule: 0 for rule in LANGUAGE_BOUND}
    for rule in bound.values():
        by_bound_rule[rule] += 1
    if cfg.hygiene.language_bound == "drop":
        benign = [rec for rec in benign if rec["id"] not in bound]
    kept = len(benign)
    benign = select_subset(benign, cfg.subset, cfg.seed)
    if not benign:
        raise ConfigError("the benign sources are empty after filtering; check benign.sources and the filter.")
    splits = assign_splits([r["id"] for r in benign], cfg.test_fraction, cfg.seed)
    for row in benign:
        row["split"] = splits[row["id"]]

    total = SourceCounts(**{k: sum(getattr(c, k) for c in counts.values()) for k in vars(SourceCounts())})
    source_lines = [source_line(src, per_source.get(src.name, 0)) for src in cfg.sources]
    placeholders = (f"cleared **{total.input_placeholders}** placeholder inputs (`<noinput>`, `N/A`) and removed "
                    f"**{total.placeholder_outputs}** rows whose response is a placeholder (`<nooutput>`, `N/A`)"
                    if cfg.hygiene.placeholders else "placeholder check off")
    filters = [
        f"Source hygiene: removed control characters (NUL, ANSI escapes, other C0/C1 controls) from "
        f"**{total.control_rows}** rows ({total.control_chars} characters) and invisible format characters "
        f"(zero-width, bidi overrides) from **{total.invisible_rows}** rows ({total.invisible_chars} "
        f"characters); {placeholders}; removed **{total.duplicates}** exact duplicates (same instruction, input "
        f"and response) of {total.rows_read} rows read."
    ]
    if cfg.safety_filter:
        filters.append(
            f"Safety filter: removed **{len(dropped)}** of {loaded} rows whose response is a refusal, a safety "
            "lecture or says a language model cannot do the task (phrase lists in the style of the usual "
            f"fine-tuning-data cleaning lists; by rule: {_by_rule(by_safety_rule)}); training on them would "
            "teach refusals and blur the effect under study.")
    else:
        filters.append("Safety filter: off (no rows removed).")
    action = ("removed" if cfg.hygiene.language_bound == "drop"
              else "kept (`benign.hygiene.language_bound: keep`)")
    filters.append(
        f"Language-bound tasks (the answer depends on English itself and stops making sense in translation): "
        f"**{len(bound)}** rows ({_by_rule(by_bound_rule)}); {action}.")
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
        "demo": all(is_demo(src.path, src.demo) for src in cfg.sources),
        "safety_filter_dropped": len(dropped),
        "safety_filter_dropped_ids": [r["id"] for r in dropped],
        "safety_filter_by_rule": by_safety_rule,
        "hygiene": {
            "rows_read": total.rows_read,
            "control_chars": {"rows": total.control_rows, "chars": total.control_chars},
            "invisible_chars": {"rows": total.invisible_rows, "chars": total.invisible_chars},
            "input_placeholders_cleared": total.input_placeholders,
            "placeholder_outputs_dropped": total.placeholder_outputs,
            "duplicates_dropped": total.duplicates,
            "per_source": {name: vars(c) for name, c in counts.items()},
            "language_bound": {"action": cfg.hygiene.language_bound, "rows": len(bound),
                               "by_rule": by_bound_rule, "ids": sorted(bound)},
        },
    }
    return LoadedDataset(benign, stats, source_lines, filters)
