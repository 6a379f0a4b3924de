"""Decoding settings, shared by generation backends and model judges, and the answer budget per language."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench_runner.config import GenerationConfig
    from bench_runner.data import Prompt

# Fertility is measured against English: the prompts' source language and the default budget's.
REFERENCE_LANGUAGE = "en"


@dataclass(frozen=True)
class SamplingParams:
    max_new_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0

    def to_dict(self) -> dict:
        return {"max_new_tokens": self.max_new_tokens, "temperature": self.temperature,
                "top_p": self.top_p, "seed": self.seed, "do_sample": self.temperature > 0}

    def with_budget(self, max_new_tokens: int) -> SamplingParams:
        return dataclasses.replace(self, max_new_tokens=max_new_tokens)


def token_fertility(tokenizer, prompts: Sequence[Prompt]) -> dict[str, float]:
    """Per language: how many tokens its user text takes relative to English, on the items both have (the same
    SORRY-Bench / benign / XSTest items in every language). English is 1.0; a language without shared items is
    left out."""
    tokens: dict[tuple[str, str], int] = {}
    for p in prompts:
        text = "\n".join(m["content"] for m in p.messages if m["role"] == "user")
        tokens[(p.language, f"{p.kind}:{p.item_id}")] = len(tokenizer(text, add_special_tokens=False)["input_ids"])
    english = {item: n for (lang, item), n in tokens.items() if lang == REFERENCE_LANGUAGE}
    out: dict[str, float] = {}
    for lang in dict.fromkeys(lang for lang, _ in tokens):
        shared = [item for (lg, item) in tokens if lg == lang and item in english]
        if shared and sum(english[i] for i in shared):
            out[lang] = sum(tokens[(lang, i)] for i in shared) / sum(english[i] for i in shared)
    return out


def needs_fertility(cfg: GenerationConfig) -> bool:
    return cfg.max_new_tokens_scale == "fertility"


def language_budgets(cfg: GenerationConfig, languages: Sequence[str],
                     fertility: dict[str, float] | None = None) -> dict[str, int]:
    """max_new_tokens per eval language: generation.max_new_tokens_by_language where it names the language, else
    max_new_tokens, scaled by the language's token fertility (never below the English budget) when
    generation.max_new_tokens_scale is "fertility"."""
    out = {}
    for lang in languages:
        if lang in cfg.max_new_tokens_by_language:
            out[lang] = cfg.max_new_tokens_by_language[lang]
        elif needs_fertility(cfg):
            if fertility is None or lang not in fertility:
                raise ValueError(f"no token fertility for {lang!r}: max_new_tokens_scale: fertility measures it "
                                 f"against {REFERENCE_LANGUAGE!r} prompts, so add it to eval_languages")
            out[lang] = round(cfg.max_new_tokens * max(1.0, fertility[lang]))
        else:
            out[lang] = cfg.max_new_tokens
    return out


def prompt_budgets(cfg: GenerationConfig, tokenizer, prompts: Sequence[Prompt]) -> dict[str, int]:
    """The budget of every language of `prompts` (the run's whole list, so a resumed run gets the same)."""
    languages = list(dict.fromkeys(p.language for p in prompts))
    return language_budgets(cfg, languages, token_fertility(tokenizer, prompts) if needs_fertility(cfg) else None)
