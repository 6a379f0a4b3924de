"""The publish stage (local by default): QA'd rows -> a Hub-layout release folder per dataset.

Each dataset is written to a staging folder beside its destination, checked with `load_dataset`
exactly as a consumer will load it, and only then swapped into place, so a failure leaves the previous
release untouched and never a half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

from huggingface_hub import DatasetCard

from builders.build import BENIGN, SORRY_BENCH
from builders.config import ReleaseConfig
from builders.errors import DataError
from builders.files import atomic_write_json, atomic_write_parquet, atomic_write_text, sha256_file
from builders.languages import SOURCE_LANGUAGE
from builders.progress import log
from cards.card import build_card, read_provenance, validate_card
from cards.schema import BENIGN_SCHEMA, SORRY_BENCH_SCHEMA, to_table
from validation.report import markdown_report

ROWS_PER_SHARD = 50_000


def _shards(rows: list[dict]) -> list[list[dict]]:
    return [rows[i: i + ROWS_PER_SHARD] for i in range(0, len(rows), ROWS_PER_SHARD)] or [[]]


def write_dataset_folder(folder: Path, dataset: str, per_lang: dict[str, list[dict]], cfg: ReleaseConfig,
                         qa_report: dict, repo: str, provenance: dict | None = None) -> DatasetCard:
    """Write data/<lang>/<split>-*.parquet, the validated README.md card and qa/report.json into `folder`;
    returns the card.

    qa_report: the QA stage's report for this dataset (lang -> figures). The card's provenance (sources,
    filters, engines) is the build's manifests (read_provenance), read from cfg.work_path when not given.
    """
    schema = BENIGN_SCHEMA if dataset == BENIGN else SORRY_BENCH_SCHEMA
    sort_key = (lambda r: r["id"]) if dataset == BENIGN else (lambda r: r["question_id"])
    files: dict[str, dict[str, str]] = {}
    counts: dict[str, dict[str, int]] = {}
    for lang, rows in per_lang.items():
        by_split: dict[str, list[dict]] = {}
        for r in sorted(rows, key=sort_key):
            by_split.setdefault(r["split"], []).append(r)
        files[lang], counts[lang] = {}, {}
        for split, split_rows in sorted(by_split.items()):
            shards = _shards(split_rows)
            for i, shard in enumerate(shards):
                name = f"data/{lang}/{split}-{i:05d}-of-{len(shards):05d}.parquet"
                atomic_write_parquet(folder / name, to_table(shard, schema))
            files[lang][split] = f"data/{lang}/{split}-*.parquet"
            counts[lang][split] = len(split_rows)

    # Rows per benign source, counted on the English config (never dropped by QA): the licence table.
    source_counts: dict[str, int] = {}
    if dataset == BENIGN:
        english = per_lang.get(SOURCE_LANGUAGE) or next(iter(per_lang.values()))
        source_counts = dict(Counter(r["source"] for r in english))
    card = build_card(dataset=dataset, cfg=cfg, repo=repo, counts=counts, files=files, qa_report=qa_report,
                      provenance=provenance or read_provenance(cfg.work_path), source_counts=source_counts)
    atomic_write_text(folder / "README.md", str(card))
    validate_card(card, folder)
    atomic_write_json(folder / "qa" / "report.json", {"version": cfg.version, "languages": qa_report,
                                                     "thresholds": cfg.qa.model_dump()})
    atomic_write_text(folder / "qa" / "report.md",
                      markdown_report({"version": cfg.version, "datasets": {card.data.pretty_name: qa_report}}))
    return card


def stated_versions(folder: Path) -> dict[str, str]:
    """The version a release folder states, by where it says so: its card metadata, its qa/report.json."""
    stated = {"card": DatasetCard.load(folder / "README.md").data.get("version")}
    report = folder / "qa" / "report.json"
    if report.is_file():
        stated["qa/report.json"] = json.loads(report.read_text(encoding="utf-8")).get("version")
    return {where: str(v) for where, v in stated.items() if v is not None}


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
                raise DataError(f"the staged release {folder.name} does not load for {lang!r}: {exc}") from exc
            if set(ds) != splits[lang]:
                raise DataError(f"the staged release {folder.name}/{lang} has splits {sorted(ds)}, "
                                f"expected {sorted(splits[lang])}.")


def swap_into_place(staging: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def run_publish(cfg: ReleaseConfig, hub_org: str | None = None) -> dict[str, Path]:
    from validation.qa import read_qa

    work = cfg.work_path
    report_path = work / "qa" / "report.json"
    if not report_path.is_file():
        raise DataError(f"no QA report in {work / 'qa'}; run `python -m validation qa` first.")
    report = json.loads(report_path.read_text())
    provenance = read_provenance(work)
    languages = provenance["translated"]["languages"]

    out = cfg.output_path
    out.mkdir(parents=True, exist_ok=True)
    names = {BENIGN: cfg.datasets.benign, SORRY_BENCH: cfg.datasets.sorry_bench}
    staged: dict[str, Path] = {}
    try:
        # Stage and check both datasets before either replaces the previous release.
        for dataset, name in names.items():
            per_lang = {lang: read_qa(work, dataset, lang) for lang in languages}
            for lang, rows in per_lang.items():
                if not rows:
                    raise DataError(f"{dataset}/{lang} has no rows; nothing is published.")
            staging = out / f".staging-{name}-{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            staged[name] = staging
            repo = f"{hub_org or '<org>'}/{name}"
            write_dataset_folder(staging, dataset, per_lang, cfg, report["datasets"][dataset], repo, provenance)
            splits = {lang: {r["split"] for r in rows} for lang, rows in per_lang.items()}
            check_loadable(staging, languages, splits)
        if cfg.qa.gate.enabled:
            # The great-expectations gate sees the staged folders exactly as they will ship; a failure
            # raises here, before anything is swapped, and the finally below removes the staging folders.
            from validation.gate import check_gate

            folders = {dataset: staged[name] for dataset, name in names.items()}
            check_gate(folders, languages, cfg,
                       docs_dirs={d: folder / "qa" / "data_docs" for d, folder in folders.items()},
                       failure_docs_dir=work / "gate" / "data_docs")
        written = {}
        for name, staging in staged.items():
            target = out / name
            swap_into_place(staging, target)
            hashes = {str(p.relative_to(target)): sha256_file(p) for p in sorted(target.rglob("*")) if p.is_file()}
            atomic_write_json(work / "release" / f"{name}.manifest.json", {"files": hashes, "version": cfg.version})
            written[name] = target
            log(f"release {name}: {target} ({', '.join(languages)})")
    finally:
        for staging in staged.values():
            shutil.rmtree(staging, ignore_errors=True)
    return written
