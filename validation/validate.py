"""`python -m validation validate FOLDER`: QA an existing Hub-layout release folder (ours or a download).

The published rows carry the translations but not their back-translations, so each language is
translated back into English again (through a translation memory under the work dir, so a rerun is
instant), scored with the same scorers as the QA stage against the folder's own English config, and the
release gate's suites run over the folder. Nothing in the folder is modified: the report
(report.json, report.md) and the data docs go to the output directory.
"""

from __future__ import annotations

from pathlib import Path

from builders.build import BENIGN, SORRY_BENCH, engine_candidates, field_texts, make_engine, regroup
from builders.config import ReleaseConfig
from builders.errors import ConfigError, DataError
from builders.languages import SOURCE_LANGUAGE, check_languages
from builders.progress import log
from validation.qa import DATASET_FIELDS, score_language
from validation.report import write_report


def dataset_of(folder: Path) -> str:
    """Which of our datasets a folder holds, from its English parquet columns."""
    import pyarrow.parquet as pq

    files = sorted((folder / "data" / SOURCE_LANGUAGE).glob("*.parquet"))
    if not (folder / "README.md").is_file() or not files:
        raise DataError(f"{folder} is not a release folder: it needs README.md and data/{SOURCE_LANGUAGE}/*.parquet.")
    columns = set(pq.read_schema(files[0]).names)
    if "question_id" in columns:
        return SORRY_BENCH
    if "instruction" in columns:
        return BENIGN
    raise DataError(f"{folder}: the parquet columns match neither dataset ({', '.join(sorted(columns))}).")


def release_folders(paths: list[Path]) -> list[Path]:
    """Dataset folders from the given paths: a dataset folder itself, or a release root holding several."""
    out: list[Path] = []
    for path in paths:
        if not path.is_dir():
            raise DataError(f"release folder not found: {path}.")
        if (path / "README.md").is_file():
            out.append(path)
            continue
        found = sorted(p.parent for p in path.glob("*/README.md") if (p.parent / "data").is_dir())
        if not found:
            raise DataError(f"{path} holds no release folder (README.md + data/<lang>/*.parquet).")
        out.extend(found)
    return out


def read_release_rows(folder: Path) -> dict[str, list[dict]]:
    """language -> rows (with their `split`, from the Hub file name) of a release folder."""
    import pyarrow.parquet as pq

    from validation.gate import release_files

    rows: dict[str, list[dict]] = {}
    for lang, files in release_files(folder).items():
        for path, split in zip(files.paths, files.splits, strict=True):
            rows.setdefault(lang, []).extend(dict(r, split=split) for r in pq.read_table(path).to_pylist())
    check_languages(list(rows))
    if SOURCE_LANGUAGE not in rows:
        raise DataError(f"{folder} has no `{SOURCE_LANGUAGE}` config: the English source is needed to score "
                        "the translations against.")
    return rows


def back_engine(cfg: ReleaseConfig, lang: str):
    """The first configured engine that translates lang -> en here, or None."""
    for name in engine_candidates(cfg.translation, lang):
        engine = make_engine(cfg.translation, name)
        if engine.supports(lang, SOURCE_LANGUAGE):
            return engine
    return None


def add_back_translations(rows: list[dict], fields, lang: str, engine, memory, cfg: ReleaseConfig,
                          desc: str) -> None:
    from builders.translate import translate_texts

    flat = [t for row in rows for t in field_texts(row, fields)]
    back, _ = translate_texts(flat, engine=engine, source=lang, target=SOURCE_LANGUAGE, memory=memory,
                              batch_segments=cfg.translation.batch_segments, desc=desc)
    for row, backs in zip(rows, regroup(rows, fields, back), strict=True):
        row.update({f"bt_{f}": v for f, v in backs.items()})


def validate_folder(folder: Path, dataset: str, cfg: ReleaseConfig, memory) -> dict:
    """Score every language of one release folder of `dataset`; returns {language: report}."""
    fields = DATASET_FIELDS[dataset]
    per_lang = read_release_rows(folder)
    en_rows = per_lang[SOURCE_LANGUAGE]
    reports: dict[str, dict] = {}
    for lang in [SOURCE_LANGUAGE, *sorted(x for x in per_lang if x != SOURCE_LANGUAGE)]:
        rows = per_lang[lang]
        published_pass = [r.get("qa_pass") for r in rows]
        qa, skipped = cfg.qa, None
        if lang == SOURCE_LANGUAGE:
            for r in rows:
                r.update({f"bt_{f}": r[f] for f in fields})
        elif (engine := back_engine(cfg, lang)) is not None:
            add_back_translations(rows, fields, lang, engine, memory, cfg, f"{folder.name} {lang}->en")
        else:
            skipped = (f"no engine translates {lang}->en here (tried "
                       f"{', '.join(cfg.translation.engines)}); back-translation metrics skipped")
            qa = qa.model_copy(update={"scorers": [s for s in qa.scorers if s != "backtranslation"]})
        _, report = score_language(dataset, lang, rows, en_rows, qa)
        if skipped:
            report["backtranslation_skipped"] = skipped
            log(f"validate {folder.name}/{lang}: {skipped}")
        known = [p for p in published_pass if p is not None]
        if known:
            report["published_pass_rate"] = round(sum(known) / len(known), 4)
        reports[lang] = report
    return reports


def release_version(folder: Path) -> str | None:
    """The version a release folder says it is (its qa/report.json, else its card's metadata)."""
    from cards.release import stated_versions

    stated = stated_versions(folder)
    return stated.get("qa/report.json") or stated.get("card")


def default_config(name: str, languages: list[str]) -> ReleaseConfig:
    """A config for folders validated without one: the offline engines, the documented QA defaults."""
    return ReleaseConfig.model_validate({
        "name": name, "languages": languages, "benign": {"sources": [{"name": "release"}]},
        "translation": {"engines": ["bergamot", "argos"]},
    })


def run_validate(paths: list[Path], cfg: ReleaseConfig | None, out_dir: Path, work_dir: Path) -> dict:
    """Validate release folders; writes <out_dir>/report.{json,md} and <out_dir>/data_docs/<name>/.

    Raises DataError listing the failing expectations (after writing the report) when a suite fails.
    """
    from builders.memory import TranslationMemory
    from validation.gate import run_gate

    folders = release_folders(paths)
    by_dataset: dict[str, Path] = {}
    for folder in folders:
        dataset = dataset_of(folder)
        if dataset in by_dataset:
            raise ConfigError(f"{by_dataset[dataset]} and {folder} hold the same dataset; validate them one "
                              "at a time.")
        by_dataset[dataset] = folder
    languages = sorted({p.name for f in folders for p in (f / "data").iterdir() if p.is_dir()})
    cfg = cfg or default_config("validate", languages)
    # The gate and the report name each dataset by its folder's name.
    cfg = cfg.model_copy(update={"datasets": cfg.datasets.model_copy(
        update={("benign" if d == BENIGN else "sorry_bench"): f.name for d, f in by_dataset.items()})})
    names = {BENIGN: cfg.datasets.benign, SORRY_BENCH: cfg.datasets.sorry_bench}
    report: dict = {"versions": {names[d]: release_version(f) for d, f in by_dataset.items()}, "validated": {names[d]: str(f) for d, f in by_dataset.items()},
                    "thresholds": cfg.qa.model_dump(), "scorers": cfg.qa.scorers, "datasets": {}}
    with TranslationMemory(work_dir / "memory.sqlite") as memory:
        for dataset, folder in by_dataset.items():
            report["datasets"][dataset] = validate_folder(folder, dataset, cfg, memory)
    docs = {d: out_dir / "data_docs" / names[d] for d in by_dataset}
    gate = run_gate(by_dataset, languages, cfg, docs_dirs=docs)
    report["gate"] = {"success": gate.success, "expectations": gate.expectations, "failures": gate.lines()}
    write_report(out_dir, report)
    if not gate.success:
        n = len(gate.failures)
        raise DataError("\n".join([
            f"the release gate failed on {', '.join(str(f) for f in folders)} ({n} failing "
            f"expectation{'s' if n != 1 else ''}; report and data docs in {out_dir}):",
            *(f"  - {line}" for line in gate.lines())]))
    return report
