"""Structure checks: protected spans kept, length ratio within learned bounds, no copy, no empty output.

The protected spans (code blocks, unfenced code, inline code, URLs, numbers, placeholders) are the ones
builders/segments.py shields from the translator, found with its own patterns, so QA checks exactly what the
build promised: unfenced code (lines shaped like statements, outside a fence) must come back byte for byte.

Length-ratio rule (per language, learned from the corpus being scored): r = translated chars / source
chars for every row whose source has at least MIN_SOURCE_CHARS characters and whose translation is not
empty; in log space, bounds = median +- width x max(1.4826 x MAD, MIN_LOG_SIGMA), with width from
`qa.length_ratio_width` (default 4, i.e. about 4 standard deviations for a normal spread). With fewer than
MIN_ROWS such rows the spread cannot be estimated, and the fixed band FALLBACK_BOUNDS is used instead.
The rule is applied to the whole row (`length_ratio`) and to each field on its own (`length_ratio_fields`,
bounds learned per field name, or over all fields when one field has fewer than MIN_ROWS); a row fails when
the row or any field is out of bounds, so a halved output is not hidden by a long correct input.
A short text's ratio varies more (one word more is a tenth of a 40-character sentence): for a source of
L < SHORT_CHARS characters the band is widened by sqrt(SHORT_CHARS / L), the way a ratio of counts spreads.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict

from builders.segments import protected_spans
from safedrift.core.log import track
from validation.scorers import LanguageContext, field_name, flag
from validation.scorers.lang_id import prose

MIN_SOURCE_CHARS = 20
MIN_ROWS = 30
MIN_LOG_SIGMA = 0.05  # a corpus of near-identical ratios would otherwise flag a 2 % difference
FALLBACK_BOUNDS = (1 / 3, 3.0)
SHORT_CHARS = 120
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
        if is_code:
            fenced = span.lstrip().startswith(("```", "~~~"))
            items[("code_block" if fenced else "unfenced_code", span.strip())] += 1
        else:
            items[(span_kind(span), span)] += 1
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


def within(ratio: float, bounds: dict, source_chars: int) -> bool:
    """Whether `ratio` is inside `bounds`, widened for a short source (see the module docstring)."""
    median = bounds["median"]
    if not median:
        return bounds["low"] <= ratio <= bounds["high"]
    widen = math.sqrt(max(1.0, SHORT_CHARS / max(source_chars, 1)))
    low = math.exp(math.log(median) - (math.log(median) - math.log(bounds["low"])) * widen)
    high = math.exp(math.log(median) + (math.log(bounds["high"]) - math.log(median)) * widen)
    return low <= ratio <= high


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _is_copy(source: str, translation: str) -> bool:
    """The translation is the source itself (up to case and spacing) and the source has prose to translate."""
    if _norm(translation) != _norm(source):
        return False
    src_prose = prose([source], "en")
    return len(src_prose.split()) >= MIN_COPY_WORDS and sum(map(str.isalpha, src_prose)) >= MIN_COPY_LETTERS


def _ratio(source: str, translation: str) -> float | None:
    return len(translation) / len(source) if len(source) >= MIN_SOURCE_CHARS and translation else None


class StructureScorer:
    name = "structure"

    def score(self, rows: list[dict], ctx: LanguageContext) -> dict:
        ratios: list[float] = []
        field_ratios: dict[str, list[float]] = defaultdict(list)
        source_chars: list[tuple[int, dict[str, int]]] = []  # per row: all fields', each field's
        for row, src in track(list(zip(rows, ctx.sources, strict=True)),
                             desc=f"structure {ctx.dataset}/{ctx.lang}", unit="row"):
            pairs = ctx.pairs(row, src)
            ratio = _ratio("".join(s for _, s, _ in pairs), "".join(t for _, _, t in pairs))
            row["length_ratio"] = round(ratio, 4) if ratio is not None else None
            if ratio is not None:
                ratios.append(ratio)
            row["length_ratio_fields"] = {}
            source_chars.append((sum(len(s) for _, s, _ in pairs), {label: len(s) for label, s, _ in pairs}))
            for label, s, t in pairs:
                if (r := _ratio(s, t)) is not None:
                    row["length_ratio_fields"][label] = round(r, 4)
                    field_ratios[field_name(label)].append(r)
            if ctx.is_source:
                continue
            for _, s, t in pairs:
                if s.strip() and not t.strip():
                    flag(row, "empty")
                    continue
                for kind, _span in missing_spans(s, t):
                    flag(row, kind)
                if _is_copy(s, t):
                    flag(row, "untranslated")
        width = ctx.thresholds.length_ratio_width
        bounds = length_bounds(ratios, width)
        pooled = [r for rs in field_ratios.values() for r in rs]
        field_bounds = {name: length_bounds(rs if len(rs) >= MIN_ROWS else pooled, width)
                        for name, rs in sorted(field_ratios.items())}
        if not ctx.is_source:
            for row, (chars, field_chars) in zip(rows, source_chars, strict=True):
                r = row["length_ratio"]
                if r is not None and not within(r, bounds, chars):
                    flag(row, "length_ratio")
                for label, fr in row["length_ratio_fields"].items():
                    if not within(fr, field_bounds[field_name(label)], field_chars[label]):
                        flag(row, "length_ratio")
        return {"length_ratio": bounds, "length_ratio_fields": field_bounds}
