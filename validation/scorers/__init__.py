"""QA scorers: one Protocol, a registry of name -> "module:Class", imported only when used.

A scorer adds per-row columns (and names each failed check in the row's `qa_flags` list) and returns a
per-language summary that is merged into the language report.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Protocol

from builders.build import field_texts
from builders.config import QAConfig, QAThresholds
from builders.errors import ConfigError
from builders.languages import SOURCE_LANGUAGE

SCORERS: dict[str, str] = {
    "backtranslation": "validation.scorers.backtranslation:BacktranslationScorer",
    "lang_id": "validation.scorers.lang_id:LangIdScorer",
    "structure": "validation.scorers.structure:StructureScorer",
    "reference": "validation.scorers.reference:ReferenceScorer",
    "comet": "validation.scorers.comet:CometScorer",
}

# Flags from thresholded metrics: set only when the threshold is, so they always fail a row.
METRIC_FLAGS = frozenset({"bt_chrf", "bt_bleu", "lang_id", "comet"})


@dataclass
class LanguageContext:
    """What a scorer knows about the language it scores; `sources[i]` is the English row of `rows[i]`."""

    dataset: str
    lang: str
    fields: tuple[str, ...]
    sources: list[dict]
    qa: QAConfig
    thresholds: QAThresholds

    @property
    def is_source(self) -> bool:
        # The English original is not a translation: it is measured but never flagged.
        return self.lang == SOURCE_LANGUAGE

    def texts(self, row: dict, prefix: str = "") -> list[str]:
        return [t or "" for t in field_texts(row, self.fields, prefix)]

    def joined(self, row: dict, prefix: str = "") -> str:
        return "\n".join(t for t in self.texts(row, prefix) if t)


class Scorer(Protocol):
    name: str

    def score(self, rows: list[dict], ctx: LanguageContext) -> dict:
        """Add this scorer's columns/flags to `rows` in place; return the per-language summary."""
        ...


def row_key(row: dict):
    """A row's id across languages and files: `id` (benign) or `question_id` (SORRY-Bench)."""
    return row.get("id", row.get("question_id"))


def flag(row: dict, name: str) -> None:
    flags = row.setdefault("qa_flags", [])
    if name not in flags:
        flags.append(name)


def get_scorer(name: str) -> Scorer:
    try:
        target = SCORERS[name]
    except KeyError:
        close = difflib.get_close_matches(name, SCORERS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"unknown QA scorer {name!r}; {hint}known scorers: {', '.join(SCORERS)}.") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)()
