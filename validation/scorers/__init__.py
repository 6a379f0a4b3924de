"""QA scorers: one Protocol, a registry of name -> "module:Class", imported only when used.

A scorer adds per-row columns (and names each failed check in the row's `qa_flags` list) and returns a
per-language summary that is merged into the language report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from builders.build import field_texts
from safedrift.core.languages import SOURCE_LANGUAGE
from safedrift.core.registry import LazyRegistry
from safedrift.core.specs import DatasetSpec
from validation.config import QAConfig, QAThresholds

SCORERS = LazyRegistry("QA scorer", {
    "backtranslation": "validation.scorers.backtranslation:BacktranslationScorer",
    "lang_id": "validation.scorers.lang_id:LangIdScorer",
    "structure": "validation.scorers.structure:StructureScorer",
    "alignment": "validation.scorers.alignment:AlignmentScorer",
    "similarity": "validation.scorers.similarity:SimilarityScorer",
    "reference": "validation.scorers.reference:ReferenceScorer",
    "comet": "validation.scorers.comet:CometScorer",
    "harm": "validation.scorers.harm:HarmScorer",
})

# Flags from thresholded metrics, and the harm guard's: set only when the threshold or the guard is, so they
# always fail a row.
METRIC_FLAGS = frozenset({"bt_chrf", "bt_bleu", "lang_id", "comet", "similarity", "intent_lost"})


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

    def labels(self, row: dict) -> list[str]:
        """A name per text of `texts(row)`: the field's, with the item's index for a list field (`turns[0]`)."""
        out: list[str] = []
        for f in self.fields:
            value = row[f]
            if isinstance(value, list):
                out.extend(f"{f}[{i}]" for i in range(len(value)))
            else:
                out.append(f)
        return out

    def pairs(self, row: dict, src: dict, prefix: str = "") -> list[tuple[str, str, str]]:
        """(label, English text, this row's text) per text of the source row; a list field that lost items
        in translation gives them as empty texts."""
        out_texts = self.texts(row, prefix)
        src_texts = self.texts(src)
        out_texts += [""] * (len(src_texts) - len(out_texts))
        return list(zip(self.labels(src), src_texts, out_texts, strict=False))


def field_name(label: str) -> str:
    """`turns[0]` -> `turns`: the name thresholds and bounds are set for."""
    return label.split("[", 1)[0]


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
