"""The build stage: sources -> translation (+ back-translation) -> per-language row files.

Writes, under the work directory (all atomically, each with a manifest):
  sources/<dataset>.jsonl, sources/manifest.json
  translated/<dataset>/<lang>.jsonl, translated/manifest.json (with `translation.select: auto`, its
  `engine_selection`: the calibration table and the choice per language, builders/select.py)
where <dataset> is each DatasetSpec's key. Every translated segment goes through the translation memory
(work_dir/memory.sqlite), so a build that is killed and rerun continues where it stopped and never
translates a segment twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from builders.config import BuildConfig, TranslationConfig
from builders.engines import Engine, get_engine
from builders.memory import TranslationMemory
from builders.select import select_engines
from builders.sources import LOADERS, LoadedDataset
from builders.translate import translate_texts
from safedrift.core.errors import ConfigError
from safedrift.core.files import atomic_write_jsonl, iter_jsonl, stable_hash, write_manifest
from safedrift.core.languages import LANGUAGES, SOURCE_LANGUAGE
from safedrift.core.log import log
from safedrift.core.specs import DatasetSpec

ORIGINAL_TRANSLATOR = "original"


@dataclass
class EnginePlan:
    """Which engine translates each language (en -> L and L -> en)."""

    engines: dict[str, Engine]  # language -> Engine

    def translator_label(self, lang: str) -> str:
        if lang == SOURCE_LANGUAGE:
            return ORIGINAL_TRANSLATOR
        engine = self.engines[lang]
        return f"{engine.name}/{engine.model_id(SOURCE_LANGUAGE, lang)}"


def engine_candidates(tcfg: TranslationConfig, lang: str) -> list[str]:
    """Engine names to try for a language, in order: its per_language override, else translation.engines."""
    return [tcfg.per_language[lang]] if lang in tcfg.per_language else list(tcfg.engines)


def make_engine(tcfg: TranslationConfig, name: str) -> Engine:
    """The named engine with its translation.engine_options."""
    return get_engine(name, **tcfg.engine_options.get(name, {}))


def candidate_engines(cfg: BuildConfig) -> tuple[list[str], dict[str, list[Engine]]]:
    """The languages to build and, per language, the engines that can translate it (both directions when
    back-translating) in preference order: every one for `select: auto`, the first for `select: first`.
    A language without one stops the build before any work."""
    tcfg = cfg.translation
    cache: dict[str, Engine] = {}

    def engine(name: str) -> Engine:
        if name not in cache:
            cache[name] = make_engine(tcfg, name)
        return cache[name]

    languages = list(cfg.languages)
    if tcfg.include_installed_argos:
        argos = engine("argos")
        for code in LANGUAGES:
            if code not in languages and argos.supports(SOURCE_LANGUAGE, code) and argos.supports(code, SOURCE_LANGUAGE):
                languages.append(code)

    candidates: dict[str, list[Engine]] = {}
    for lang in languages:
        if lang == SOURCE_LANGUAGE:
            continue
        names = engine_candidates(tcfg, lang)
        able: list[Engine] = []
        for name in names:
            eng = engine(name)
            if eng.supports(SOURCE_LANGUAGE, lang) and (
                not tcfg.back_translate or eng.supports(lang, SOURCE_LANGUAGE)
            ):
                able.append(eng)
                if tcfg.select == "first":
                    break  # the later engines are not needed (nor built)
        if not able:
            hints = " ".join(engine(n).install_hint(SOURCE_LANGUAGE, lang) for n in names)
            raise ConfigError(
                f"no translation engine has a model for {SOURCE_LANGUAGE}<->{lang} "
                f"(tried {', '.join(names)}): {hints}"
            )
        candidates[lang] = able
    return languages, candidates


def load_sources(cfg: BuildConfig) -> dict[str, LoadedDataset]:
    """spec key -> its loaded English rows (validated, filtered, split), through the spec's loader."""
    return {spec.key: LOADERS.get(spec.key)(getattr(cfg, spec.key)) for spec in cfg.specs()}


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


def translate_fields(rows: list[dict], fields, engine: Engine, source: str, target: str,
                     memory: TranslationMemory, batch_segments: int, desc: str) -> tuple[list[dict], object]:
    """`fields` of every row translated source -> target: ({field: translation} per row, stats)."""
    flat = [t for row in rows for t in field_texts(row, fields)]
    out, stats = translate_texts(flat, engine=engine, source=source, target=target, memory=memory,
                                 batch_segments=batch_segments, desc=desc)
    return regroup(rows, fields, out), stats


def build_language(lang: str, rows: list[dict], spec: DatasetSpec, engine: Engine, memory: TranslationMemory,
                   cfg: BuildConfig) -> tuple[list[dict], dict]:
    """Translate the spec's fields of every row en -> lang and back; returns new rows and translation stats."""
    fields, batch = spec.text_fields, cfg.translation.batch_segments
    fwd, fstats = translate_fields(rows, fields, engine, SOURCE_LANGUAGE, lang, memory, batch,
                                   f"{spec.key} en->{lang}")
    if cfg.translation.back_translate:
        translated = [dict(row, **parts) for row, parts in zip(rows, fwd, strict=True)]
        back, bstats = translate_fields(translated, fields, engine, lang, SOURCE_LANGUAGE, memory, batch,
                                        f"{spec.key} {lang}->en")
    else:
        back, bstats = [{f: None for f in fields} for _ in rows], None
    out = [dict(row, **parts, **{f"bt_{f}": v for f, v in backs.items()})
           for row, parts, backs in zip(rows, fwd, back, strict=True)]
    return out, {"forward": vars(fstats), "back": vars(bstats) if bstats else None}


def run_build(cfg: BuildConfig) -> Path:
    """Run the build stage; returns the work directory."""
    work = cfg.work_path
    languages, candidates = candidate_engines(cfg)
    loaded = load_sources(cfg)
    log("sources: " + ", ".join(f"{len(d.rows)} {key} rows" for key, d in loaded.items())
        + f"; languages: {', '.join(languages)}")
    for key, data in loaded.items():
        atomic_write_jsonl(work / "sources" / f"{key}.jsonl", data.rows)
    write_manifest(work / "sources", "sources", cfg.model_dump(include={"datasets", *loaded}),
                   [f"{key}.jsonl" for key in loaded],
                   stats={key: d.stats for key, d in loaded.items()},
                   card={key: {"sources": d.source_lines, "filters": d.filter_lines} for key, d in loaded.items()})

    translation_stats: dict = {}
    outputs: list[str] = []
    selection: dict | None = None
    with TranslationMemory(work / "memory.sqlite") as memory:
        if cfg.translation.select == "auto":
            texts = {spec.key: [t for row in loaded[spec.key].rows for t in field_texts(row, spec.text_fields)]
                     for spec in cfg.specs()}
            chosen, selection = select_engines(cfg.translation, candidates, texts, memory)
        else:
            chosen = {lang: engines[0] for lang, engines in candidates.items()}
        plan = EnginePlan(chosen)
        for lang in languages:
            for spec in cfg.specs():
                rows = loaded[spec.key].rows
                stats = None
                if lang == SOURCE_LANGUAGE:
                    new_rows = [dict(r, **{f"bt_{f}": r[f] for f in spec.text_fields}) for r in rows]
                else:
                    new_rows, stats = build_language(lang, rows, spec, plan.engines[lang], memory, cfg)
                label = plan.translator_label(lang)
                for r in new_rows:
                    r["language"] = lang
                    r["translator"] = label
                    if spec.chat_fields:
                        r["messages"] = chat_messages(*(r[f] for f in spec.chat_fields))
                rel = f"{spec.key}/{lang}.jsonl"
                atomic_write_jsonl(work / "translated" / rel, new_rows)
                outputs.append(rel)
                translation_stats[f"{spec.key}/{lang}"] = {"translator": label, **(stats or {})}
    engines = {e.name: e.package for e in plan.engines.values() if e.package}
    write_manifest(
        work / "translated", "translate",
        {"config_hash": stable_hash(cfg.model_dump()), "languages": languages},
        outputs, translation=translation_stats, languages=languages, engine_packages=engines,
        overrides=cfg._overrides,  # the command line's --set, as given (provenance)
        **({"engine_selection": selection} if selection else {}),
    )
    log(f"build finished: {work / 'translated'}")
    return work


def read_translated(work: Path, dataset: str, lang: str) -> list[dict]:
    return list(iter_jsonl(work / "translated" / dataset / f"{lang}.jsonl"))
