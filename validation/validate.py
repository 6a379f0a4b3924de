"""`python -m validation validate FOLDER`: QA an existing Hub-layout release folder (ours or a download).

The published rows carry the translations but not their back-translations, so each language is
translated back into English again (through a translation memory under the work dir, so a rerun is
instant), scored with the same scorers as the QA stage against the folder's own English config, and the
release gate's suites run over the folder. Nothing in the folder is modified: the report
(report.json, report.md) and the data docs go to the output directory.
"""

from __future__ import annotations

from pathlib import Path

from builders.build import engine_candidates, make_engine, translate_fields
from builders.memory import TranslationMemory
from safedrift.core.errors import ConfigError, DataError
from safedrift.core.hub import release_shards
from safedrift.core.languages import SOURCE_LANGUAGE
from safedrift.core.log import log
from safedrift.core.specs import DatasetSpec
from validation.config import QAStageConfig
from validation.gate import run_gate
from validation.qa import score_language
from validation.release_folder import dataset_of, read_release_rows, release_folders, stated_versions
from validation.report import write_report


def back_engine(cfg: QAStageConfig, lang: str):
    """The first configured engine that translates lang -> en here, or None."""
    for name in engine_candidates(cfg.translation, lang):
        engine = make_engine(cfg.translation, name)
        if engine.supports(lang, SOURCE_LANGUAGE):
            return engine
    return None


def validate_folder(folder: Path, spec: DatasetSpec, cfg: QAStageConfig, memory: TranslationMemory) -> dict:
    """Score every language of one release folder of `spec`'s dataset; returns {language: report}."""
    fields = spec.text_fields
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
            back, _ = translate_fields(rows, fields, engine, lang, SOURCE_LANGUAGE, memory,
                                       cfg.translation.batch_segments, f"{folder.name} {lang}->en")
            for row, parts in zip(rows, back, strict=True):
                row.update({f"bt_{f}": v for f, v in parts.items()})
        else:
            skipped = (f"no engine translates {lang}->en here (tried "
                       f"{', '.join(cfg.translation.engines)}); back-translation metrics skipped")
            qa = qa.model_copy(update={"scorers": [s for s in qa.scorers if s != "backtranslation"]})
        _, report = score_language(spec, lang, rows, en_rows, qa)
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
    stated = stated_versions(folder)
    return stated.get("qa/report.json") or stated.get("card")


def default_config(name: str, languages: list[str]) -> QAStageConfig:
    """A config for folders validated without one: the offline engines, the documented QA defaults."""
    return QAStageConfig.model_validate({
        "name": name, "languages": languages, "benign": {"sources": [{"name": "release"}]},
        "translation": {"engines": ["bergamot", "argos"]},
    })


def run_validate(paths: list[Path], cfg: QAStageConfig | None, out_dir: Path, work_dir: Path) -> dict:
    """Validate release folders; writes <out_dir>/report.{json,md} and <out_dir>/data_docs/<name>/.

    Raises DataError listing the failing expectations (after writing the report) when a suite fails.
    """
    folders = release_folders(paths)
    by_dataset: dict[str, Path] = {}
    for folder in folders:
        spec = dataset_of(folder)
        if spec.key in by_dataset:
            raise ConfigError(f"{by_dataset[spec.key]} and {folder} hold the same dataset; validate them one "
                              "at a time.")
        by_dataset[spec.key] = folder
    languages = sorted({lang for f in folders for lang in release_shards(f)})
    cfg = cfg or default_config("validate", languages)
    # Only the datasets found are validated; the gate and the report name each by its folder's name.
    cfg = cfg.model_copy(update={"datasets": {key: f.name for key, f in by_dataset.items()}})
    specs = {spec.key: spec for spec in cfg.specs()}
    report: dict = {"versions": {f.name: release_version(f) for f in by_dataset.values()},
                    "validated": {f.name: str(f) for f in by_dataset.values()},
                    "thresholds": cfg.qa.model_dump(), "scorers": cfg.qa.scorers, "datasets": {}}
    with TranslationMemory(work_dir / "memory.sqlite") as memory:
        for key, folder in by_dataset.items():
            report["datasets"][key] = validate_folder(folder, specs[key], cfg, memory)
    docs = {key: out_dir / "data_docs" / folder.name for key, folder in by_dataset.items()}
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
