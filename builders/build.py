"""The build stage: sources -> translation (+ back-translation) -> per-language row files.

Writes, under the work directory (all atomically, each with a manifest):
  sources/benign.jsonl, sources/sorry_bench.jsonl, sources/manifest.json
  translated/<dataset>/<lang>.jsonl, translated/manifest.json
Every translated segment goes through the translation memory (work_dir/memory.sqlite), so a build that
is killed and rerun continues where it stopped and never translates a segment twice.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

from builders.config import ReleaseConfig, TranslationConfig
from builders.errors import ConfigError
from builders.files import atomic_write_jsonl, iter_jsonl, stable_hash, write_manifest
from builders.languages import LANGUAGES, SOURCE_LANGUAGE
from builders.progress import log

BENIGN = "benign"
SORRY_BENCH = "sorry_bench"
BENIGN_FIELDS = ("instruction", "input", "output")
ORIGINAL_TRANSLATOR = "original"


@dataclass
class EnginePlan:
    """Which engine translates each language (en -> L and L -> en)."""

    engines: dict[str, object]  # language -> Engine

    def translator_label(self, lang: str) -> str:
        if lang == SOURCE_LANGUAGE:
            return ORIGINAL_TRANSLATOR
        engine = self.engines[lang]
        return f"{engine.name}/{engine.model_id(SOURCE_LANGUAGE, lang)}"


def engine_candidates(tcfg: TranslationConfig, lang: str) -> list[str]:
    """Engine names to try for a language, in order: its per_language override, else translation.engines."""
    return [tcfg.per_language[lang]] if lang in tcfg.per_language else list(tcfg.engines)


def make_engine(tcfg: TranslationConfig, name: str):
    """The named engine with its translation.engine_options."""
    from builders.engines import get_engine

    return get_engine(name, **tcfg.engine_options.get(name, {}))


def plan_engines(cfg: ReleaseConfig) -> tuple[list[str], EnginePlan]:
    """Pick an engine per language before any work; a language without one stops the build."""
    tcfg = cfg.translation
    cache: dict[str, object] = {}

    def engine(name: str):
        if name not in cache:
            cache[name] = make_engine(tcfg, name)
        return cache[name]

    languages = list(cfg.languages)
    if tcfg.include_installed_argos:
        argos = engine("argos")
        for code in LANGUAGES:
            if code not in languages and argos.supports(SOURCE_LANGUAGE, code) and argos.supports(code, SOURCE_LANGUAGE):
                languages.append(code)

    chosen: dict[str, object] = {}
    for lang in languages:
        if lang == SOURCE_LANGUAGE:
            continue
        candidates = engine_candidates(tcfg, lang)
        for name in candidates:
            eng = engine(name)
            if eng.supports(SOURCE_LANGUAGE, lang) and (
                not tcfg.back_translate or eng.supports(lang, SOURCE_LANGUAGE)
            ):
                chosen[lang] = eng
                break
        else:
            hints = " ".join(engine(n).install_hint(SOURCE_LANGUAGE, lang) for n in candidates)
            raise ConfigError(
                f"no translation engine has a model for {SOURCE_LANGUAGE}<->{lang} "
                f"(tried {', '.join(candidates)}): {hints}"
            )
    return languages, EnginePlan(chosen)


def load_sources(cfg: ReleaseConfig) -> tuple[list[dict], list[dict], dict]:
    """Load, validate, filter and subset both sources; returns (benign, sorry_bench, stats)."""
    from builders.sorry_bench import SorryBenchSpec, load_sorry_bench
    from builders.sources import BenignSourceSpec, load_benign, safety_filter, select_subset

    benign: list[dict] = []
    seen: set[str] = set()
    per_source = {}
    for src in cfg.benign.sources:
        records = load_benign(BenignSourceSpec(**src.model_dump()))
        per_source[src.name] = len(records)
        for rec in records:
            if rec["id"] not in seen:
                seen.add(rec["id"])
                benign.append(rec)
    dropped: list[dict] = []
    if cfg.benign.safety_filter:
        benign, dropped = safety_filter(benign)
    benign = select_subset(benign, cfg.benign.subset, cfg.benign.seed)
    if not benign:
        raise ConfigError("the benign sources are empty after filtering; check benign.sources and the filter.")

    sb = cfg.sorry_bench
    spec_args = {k: v for k, v in sb.model_dump().items() if k != "limit" and v is not None}
    sorry = load_sorry_bench(SorryBenchSpec(**spec_args))
    if sb.limit is not None:
        sorry = sorry[: sb.limit]
    if not sorry:
        raise ConfigError(f"no SORRY-Bench prompts with prompt_style {sb.prompt_style!r}.")

    stats = {
        "benign_rows_per_source": per_source,
        "benign_rows": len(benign),
        "safety_filter_dropped": len(dropped),
        "safety_filter_dropped_ids": [r["id"] for r in dropped],
        "sorry_bench_prompts": len(sorry),
    }
    return benign, sorry, stats


def assign_splits(ids: list[str], test_fraction: float, seed: int) -> dict[str, str]:
    """Seeded train/test split over ids, the same for every language."""
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    n_test = max(1, math.ceil(len(order) * test_fraction)) if len(order) > 1 else 0
    test = set(order[:n_test])
    return {i: ("test" if i in test else "train") for i in ids}


def chat_messages(instruction: str, input_text: str, output: str) -> list[dict]:
    user = instruction if not input_text else f"{instruction}\n\n{input_text}"
    return [{"role": "user", "content": user}, {"role": "assistant", "content": output}]


def field_texts(row: dict, fields, prefix: str = "") -> list[str]:
    """The texts of `fields` in a row, in order; list-valued fields (SORRY-Bench `turns`) are flattened."""
    out: list[str] = []
    for f in fields:
        value = row[prefix + f]
        out.extend(value if isinstance(value, list) else [value])
    return out


def regroup(rows: list[dict], fields, flat: list) -> list[dict]:
    """The inverse of field_texts over many rows: a flat list with one item per text of `rows` (in
    field_texts order) back into {field: value} per row, list-valued fields as lists."""
    out, pos = [], 0
    for row in rows:
        parts = {}
        for f in fields:
            n = len(row[f]) if isinstance(row[f], list) else 1
            parts[f] = flat[pos: pos + n] if isinstance(row[f], list) else flat[pos]
            pos += n
        out.append(parts)
    return out


def _translate(texts, engine, source, target, memory, cfg, desc):
    from builders.translate import translate_texts

    return translate_texts(texts, engine=engine, source=source, target=target, memory=memory,
                           batch_segments=cfg.translation.batch_segments, desc=desc)


def build_language(lang, rows, fields, engine, memory, cfg, dataset) -> tuple[list[dict], dict]:
    """Translate `fields` of every row en -> lang and back; returns new rows and translation stats."""
    flat = [t for row in rows for t in field_texts(row, fields)]
    fwd, fstats = _translate(flat, engine, SOURCE_LANGUAGE, lang, memory, cfg, f"{dataset} en->{lang}")
    if cfg.translation.back_translate:
        back, bstats = _translate(fwd, engine, lang, SOURCE_LANGUAGE, memory, cfg, f"{dataset} {lang}->en")
    else:
        back, bstats = [None] * len(fwd), None
    out = [dict(row, **translated, **{f"bt_{f}": v for f, v in backs.items()})
           for row, translated, backs in zip(rows, regroup(rows, fields, fwd), regroup(rows, fields, back),
                                             strict=True)]
    return out, {"forward": vars(fstats), "back": vars(bstats) if bstats else None}


def run_build(cfg: ReleaseConfig) -> Path:
    """Run the build stage; returns the work directory."""
    from builders.memory import TranslationMemory

    work = cfg.work_path
    languages, plan = plan_engines(cfg)
    benign, sorry, source_stats = load_sources(cfg)
    log(f"sources: {len(benign)} benign rows ({source_stats['safety_filter_dropped']} dropped by the safety "
        f"filter), {len(sorry)} SORRY-Bench prompts; languages: {', '.join(languages)}")

    splits = assign_splits([r["id"] for r in benign], cfg.benign.test_fraction, cfg.benign.seed)
    for row in benign:
        row["split"] = splits[row["id"]]
    for row in sorry:
        row["split"] = "test"
    atomic_write_jsonl(work / "sources" / "benign.jsonl", benign)
    atomic_write_jsonl(work / "sources" / "sorry_bench.jsonl", sorry)
    write_manifest(work / "sources", "sources", cfg.model_dump(include={"benign", "sorry_bench"}),
                   ["benign.jsonl", "sorry_bench.jsonl"], stats=source_stats)

    datasets = {BENIGN: (benign, BENIGN_FIELDS), SORRY_BENCH: (sorry, ("turns",))}
    translation_stats: dict = {}
    outputs: list[str] = []
    with TranslationMemory(work / "memory.sqlite") as memory:
        for lang in languages:
            for dataset, (rows, fields) in datasets.items():
                if lang == SOURCE_LANGUAGE:
                    new_rows = [dict(r, **{f"bt_{f}": r[f] for f in fields}) for r in rows]
                    stats = None
                else:
                    new_rows, stats = build_language(lang, rows, fields, plan.engines[lang], memory, cfg, dataset)
                label = plan.translator_label(lang)
                for r in new_rows:
                    r["language"] = lang
                    r["translator"] = label
                    if dataset == BENIGN:
                        r["messages"] = chat_messages(r["instruction"], r["input"], r["output"])
                rel = f"{dataset}/{lang}.jsonl"
                atomic_write_jsonl(work / "translated" / rel, new_rows)
                outputs.append(rel)
                translation_stats[f"{dataset}/{lang}"] = {"translator": label, **(stats or {})}
    write_manifest(
        work / "translated", "translate",
        {"config_hash": stable_hash(cfg.model_dump()), "languages": languages},
        outputs, translation=translation_stats, languages=languages,
    )
    log(f"build finished: {work / 'translated'}")
    return work


def read_translated(work: Path, dataset: str, lang: str) -> list[dict]:
    return list(iter_jsonl(work / "translated" / dataset / f"{lang}.jsonl"))
