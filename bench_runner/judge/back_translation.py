"""Judging answers in English: which languages' answers are back-translated (and by which engine), the English
source requests they are judged against, and the back-translation itself (the builders' translate API)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_runner.config import DatasetsConfig, JudgeConfig
from safedrift.core.errors import ConfigError, DataError, SafedriftError


def answer_language_plan(cfg: JudgeConfig, languages: Sequence[str]) -> dict[str, dict]:
    """Per eval language, how its answers are judged: {"answers_in", "engine", "model", "reason"}.

    An English answer needs no back-translation: its English verdict is its native one. Another language is
    judged in English when one of judge.translation_engines translates it to English here (the first that
    does); otherwise natively, and "reason" says why."""
    from builders.engines import get_engine

    plan: dict[str, dict] = {}
    for lang in languages:
        entry: dict[str, Any] = {"answers_in": cfg.answers_in, "engine": None, "model": None, "reason": None}
        plan[lang] = entry
        if cfg.answers_in == "native":
            continue
        if lang == "en":
            entry["reason"] = "English answers are not translated: their English verdict is the native one"
            continue
        hints = []
        for name in cfg.translation_engines:
            try:
                engine = get_engine(name)
                if engine.supports(lang, "en"):
                    entry.update(engine=name, model=engine.model_id(lang, "en"))
                    break
                hints.append(f"{name}: {engine.install_hint(lang, 'en')}")
            except SafedriftError as exc:  # the engine's package is missing or its models are unreadable
                hints.append(f"{name}: {exc}")
        else:
            entry.update(answers_in="native",
                         reason=f"judged natively only: no translation engine translates {lang}->en here "
                                f"({' '.join(hints) or 'judge.translation_engines is empty'})")
    return plan


def english_requests(datasets: DatasetsConfig) -> dict[str, str]:
    """item_id -> the English SORRY-Bench request: every item, whatever sorry_limit or the QA filter keep for
    generation (English is the source text the others were translated from)."""
    from bench_runner.data import SORRY, prompts_of

    try:
        prompts = prompts_of(SORRY, datasets.model_copy(update={"sorry_limit": None, "require_qa_pass": False}), "en")
    except DataError as exc:
        raise DataError(f"judging answers in English needs the English SORRY-Bench prompts, which could not be "
                        f"read ({str(exc).rstrip('.')}); or set judge.answers_in: native.") from None
    return {p.item_id: p.messages[-1]["content"] for p in prompts}


class BackTranslator:
    """Answers into English with the builders' translate API; a translation memory (SQLite) makes reruns
    and identical answers free. Use as a context manager: the memory opens on first use."""

    def __init__(self, plan: dict[str, dict], memory_path: str | os.PathLike):
        self.plan = plan
        self.memory_path = Path(memory_path)
        self.stats: dict[str, dict[str, int]] = {}
        self._engines: dict[str, Any] = {}
        self._memory: Any = None

    def __enter__(self) -> BackTranslator:
        return self

    def __exit__(self, *exc) -> None:
        if self._memory is not None:
            self._memory.close()
            self._memory = None

    def to_english(self, texts: list[str], language: str) -> list[str]:
        from builders.engines import get_engine
        from builders.memory import TranslationMemory
        from builders.translate import translate_texts

        name = self.plan[language]["engine"]
        if name is None:
            raise ConfigError(f"no translation engine translates {language}->en; see judge.translation_engines.")
        if name not in self._engines:
            self._engines[name] = get_engine(name)
        if self._memory is None:
            self._memory = TranslationMemory(self.memory_path)
        out, stats = translate_texts(texts, engine=self._engines[name], source=language, target="en",
                                     memory=self._memory, progress=False)
        total = self.stats.setdefault(language, {"segments": 0, "memory_hits": 0, "translated": 0})
        total["segments"] += stats.segments
        total["memory_hits"] += stats.memory_hits
        total["translated"] += stats.translated
        return out
