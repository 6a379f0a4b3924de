"""Back-translation chrF/BLEU (sacrebleu) against the English source, per row and per corpus."""

from __future__ import annotations

from safedrift.languages import SOURCE_LANGUAGE
from safedrift.log import track
from validation.metrics import corpus_scores, sentence_scores
from validation.scorers import LanguageContext, flag


class BacktranslationScorer:
    name = "backtranslation"

    def score(self, rows: list[dict], ctx: LanguageContext) -> dict:
        thr = ctx.thresholds
        hyps, refs = [], []
        for row, src in track(list(zip(rows, ctx.sources, strict=True)), desc=f"bt {ctx.dataset}/{ctx.lang}",
                             unit="row"):
            bt, ref = ctx.joined(row, "bt_"), ctx.joined(src)
            hyps.append(bt)
            refs.append(ref)
            # The back-translation is English, so BLEU uses English tokenization whatever the target.
            row["bt_chrf"], row["bt_bleu"] = sentence_scores(bt, ref, SOURCE_LANGUAGE)
            if ctx.is_source:
                continue
            if thr.chrf is not None and row["bt_chrf"] < thr.chrf:
                flag(row, "bt_chrf")
            if thr.bleu is not None and row["bt_bleu"] < thr.bleu:
                flag(row, "bt_bleu")
        if not rows:
            return {}
        return {f"corpus_{k}": v for k, v in corpus_scores(hyps, refs, SOURCE_LANGUAGE).items()}
