"""The publish stage: QA'd rows -> a staged Hub-layout folder per dataset, then swapped into place.

Each dataset is written to a staging folder beside its destination and checked with `load_dataset` exactly
as a consumer will load it; the release pipeline (safedrift.release) runs the release gate on the staged
folders and only then swaps them all into place in one journalled step (cards.swap), so a failure or a crash
leaves the previous release or the new one, never a half-written or mixed one.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import DatasetCard

from cards.card import build_card, read_provenance, recorded_sources, validate_card
from cards.config import ReleaseConfig
from cards.swap import staging_folder, swap_all
from safedrift.core.errors import DataError, short_reason
from safedrift.core.files import atomic_write_json, atomic_write_parquet, atomic_write_text, sha256_file
from safedrift.core.hub import shard_path, split_pattern
from safedrift.core.languages import SOURCE_LANGUAGE
from safedrift.core.log import log
from safedrift.core.specs import DatasetSpec, to_table
from validation.qa import read_qa
from validation.report import markdown_report

ROWS_PER_SHARD = 50_000
def _shards(rows: list[dict]) -> list[list[dict]]:
    return [rows[i: i + ROWS_PER_SHARD] for i in range(0, len(rows), ROWS_PER_SHARD)] or [[]]


def builder_paths() -> dict[str, str]:
    """Absolute folders of the machine that builds the release -> what a published file says instead."""
    from safedrift.core.locations import PACKAGE

    roots = {str(Path.cwd()): ".", str(PACKAGE.parent): ".", str(Path.home()): "~"}
    return {root: short for root, short in roots.items() if len(root) > 1}


def shareable(obj, paths: dict[str, str] | None = None):
    """`obj` (a JSON-like report) with every absolute path of the builder's machine (working folder, checkout,
    home) made relative: a published file names no builder's folder (a COMET skip reason names its venv)."""
    paths = builder_paths() if paths is None else paths
    if isinstance(obj, str):
        for root, short in sorted(paths.items(), key=lambda item: -len(item[0])):
            obj = obj.replace(root + os.sep, short + "/").replace(root, short)
        return obj
    if isinstance(obj, dict):
        return {k: shareable(v, paths) for k, v in obj.items()}
    if isinstance(obj, list):
        return [shareable(v, paths) for v in obj]
    return obj


def write_dataset_folder(folder: Path, spec: DatasetSpec, per_lang: dict[str, list[dict]], cfg: ReleaseConfig,
                         qa_report: dict, repo: str | None, provenance: dict | None = None) -> DatasetCard:
    """Write data/<lang>/<split>-*.parquet, the validated README.md card and qa/report.json into `folder`;
    returns the card.

    qa_report: the QA stage's report for this dataset (lang -> figures); repo: "org/name" on the Hub, None for a
    local release (its card says so). The card's provenance (sources,
    filters, engines) is the build's manifests (read_provenance), read from cfg.work_path when not given.
    """
    schema = spec.schema
    qa_report = shareable(qa_report)
    files: dict[str, dict[str, str]] = {}
    counts: dict[str, dict[str, int]] = {}
    for lang, rows in per_lang.items():
        by_split: dict[str, list[dict]] = {}
        for r in sorted(rows, key=spec.row_id):
            by_split.setdefault(r["split"], []).append(r)
        files[lang], counts[lang] = {}, {}
        for split, split_rows in sorted(by_split.items()):
            shards = _shards(split_rows)
            for i, shard in enumerate(shards):
                atomic_write_parquet(folder / shard_path(lang, split, i, len(shards)), to_table(shard, schema))
            files[lang][split] = split_pattern(lang, split)
            counts[lang][split] = len(split_rows)

    # Rows per source, counted on the English config: the licence table. Rows that do not name their source
    # all come from the one source the loader recorded, if it recorded one.
    provenance = provenance or read_provenance(cfg.work_path)
    english = per_lang.get(SOURCE_LANGUAGE) or next(iter(per_lang.values()))
    source_counts: dict[str, int] = {}
    if "source" in schema.names:
        source_counts = dict(Counter(r["source"] for r in english))
    elif len(recorded := recorded_sources(spec, provenance)) == 1:
        source_counts = {recorded[0]: len(english)}
    card = build_card(spec=spec, cfg=cfg, repo=repo, counts=counts, files=files, qa_report=qa_report,
                      provenance=provenance, source_counts=source_counts)
    atomic_write_text(folder / "README.md", str(card))
    validate_card(card, folder)
    atomic_write_json(folder / "qa" / "report.json", {"version": cfg.version, "languages": qa_report,
                                                     "thresholds": shareable(cfg.qa.model_dump())})
    atomic_write_text(folder / "qa" / "report.md",
                      markdown_report({"version": cfg.version, "datasets": {cfg.published_name(spec): qa_report}}))
    return card


def check_loadable(folder: Path, languages: list[str], splits: dict[str, set[str]]) -> None:
    """Load every config exactly as a consumer will; any failure blocks the release."""
    import tempfile

    from datasets import load_dataset

    # A fresh cache each time: datasets keys its cache for a local folder by path and config name, not by
    # file contents, so a reused cache could answer with an earlier build's rows.
    with tempfile.TemporaryDirectory(prefix="safedrift-load-check-") as cache_dir:
        for lang in languages:
            try:
                ds = load_dataset(str(folder), lang, cache_dir=cache_dir)
            except Exception as exc:  # noqa: BLE001 - any loader failure blocks the release
                raise DataError(f"the staged release {folder.name} does not load for {lang!r} "
                                f"({short_reason(exc)}); nothing was published.") from None
            if set(ds) != splits[lang]:
                raise DataError(f"the staged release {folder.name}/{lang} has splits {sorted(ds)}, "
                                f"expected {sorted(splits[lang])}.")


@dataclass
class StagedRelease:
    """Every dataset of a release written to a staging folder beside its destination, not yet in place."""

    folders: dict[str, Path]  # spec key -> staging folder
    targets: dict[str, Path]  # spec key -> release folder it replaces
    languages: list[str]

    def discard(self) -> None:
        for staging in self.folders.values():
            shutil.rmtree(staging, ignore_errors=True)


def stage_release(cfg: ReleaseConfig, hub_org: str | None = None) -> StagedRelease:
    """Write and load-check every dataset's folder beside its destination (nothing in place changes)."""
    work = cfg.work_path
    report_path = work / "qa" / "report.json"
    if not report_path.is_file():
        raise DataError(f"no QA report in {work / 'qa'}; run `safedrift qa` first.")
    report = json.loads(report_path.read_text())
    provenance = read_provenance(work)
    languages = provenance["translated"]["languages"]
    out = cfg.output_path
    out.mkdir(parents=True, exist_ok=True)
    staged = StagedRelease({}, {}, languages)
    try:
        for spec in cfg.specs():
            name = cfg.published_name(spec)
            per_lang = {lang: read_qa(work, spec.key, lang) for lang in languages}
            for lang, rows in per_lang.items():
                if not rows:
                    raise DataError(f"{spec.key}/{lang} has no rows; nothing is published.")
            staging = staging_folder(out, name)
            shutil.rmtree(staging, ignore_errors=True)
            staged.folders[spec.key], staged.targets[spec.key] = staging, out / name
            write_dataset_folder(staging, spec, per_lang, cfg, report["datasets"][spec.key],
                                 f"{hub_org}/{name}" if hub_org else None, provenance)
            check_loadable(staging, languages, {lang: {r["split"] for r in rows} for lang, rows in per_lang.items()})
    except BaseException:
        staged.discard()
        raise
    return staged


def swap_release(staged: StagedRelease, cfg: ReleaseConfig) -> dict[str, Path]:
    """Move every staged folder into place in one journalled step (cards.swap), then record each one's files."""
    targets = [staged.targets[key] for key in staged.folders]
    swap_all(cfg.output_path, [t.name for t in targets])
    staged.folders.clear()  # swapped: nothing left to discard
    written = record_release(targets, cfg)
    for target in targets:
        log(f"release {target.name}: {target} ({', '.join(staged.languages)})")
    return written


def record_release(targets: list[Path], cfg: ReleaseConfig) -> dict[str, Path]:
    """The work dir's record of what each release folder holds: <work>/release/<name>.manifest.json."""
    written = {}
    for target in targets:
        hashes = {str(p.relative_to(target)): sha256_file(p) for p in sorted(target.rglob("*")) if p.is_file()}
        atomic_write_json(cfg.work_path / "release" / f"{target.name}.manifest.json",
                          {"files": hashes, "version": cfg.version})
        written[target.name] = target
    return written
