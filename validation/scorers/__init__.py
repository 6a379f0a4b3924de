"""QA scorers: one Protocol, a registry of name -> "module:Class", imported only when used.

A scorer adds per-row columns (and names each failed check in the row's `qa_flags` list) and returns a
per-language summary that is merged into the language report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from builders.build import field_texts
from safedrift.languages import SOURCE_LANGUAGE
from safedrift.registry import LazyRegistry
from safedrift.specs import DatasetSpec
from validation.config import QAConfig, QAThresholds

SCORERS = LazyRegistry("QA scorer", {
    "backtranslation": "validation.scorers.backtranslation:BacktranslationScorer",
    "lang_id": "validation.scorers.lang_id:LangIdScorer",
    "structure": "validation.scorers.structure:StructureScorer",
    "reference": "validation.scorers.reference:ReferenceScorer",
    "comet": "validation.scorers.comet:CometScorer",
})

# Flags from thresholded metrics: set only when the threshold is, so they always fail a row.
METRIC_FLAGS = frozenset({"bt_chrf", "bt_bleu", "lang_id", "comet"})


@dataclass
class LanguageContext:
    """What a scorer knows about the language it scores; `sources[i]` is the English row of `rows[i]`."""

    spec: DatasetSpec
    lang: str
    sources: list[dict]
    qa: QAConfig
    thresholds: QAThresholds

    @property
    def dataset(self) -> str:
        return self.spec.key

    @property
    def fields(self) -> tuple[str, ...]:
        return self.spec.text_fields

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


def flag(row: dict, name: str) -> None:
    flags = row.setdefault("qa_flags", [])
    if name not in flags:
        flags.append(name)


def get_scorer(name: str) -> Scorer:
    scorer: Scorer = SCORERS.create(name)
    return scorer
