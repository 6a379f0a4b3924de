"""The QA stage: every configured scorer over every dataset and language, `qa_flags`, `qa_pass`, the report.

Reads  <work>/translated/<dataset>/<lang>.jsonl  (from builders)
Writes <work>/qa/<dataset>/<lang>.jsonl (rows + QA columns; rows removed by `qa.on_fail: drop` go to
<lang>.dropped.jsonl), <work>/qa/report.json and report.md.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from builders.build import read_translated
from safedrift.core.errors import DataError
from safedrift.core.files import atomic_write_jsonl, iter_jsonl, write_manifest
from safedrift.core.languages import SOURCE_LANGUAGE
from safedrift.core.log import log, progress
from safedrift.core.specs import SPECS, DatasetSpec
from validation.config import QAConfig, QAStageConfig
from validation.report import write_report
from validation.scorers import METRIC_FLAGS, LanguageContext, get_scorer


def failing_flags(qa: QAConfig, lang: str) -> frozenset[str]:
    thr = qa.thresholds(lang)
    return METRIC_FLAGS | set(thr.structure_fail) | set(thr.alignment_fail)


def score_language(spec: DatasetSpec, lang: str, rows: list[dict], source_rows: list[dict],
                   qa: QAConfig) -> tuple[list[dict], dict]:
    """Score one language's rows (translated fields + bt_* fields) against the English source rows.

    Returns every row with its QA columns (`qa_flags`, `qa_pass`, ...) and the language report; it never
    drops rows (run_qa applies `qa.on_fail`), so it can re-check an existing release folder.
    """
    fields = spec.text_fields
    by_key = {spec.row_id(r): r for r in source_rows}
    scored, sources = [], []
    for row in rows:
        src = by_key.get(spec.row_id(row))
        if src is None:
            raise DataError(f"{spec.key}/{lang}: row {spec.row_id(row)!r} has no English source row; rebuild "
                            "the translations.")
        sources.append(src)
        # src_* keep the English text beside the translation in the work dir, for inspection.
        scored.append(dict(row, **{f"src_{f}": src[f] for f in fields}, qa_flags=[], comet=None))
    ctx = LanguageContext(spec, lang, sources, qa, qa.thresholds(lang))
    report: dict = {"n": len(scored)}
    for name in qa.scorers:
        report.update(get_scorer(name).score(scored, ctx))
    failing = failing_flags(qa, lang)
    for row in scored:
        row["qa_pass"] = ctx.is_source or not any(f in failing for f in row["qa_flags"])
    n = max(len(scored), 1)
    counts = Counter(f for row in scored for f in row["qa_flags"])
    report.update(
        pass_rate=round(sum(r["qa_pass"] for r in scored) / n, 4),
        failed=sum(not r["qa_pass"] for r in scored),
        failed_checks={f: c for f, c in sorted(counts.items()) if f in failing},
        warnings={f: c for f, c in sorted(counts.items()) if f not in failing},
        dropped=0,
        thresholds=ctx.thresholds.model_dump(),
        worst=worst_rows(scored, spec, qa.worst_rows),
    )
    return scored, report


def worst_rows(rows: list[dict], spec: DatasetSpec, k: int) -> list[dict]:
    """Failing rows first, then the lowest back-translation chrF."""
    def order(r: dict):
        chrf = r.get("bt_chrf")
        return (r["qa_pass"], chrf if chrf is not None else float("inf"), str(spec.row_id(r)))

    cols = ("bt_chrf", "bt_bleu", "comet", "similarity", "lang_id", "lang_id_score", "length_ratio", "ref_chrf",
            "qa_flags")
    return [{"id": spec.row_id(r), **{c: r[c] for c in cols if c in r}} for r in sorted(rows, key=order)[:k]]


def apply_on_fail(spec: DatasetSpec, per_lang: dict[str, list[dict]], reports: dict[str, dict],
                  qa: QAConfig) -> tuple[dict, dict]:
    """`qa.on_fail: drop`: a row failing in any language leaves every language, so the ids stay identical
    across languages (a parallel dataset; SORRY-Bench category counts stay equal). Returns (kept, dropped)."""
    if qa.on_fail == "keep":
        return per_lang, {lang: [] for lang in per_lang}
    bad = {spec.row_id(r) for rows in per_lang.values() for r in rows if not r["qa_pass"]}
    kept, dropped = {}, {}
    for lang, rows in per_lang.items():
        kept[lang] = [r for r in rows if spec.row_id(r) not in bad]
        dropped[lang] = [r for r in rows if spec.row_id(r) in bad]
        reports[lang]["dropped"] = len(dropped[lang])
        reports[lang]["dropped_own_failures"] = sum(not r["qa_pass"] for r in rows)
    return kept, dropped


# Below this many rows in all, languages are scored in this process: a worker costs ~3 s to start.
PARALLEL_MIN_ROWS = 5_000


def _score_job(work: Path, dataset: str, lang: str, qa: QAConfig,
               source_rows: list[dict] | None = None) -> tuple[list[dict], dict]:
    if source_rows is None:  # in a worker process: read the English rows there
        source_rows = read_translated(work, dataset, SOURCE_LANGUAGE)
    return score_language(SPECS[dataset], lang, read_translated(work, dataset, lang), source_rows, qa)


def score_all(cfg: QAStageConfig, languages: list[str], n_rows: int) -> dict[tuple[str, str], tuple]:
    """(dataset, language) -> score_language's result, over worker processes when it pays."""
    work = cfg.work_path
    datasets = [spec.key for spec in cfg.specs()]
    jobs = [(dataset, lang) for dataset in datasets for lang in languages]
    workers = cfg.qa.workers or min(os.cpu_count() or 1, 4)
    if n_rows < PARALLEL_MIN_ROWS and cfg.qa.workers is None:
        workers = 1
    results: dict[tuple[str, str], tuple] = {}
    with progress(total=len(jobs), desc="qa", unit="language") as bar:
        if workers == 1:
            sources = {dataset: read_translated(work, dataset, SOURCE_LANGUAGE) for dataset in datasets}
            for dataset, lang in jobs:
                results[dataset, lang] = _score_job(work, dataset, lang, cfg.qa, sources[dataset])
                bar.update()
            return results
        # spawn, not fork: the build stage may have left translation-engine threads in this process.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
            futures = {pool.submit(_score_job, work, dataset, lang, cfg.qa): (dataset, lang)
                       for dataset, lang in jobs}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update()
    return results


def run_qa(cfg: QAStageConfig) -> Path:
    work = cfg.work_path
    manifest = work / "translated" / "manifest.json"
    if not manifest.is_file():
        raise DataError(f"no finished build in {work}; run `safedrift build` first.")
    translated = json.loads(manifest.read_text())
    languages = translated["languages"]
    report: dict = {"version": cfg.version, "thresholds": cfg.qa.model_dump(), "scorers": cfg.qa.scorers,
                    "on_fail": cfg.qa.on_fail, "datasets": {}}
    outputs = []
    n_rows = sum(sum(1 for _ in (work / "translated" / spec.key / f"{lang}.jsonl").open("rb"))
                 for spec in cfg.specs() for lang in languages)
    results = score_all(cfg, languages, n_rows)
    for spec in cfg.specs():
        dataset = spec.key
        per_lang = {lang: results[dataset, lang][0] for lang in languages}
        reports = {lang: results[dataset, lang][1] for lang in languages}
        kept, dropped = apply_on_fail(spec, per_lang, reports, cfg.qa)
        for lang in languages:
            rel = f"{dataset}/{lang}.jsonl"
            atomic_write_jsonl(work / "qa" / rel, kept[lang])
            outputs.append(rel)
            if dropped[lang]:
                atomic_write_jsonl(work / "qa" / f"{dataset}/{lang}.dropped.jsonl", dropped[lang])
                outputs.append(f"{dataset}/{lang}.dropped.jsonl")
            else:
                (work / "qa" / f"{dataset}/{lang}.dropped.jsonl").unlink(missing_ok=True)
            lr = reports[lang]
            log(f"qa {dataset}/{lang}: chrF {lr.get('corpus_chrf', float('nan')):.1f}, "
                f"BLEU {lr.get('corpus_bleu', float('nan')):.1f}, "
                f"lang-id {lr.get('lang_id_agreement', float('nan')):.0%}, pass {lr['pass_rate']:.0%}"
                + (f", dropped {lr['dropped']}" if lr["dropped"] else ""))
        report["datasets"][dataset] = reports
    outputs += write_report(work / "qa", report)
    write_manifest(work / "qa", "qa", {"translated": translated["outputs"], "qa": cfg.qa.model_dump()},
                   outputs, languages=languages)
    return work / "qa"


def read_qa(work: Path, dataset: str, lang: str) -> list[dict]:
    return list(iter_jsonl(work / "qa" / dataset / f"{lang}.jsonl"))
