"""Structure checks: protected spans kept, length ratio within learned bounds, no copy, no empty output.

The protected spans (code blocks, inline code, URLs, numbers, placeholders) are the ones builders/segments.py
shields from the translator, found with its own patterns, so QA checks exactly what the build promised.

Length-ratio rule (per language, learned from the corpus being scored): r = translated chars / source
chars for every row whose source has at least MIN_SOURCE_CHARS characters and whose translation is not
empty; in log space, bounds = median +- width x max(1.4826 x MAD, MIN_LOG_SIGMA), with width from
`qa.length_ratio_width` (default 4, i.e. about 4 standard deviations for a normal spread). With fewer than
MIN_ROWS such rows the spread cannot be estimated, and the fixed band FALLBACK_BOUNDS is used instead.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter

from builders.segments import protected_spans
from safedrift.log import track
from validation.scorers import LanguageContext, flag
from validation.scorers.lang_id import prose

MIN_SOURCE_CHARS = 20
MIN_ROWS = 30
MIN_LOG_SIGMA = 0.05  # a corpus of near-identical ratios would otherwise flag a 2 % difference
FALLBACK_BOUNDS = (1 / 3, 3.0)
# A field is a copy of its source only if it has enough prose that a translator must have changed it.
MIN_COPY_WORDS = 4
MIN_COPY_LETTERS = 20


def span_kind(span: str) -> str:
    """Which structure check a protected span belongs to."""
    if span.startswith("`"):
        return "inline_code"
    if "://" in span or span.startswith("www.") or "@" in span:
        return "url"
    if span[0] in "{%$<":
        return "placeholder"
    if span[0].isdigit():
        return "number"
    return "inline_code"  # snake_case identifiers


def protected_items(text: str) -> Counter:
    """Counter of (kind, span) for every protected span in text."""
    items: Counter = Counter()
    for span, is_code in protected_spans(text):
        items[("code_block", span.strip()) if is_code else (span_kind(span), span)] += 1
    return items


def _occurrences(kind: str, span: str, text: str) -> int:
    if kind == "number":
        # "5" must not be found inside "15"
        return len(re.findall(rf"(?<!\d){re.escape(span)}(?!\d)", text))
    return text.count(span)


def missing_spans(source: str, translation: str) -> list[tuple[str, str]]:
    """(kind, span) of source spans that occur fewer times in the translation than in the source."""
    return sorted((kind, span) for (kind, span), n in protected_items(source).items()
                  if _occurrences(kind, span, translation) < n)


def length_bounds(ratios: list[float], width: float) -> dict:
    """Robust bounds on the length ratio (see the module docstring for the rule)."""
    usable = [r for r in ratios if r > 0]
    if len(usable) < MIN_ROWS:
        low, high = FALLBACK_BOUNDS
        median = statistics.median(usable) if usable else None
        return {"low": low, "high": high, "median": median, "n": len(usable),
                "rule": f"fixed {low:.2f}-{high:.2f}: fewer than {MIN_ROWS} rows to learn from"}
    logs = [math.log(r) for r in usable]
    med = statistics.median(logs)
    sigma = max(1.4826 * statistics.median(abs(x - med) for x in logs), MIN_LOG_SIGMA)
    return {"low": round(math.exp(med - width * sigma), 4), "high": round(math.exp(med + width * sigma), 4),
            "median": round(math.exp(med), 4), "n": len(usable),
            "rule": f"median x/÷ exp({width:g} x robust SD of log ratio), n={len(usable)}"}


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _is_copy(source: str, translation: str) -> bool:
    """The translation is the source itself (up to case and spacing) and the source has prose to translate."""
    if _norm(translation) != _norm(source):
        return False
    src_prose = prose([source], "en")
    return len(src_prose.split()) >= MIN_COPY_WORDS and sum(map(str.isalpha, src_prose)) >= MIN_COPY_LETTERS


class StructureScorer:
    name = "structure"

    def score(self, rows: list[dict], ctx: LanguageContext) -> dict:
        ratios: list[float] = []
        for row, src in track(list(zip(rows, ctx.sources, strict=True)),
                             desc=f"structure {ctx.dataset}/{ctx.lang}", unit="row"):
            src_texts, out_texts = ctx.texts(src), ctx.texts(row)
            out_texts += [""] * (len(src_texts) - len(out_texts))  # a list field that lost items
            src_chars, out_chars = sum(map(len, src_texts)), sum(map(len, out_texts))
            ratio = out_chars / src_chars if src_chars >= MIN_SOURCE_CHARS and out_chars else None
            row["length_ratio"] = round(ratio, 4) if ratio is not None else None
            if ratio is not None:
                ratios.append(ratio)
            if ctx.is_source:
                continue
            for s, t in zip(src_texts, out_texts, strict=False):
                if s.strip() and not t.strip():
                    flag(row, "empty")
                    continue
                for kind, _span in missing_spans(s, t):
                    flag(row, kind)
                if _is_copy(s, t):
                    flag(row, "untranslated")
        bounds = length_bounds(ratios, ctx.thresholds.length_ratio_width or 4.0)
        if not ctx.is_source:
            for row in rows:
                r = row["length_ratio"]
                if r is not None and not bounds["low"] <= r <= bounds["high"]:
                    flag(row, "length_ratio")
        return {"length_ratio": bounds}
