"""The release gate: great-expectations suites over the staged Hub-layout folders; a failing suite blocks.

Per dataset (a safedrift.core.specs.DatasetSpec) GE validates a few kinds of batch, each a pandas
frame, so every check is a stock GE expectation and shows up in the data docs:

  files       one row per parquet file (language, split): the config's languages, valid split names
  schema      one row per (file, column) as "name: arrow type": exactly the spec's columns and types
  rows        the published rows of one language: columns in order, required fields not null, ids unique,
              `language` is the config language, language ID agrees, QA columns in range
  ids         keys "split/id" of English and of the language side by side: identical ids and splits
  counts      (a spec with a count_column, e.g. SORRY-Bench's category) "value=count": the same as English

The data docs are made deterministic (fixed run id and time, GE's random element ids and time stamps
replaced) so an unchanged release rebuilds byte-identical.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from safedrift.core.errors import DataError
from safedrift.core.files import sha256_file, stable_hash
from safedrift.core.hub import Shard, release_shards
from safedrift.core.languages import SOURCE_LANGUAGE
from safedrift.core.log import log
from safedrift.core.specs import QA_FIELDS, REQUIRED_QA, SPECS, DatasetSpec
from validation.config import QAStageConfig

# COMET DA/QE models score about 0..1; older ones go somewhat below 0 and above 1, never this far.
COMET_RANGE = (-2.0, 2.0)
RANGES = {"bt_chrf": (0.0, 100.0), "bt_bleu": (0.0, 100.0), "lang_id_score": (0.0, 1.0), "comet": COMET_RANGE}


def type_name(t) -> str:
    """Arrow type as text, without list item names (parquet renames `item` to `element` on write)."""
    import pyarrow as pa

    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{type_name(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ", ".join(f"{f.name}: {type_name(f.type)}" for f in t) + ">"
    return str(t)


@dataclass(frozen=True)
class Failure:
    dataset: str  # published name, e.g. SORRY-Bench-Multilingual
    language: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.dataset}/{self.language}" if self.language else self.dataset
        return f"{where}: {self.message}"


@dataclass
class GateResult:
    success: bool
    failures: list[Failure] = field(default_factory=list)
    expectations: int = 0  # how many expectations were evaluated
    docs: dict[str, Path] = field(default_factory=dict)  # dataset -> data docs index.html

    def lines(self) -> list[str]:
        return [str(f) for f in self.failures]


class GateError(DataError):
    """The release gate failed; the message lists every failing expectation, one per line."""

    def __init__(self, result: GateResult, docs_hint: str = ""):
        self.result = result
        n = len(result.failures)
        head = (f"the release gate failed ({n} failing expectation{'s' if n != 1 else ''}); nothing was "
                f"published. Fix these rows or the QA stage, then rerun{docs_hint}:")
        super().__init__("\n".join([head, *(f"  - {line}" for line in result.lines())]))


# ---------------------------------------------------------------------------------------------- reading


def _read_rows(shards: list[Shard]):
    import pandas as pd
    import pyarrow.parquet as pq

    frames, splits = [], []
    for shard in shards:
        table = pq.read_table(shard.path)
        frames.append(table.to_pandas())
        splits.extend([shard.split] * table.num_rows)
    nonempty = [f for f in frames if len(f)] or frames[:1]
    df = pd.concat(nonempty, ignore_index=True) if len(nonempty) > 1 else nonempty[0]
    return df, splits


def _schema_frame(shards: list[Shard]):
    import pandas as pd
    import pyarrow.parquet as pq

    rows = []
    for shard in shards:
        for f in pq.read_schema(shard.path):
            rows.append({"file": shard.path.name, "field": f"{f.name}: {type_name(f.type)}"})
    return pd.DataFrame(rows, columns=["file", "field"])


def _keys(df, spec: DatasetSpec, splits: list[str]) -> list[str] | None:
    col = spec.id_column
    if col not in df.columns:
        return None
    return [f"{s}/{v}" for s, v in zip(splits, df[col].tolist(), strict=True)]


def _ids_frame(en_keys: list[str], keys: list[str]):
    """Every key of either language, one row each, null where that language lacks it ("split/id").

    A pair check instead of a value set: GE re-serialises a 10,000-item value set on every access.
    """
    import pandas as pd

    en, mine = set(en_keys), set(keys)
    union = sorted(en | mine)
    return pd.DataFrame({"key_en": [k if k in en else None for k in union],
                         "key": [k if k in mine else None for k in union]}, dtype=object)


def _value_counts(df, column: str):
    """One row per value of `column`: "<value>=<rows>"; equal sets mean equal counts per value."""
    import pandas as pd

    counts = df[column].astype(str).value_counts()
    return pd.DataFrame({"value_count": sorted(f"{c}={n}" for c, n in counts.items())})


# ----------------------------------------------------------------------------------------------- suites


def _gxe():
    import great_expectations.expectations as gxe

    return gxe


def _suite_files(spec: DatasetSpec, languages: list[str]) -> list:
    gxe = _gxe()
    return [
        gxe.ExpectColumnDistinctValuesToEqualSet(column="language", value_set=sorted(languages)),
        gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(spec.splits)),
    ]


def _suite_schema(spec: DatasetSpec, n_files: int) -> list:
    gxe = _gxe()
    fields = [f"{f.name}: {type_name(f.type)}" for f in spec.schema]
    return [
        gxe.ExpectColumnValuesToBeInSet(column="field", value_set=fields),
        gxe.ExpectColumnDistinctValuesToEqualSet(column="field", value_set=fields),
        # every file has every column (the set checks above see the files together)
        gxe.ExpectTableRowCountToEqual(value=n_files * len(fields)),
    ]


def _suite_rows(spec: DatasetSpec, lang: str, cfg: QAStageConfig) -> list:
    gxe = _gxe()
    qa = {f.name for f in QA_FIELDS}
    names = [f.name for f in spec.schema]
    exps = [gxe.ExpectTableColumnsToMatchOrderedList(column_list=names)]
    for name in names:
        if (name not in qa and name not in spec.nullable) or name in REQUIRED_QA:
            exps.append(gxe.ExpectColumnValuesToNotBeNull(column=name))
    exps.append(gxe.ExpectColumnValuesToBeUnique(column=spec.id_column))
    exps.append(gxe.ExpectColumnValuesToBeInSet(column="language", value_set=[lang]))
    if lang != SOURCE_LANGUAGE:
        # The source text is not ours to translate; language ID gates the translations only.
        exps.append(gxe.ExpectColumnValuesToBeInSet(column="lang_id", value_set=[lang],
                                                    mostly=cfg.qa.gate.lang_id_agreement))
    for name, (lo, hi) in RANGES.items():
        if name in names:
            exps.append(gxe.ExpectColumnValuesToBeBetween(column=name, min_value=lo, max_value=hi))
    return exps


def _suite_ids() -> list:
    return [_gxe().ExpectColumnPairValuesToBeEqual(column_A="key_en", column_B="key")]


def _suite_counts(en_counts: list[str]) -> list:
    return [_gxe().ExpectColumnDistinctValuesToEqualSet(column="value_count", value_set=en_counts)]


# ------------------------------------------------------------------------------------------- messages


def _short(values, limit: int = 5) -> str:
    values = list(values)
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _describe(res, kind: str, columns: set[str], spec: DatasetSpec, lang: str | None,
              schema_reported: bool = False) -> str | None:
    """One readable sentence for a failed expectation; None when another failure already says it."""
    cfg = res.expectation_config
    kw, r = cfg.kwargs, dict(res.result or {})
    col = kw.get("column")
    # GE reports an exception either flat or per metric ({metric id: {"raised_exception": ...}}).
    info = res.exception_info or {}
    raised = [info] if info.get("raised_exception") else [
        v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
    if raised or (col is not None and col not in columns):
        if kind == "rows" and col is not None and col not in columns:
            return None  # the missing column is reported by the column-list expectation
        detail = raised[0].get("exception_message") if raised else "column not found"
        return f"column `{col}`: could not be checked ({detail})"
    etype = cfg.type
    unexpected = [c["value"] for c in r.get("partial_unexpected_counts", [])] or r.get("partial_unexpected_list", [])
    missing = list(r.get("partial_missing_list") or [])  # distinct-set expectations: expected, absent
    if kind == "files":
        if col == "language":
            parts = ([f"no data for {_short(missing)}"] if missing else []) + (
                [f"data for languages not in the config: {_short(unexpected)}"] if unexpected else [])
            return "data/<language>/ folders differ from the config languages (" + "; ".join(parts) + ")"
        return f"split `{_short(unexpected)}` is not one of {', '.join(kw['value_set'])}"
    if kind == "schema":
        if etype == "expect_column_values_to_be_in_set":
            expected = {v.split(": ", 1)[0]: v for v in kw["value_set"]}
            parts = []
            for v in unexpected:
                name = v.split(": ", 1)[0]
                parts.append(f"`{v}` (expected `{expected[name]}`)" if name in expected else f"unexpected `{v}`")
            return f"columns differ from the dataset spec: {'; '.join(parts)}"
        if etype == "expect_column_distinct_values_to_equal_set":
            present = {v.split(": ", 1)[0] for v in unexpected}
            absent = [m for m in missing if m.split(": ", 1)[0] not in present]
            if not absent:
                return None  # only wrong types, reported with the expected type above
            return f"columns missing (the dataset spec): {_short(f'`{m}`' for m in absent)}"
        return (f"not every parquet file has all columns of the dataset spec ({r.get('observed_value')} "
                f"column entries, expected {kw['value']})")
    if kind == "ids":
        pairs = r.get("partial_unexpected_list") or []
        missing = [a for a, b in pairs if b is None]
        extra = [b for a, b in pairs if a is None]
        parts = ([f"missing {_short(missing)}"] if missing else []) + (
            [f"not in {SOURCE_LANGUAGE}: {_short(extra)}"] if extra else [])
        return (f"column `{spec.id_column}`: {r.get('unexpected_count')} ids (split/id) differ from "
                f"{SOURCE_LANGUAGE} ({'; '.join(parts)})")
    if kind == "counts":
        mine = dict(v.split("=", 1) for v in unexpected)
        theirs = dict(v.split("=", 1) for v in missing)
        diffs = [f"{c}: {mine.get(c, '0')} vs {theirs.get(c, '0')} in {SOURCE_LANGUAGE}"
                 for c in sorted(set(mine) | set(theirs), key=_natural) if mine.get(c) != theirs.get(c)]
        return f"column `{spec.count_column}`: value counts differ from {SOURCE_LANGUAGE} ({_short(diffs)})"
    # rows
    if etype == "expect_table_columns_to_match_ordered_list":
        want, seen = list(kw["column_list"]), list(r.get("observed_value") or [])
        parts = []
        if set(want) - set(seen):
            parts.append(f"missing {_short(f'`{c}`' for c in want if c not in seen)}")
        if set(seen) - set(want):
            parts.append(f"unexpected {_short(f'`{c}`' for c in seen if c not in want)}")
        if parts and schema_reported:
            return None  # the schema batch already named the missing or unexpected columns
        if not parts:
            parts.append(f"order {', '.join(seen)} instead of {', '.join(want)}")
        return f"columns differ from the dataset spec ({'; '.join(parts)})"
    n = r.get("unexpected_count", 0)
    if etype == "expect_column_values_to_not_be_null":
        return f"column `{col}`: {n} null value{'s' if n != 1 else ''} in a required field"
    if etype == "expect_column_values_to_be_unique":
        return f"column `{col}`: duplicate ids ({_short(unexpected)})"
    if etype == "expect_column_values_to_be_in_set" and col == "language":
        return f"column `language`: {n} row{'s' if n != 1 else ''} not {lang!r} ({_short(unexpected)})"
    if etype == "expect_column_values_to_be_in_set" and col == "lang_id":
        share = 100.0 - float(r.get("unexpected_percent") or 0.0)
        return (f"column `lang_id`: only {share:.0f}% of rows are detected as {lang!r} (at least "
                f"{kw['mostly']:.0%} required; also seen: {_short(unexpected)})")
    if etype == "expect_column_values_to_be_between":
        return (f"column `{col}`: {n} value{'s' if n != 1 else ''} outside {kw['min_value']:g}..{kw['max_value']:g} "
                f"({_short(unexpected)})")
    return f"{etype} on `{col}` failed ({r.get('observed_value', _short(unexpected))})"


def _natural(value: str):
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


# ------------------------------------------------------------------------------------------------ runner


class _Validator:
    """One ephemeral GE context per dataset, with a data docs site when asked for one."""

    def __init__(self, name: str, docs_dir: Path | None, run_id):
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        sites = {}
        if docs_dir is not None:
            sites["release"] = {
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {"class_name": "SortedFilesystemStoreBackend", "module_name": "validation.ge_store",
                                  # GE wants an absolute path when the context has no root directory.
                                  "base_directory": str(Path(docs_dir).resolve())},
            }
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(), data_docs_sites=sites,
            analytics_enabled=False, progress_bars=ProgressBarsConfig(globally=False),
        )
        self.gx = gx
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.source = self.context.data_sources.add_pandas(name)
        self.run_id = run_id
        self.evaluated = 0

    def validate(self, batch: str, df, expectations: list) -> list:
        gx = self.gx
        # The data source is named for the dataset already; the asset needs only "<lang>.<kind>".
        asset = self.source.add_dataframe_asset(batch.split(".", 1)[1])
        definition = asset.add_batch_definition_whole_dataframe("all rows")
        suite = self.context.suites.add(gx.ExpectationSuite(name=batch))
        for exp in expectations:
            suite.add_expectation(exp)
        vd = self.context.validation_definitions.add(gx.ValidationDefinition(name=batch, data=definition,
                                                                              suite=suite))
        result = vd.run(batch_parameters={"dataframe": df}, run_id=self.run_id)
        self.evaluated += len(result.results)
        return [r for r in result.results if not r.success]

    def build_docs(self, docs_dir: Path, run_stamp: str) -> Path:
        from validation.ge_store import FAILED_WRITES

        shutil.rmtree(docs_dir, ignore_errors=True)
        FAILED_WRITES.clear()
        with quiet_ge():  # GE logs a failed write as a page of traceback and goes on; raise it once instead
            self.context.build_data_docs(site_names=["release"])
        if FAILED_WRITES:
            raise FAILED_WRITES[0]
        _make_docs_deterministic(docs_dir, run_stamp)
        return docs_dir / "index.html"


@contextlib.contextmanager
def quiet_ge() -> Iterator[None]:
    """GE's own log records off for the block: an expected failure is reported by us, in one sentence."""
    logger = logging.getLogger("great_expectations")  # its modules' loggers inherit this level
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_GX_STAMP = re.compile(r"\d{8}T\d{6}\.\d{6}Z")


class _Numbered:
    """Replaces each distinct UUID in a page with UUID(1), UUID(2), ... in order of appearance."""

    def __init__(self):
        self.seen: dict[str, str] = {}

    def __call__(self, match: re.Match) -> str:
        return self.seen.setdefault(match.group(0), str(uuid.UUID(int=len(self.seen) + 1)))


def _make_docs_deterministic(docs_dir: Path, run_stamp: str) -> None:
    """GE stamps pages with render/load times and random element ids; pin them so rebuilds are identical.

    Also drops the bundled static files no page links to (about 4 MB of GIFs and fonts).
    """
    pages = sorted(docs_dir.rglob("*.html"))
    texts = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        text = _UUID.sub(_Numbered(), text)
        text = _GX_STAMP.sub(run_stamp, text)
        page.write_text(text, encoding="utf-8")
        texts.append(text)
    static = docs_dir / "static"
    for path in sorted(static.rglob("*")) if static.is_dir() else []:
        if path.is_file() and not any(path.relative_to(docs_dir).as_posix() in t for t in texts):
            path.unlink()
    for folder in sorted((p for p in static.rglob("*") if p.is_dir()), reverse=True) if static.is_dir() else []:
        if not any(folder.iterdir()):
            folder.rmdir()


def _run_identity(folders: dict[str, Path], cfg: QAStageConfig):
    """A run id from the release version and the data hashes, at a fixed time: same inputs, same docs."""
    from great_expectations.core.run_identifier import RunIdentifier

    hashes = {f"{d}/{s.path.relative_to(folder).as_posix()}": sha256_file(s.path)
              for d, folder in sorted(folders.items()) for shards in release_shards(folder).values() for s in shards}
    # SOURCE_DATE_EPOCH is the reproducible-builds convention for "the time this build claims".
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    run_time = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
    run_id = RunIdentifier(run_name=f"{cfg.version}-{stable_hash(hashes)[:12]}", run_time=run_time)
    return run_id, run_time.strftime("%Y%m%dT%H%M%S.%fZ")


def run_gate(folders: dict[str, Path], languages: list[str], cfg: QAStageConfig,
             docs_dirs: dict[str, Path] | None = None) -> GateResult:
    """Validate Hub-layout folders (dataset spec key -> folder) against the suites.

    `docs_dirs` (dataset -> folder) receives GE data docs for that dataset (index.html and pages).
    """
    for dataset in folders:
        if dataset not in SPECS:
            raise DataError(f"unknown dataset {dataset!r} for the release gate; expected one of "
                            f"{', '.join(SPECS)}.")
    import pandas as pd

    log("gate: loading great-expectations")
    run_id, run_stamp = _run_identity(folders, cfg)
    result = GateResult(success=True)
    for dataset, folder in folders.items():
        spec = SPECS[dataset]
        name = cfg.published_name(spec)
        docs_dir = (docs_dirs or {}).get(dataset)
        validator = _Validator(name, docs_dir, run_id)
        found = release_shards(folder)

        def check(batch: str, kind: str, df, exps: list, lang: str | None, schema_reported: bool = False,
                  _v: _Validator = validator, _name: str = name, _spec: DatasetSpec = spec) -> int:
            """Validate one batch; record a readable line per failure; return how many failed."""
            failed = _v.validate(batch, df, exps)
            for res in failed:
                if len(failed) > 1 and res.expectation_config.type == "expect_table_row_count_to_equal":
                    continue  # the per-file column count only matters when the column sets look right
                msg = _describe(res, kind, set(df.columns), _spec, lang, schema_reported)
                if msg is not None:
                    result.failures.append(Failure(_name, lang, msg))
            return len(failed)

        files_df = pd.DataFrame([{"language": lang, "split": s.split} for lang, shards in sorted(found.items())
                                 for s in shards], columns=["language", "split"])
        check(f"{name}.files", "files", files_df, _suite_files(spec, languages), None)

        en_keys = en_counts = None
        ordered = [SOURCE_LANGUAGE, *[x for x in languages if x != SOURCE_LANGUAGE]]
        for lang in ordered:
            if lang not in found:
                continue  # reported by the files suite
            files = found[lang]
            df, splits = _read_rows(files)
            log(f"gate {name}/{lang}: {len(df)} rows, {len(files)} file(s)")
            schema_failed = check(f"{name}.{lang}.schema", "schema", _schema_frame(files),
                                  _suite_schema(spec, len(files)), lang)
            check(f"{name}.{lang}.rows", "rows", df, _suite_rows(spec, lang, cfg), lang,
                  schema_reported=schema_failed > 0)
            # Cross-language checks compare with English, read first.
            keys = _keys(df, spec, splits)
            counts = (_value_counts(df, spec.count_column)
                      if spec.count_column and spec.count_column in df.columns else None)
            if lang == SOURCE_LANGUAGE:
                en_keys, en_counts = keys, counts
                continue
            if keys is not None and en_keys is not None:
                check(f"{name}.{lang}.ids", "ids", _ids_frame(en_keys, keys), _suite_ids(), lang)
            if counts is not None and en_counts is not None:
                check(f"{name}.{lang}.counts", "counts", counts,
                      _suite_counts(en_counts["value_count"].tolist()), lang)
        result.expectations += validator.evaluated
        if docs_dir is not None:
            result.docs[dataset] = validator.build_docs(Path(docs_dir), run_stamp)
    result.success = not result.failures
    status = "passed" if result.success else f"FAILED ({len(result.failures)} failing expectations)"
    log(f"gate: {result.expectations} expectations, {status}")
    return result



def check_gate(folders: dict[str, Path], languages: list[str], cfg: QAStageConfig,
               docs_dirs: dict[str, Path] | None = None, failure_docs_dir: Path | None = None) -> GateResult:
    """run_gate, raising GateError (a DataError) listing every failing expectation when any fails.

    On failure the data docs are copied to `failure_docs_dir` (if given), since the staged folders they
    were written into are about to be removed.
    """
    result = run_gate(folders, languages, cfg, docs_dirs)
    if failure_docs_dir is not None:
        shutil.rmtree(failure_docs_dir, ignore_errors=True)  # an earlier failure's docs are stale now
    if result.success:
        return result
    hint = ""
    if failure_docs_dir is not None and result.docs:
        for dataset, index in result.docs.items():
            shutil.copytree(index.parent, Path(failure_docs_dir) / cfg.published_name(SPECS[dataset]))
        hint = f" (data docs: {failure_docs_dir})"
    raise GateError(result, hint)
