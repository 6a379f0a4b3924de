"""Translate many texts: segment, dedupe, look up the translation memory, translate the rest, reassemble."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from builders.engines.base import Engine
from builders.memory import TranslationMemory
from builders.segments import segment_text
from safedrift.core.errors import ConfigError
from safedrift.core.log import progress as progress_bar


@dataclass
class TranslationStats:
    segments: int  # segments in all texts, duplicates counted
    unique: int  # distinct segments
    memory_hits: int  # distinct segments found in the translation memory
    translated: int  # distinct segments sent to the engine


def translate_texts(
    texts: Sequence[str],
    *,
    engine: Engine,
    source: str,
    target: str,
    memory: TranslationMemory,
    batch_segments: int = 512,
    progress: bool = True,
    desc: str | None = None,
) -> tuple[list[str], TranslationStats]:
    """Translate texts with engine, resuming from (and filling) memory.

    Misses go to the engine in chunks of batch_segments, shortest first so each batch is tight, and each
    chunk is stored before the next starts: a killed run loses at most one chunk, and a rerun translates
    nothing twice.
    """
    if source == target:
        return list(texts), TranslationStats(0, 0, 0, 0)
    if batch_segments < 1:
        raise ConfigError(f"batch_segments must be at least 1, got {batch_segments}.")
    if not engine.supports(source, target):
        hint = engine.install_hint(source, target)
        raise ConfigError(f"the {engine.name} engine cannot translate {source}->{target}; {hint}")
    segmented = [segment_text(t, source) for t in texts]
    unique = list(dict.fromkeys(s for st in segmented for s in st.segments))
    total = sum(len(st.segments) for st in segmented)
    model = engine.model_id(source, target)
    done = memory.get_many(engine.name, model, source, target, unique)
    hits = len(done)
    misses = sorted((s for s in unique if s not in done), key=len)
    with progress_bar(total=len(unique), initial=hits, unit="seg", enabled=progress,
                  desc=desc or f"{engine.name} {source}->{target}") as bar:
        for i in range(0, len(misses), batch_segments):
            chunk = misses[i : i + batch_segments]
            outputs = engine.translate_batch(chunk, source, target)
            if len(outputs) != len(chunk):
                raise RuntimeError(
                    f"{engine.name} returned {len(outputs)} translations for {len(chunk)} segments"
                )
            pairs = list(zip(chunk, outputs, strict=True))
            memory.put_many(engine.name, model, source, target, pairs)
            done.update(pairs)
            bar.update(len(chunk))
    results = [st.assemble([done[s] for s in st.segments]) for st in segmented]
    return results, TranslationStats(
        segments=total, unique=len(unique), memory_hits=hits, translated=len(misses)
    )
