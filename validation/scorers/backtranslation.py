"""Back-translation chrF/BLEU (sacrebleu) against the English source: per field, per row and per corpus.

Each text field (instruction, input, output; each turn) is scored on its own, so a correct long input no
longer hides a wrong output: a row fails when any field is under its threshold (`qa.field_chrf[field]`,
else `qa.chrf`). The published `bt_chrf`/`bt_bleu` are the row's worst field's; the work-dir rows also
keep every field's figures (`bt_chrf_fields`, `bt_bleu_fields`) and the whole row's (`bt_chrf_row`,
`bt_bleu_row`: all fields joined, as the corpus figures are).

A field whose source is shorter than SHORT_CHARS characters ("running", "Rose, sweet, fragrance.") has a
back-translation too ambiguous to fail on its own ("running" -> "em execução" -> "in execution", chrF 11):
its low chrF is the warning `bt_chrf_short` (labels in the column `bt_chrf_short`), and it fails the row
(`bt_chrf`) only when a second signal agrees: the similarity scorer finds that field under its bound.
"""

from __future__ import annotations

from collections import defaultdict

from safedrift.core.languages import SOURCE_LANGUAGE
from safedrift.core.log import track
from validation.metrics import corpus_scores, sentence_scores
from validation.scorers import LanguageContext, field_name, flag

SHORT_CHARS = 20


class BacktranslationScorer:
    name = "backtranslation"

    def score(self, rows: list[dict], ctx: LanguageContext) -> dict:
        thr = ctx.thresholds
        field_chrf = thr.field_chrf
        hyps, refs = [], []
        by_field: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for row, src in track(list(zip(rows, ctx.sources, strict=True)), desc=f"bt {ctx.dataset}/{ctx.lang}",
                              unit="row"):
            bt, ref = ctx.joined(row, "bt_"), ctx.joined(src)
            hyps.append(bt)
            refs.append(ref)
            # The back-translation is English, so BLEU uses English tokenization whatever the target.
            row["bt_chrf_row"], row["bt_bleu_row"] = sentence_scores(bt, ref, SOURCE_LANGUAGE)
            chrfs, bleus = {}, {}
            for label, source, back in ctx.pairs(row, src, "bt_"):
                if not source.strip():
                    continue  # an empty input: nothing to compare
                chrfs[label], bleus[label] = sentence_scores(back, source, SOURCE_LANGUAGE)
                by_field[field_name(label)][0].append(back)
                by_field[field_name(label)][1].append(source)
            row["bt_chrf_fields"], row["bt_bleu_fields"] = chrfs, bleus
            row["bt_chrf_short"] = []
            row["bt_chrf"] = min(chrfs.values(), default=row["bt_chrf_row"])
            row["bt_bleu"] = min(bleus.values(), default=row["bt_bleu_row"])
            if ctx.is_source:
                continue
            short = {label for label, source, _ in ctx.pairs(row, src) if len(source.strip()) < SHORT_CHARS}
            for label, chrf in chrfs.items():
                limit = field_chrf.get(field_name(label), thr.chrf)
                if limit is not None and chrf < limit:
                    if label in short:
                        row["bt_chrf_short"].append(label)
                        flag(row, "bt_chrf_short")
                    else:
                        flag(row, "bt_chrf")
            if thr.bleu is not None and row["bt_bleu"] < thr.bleu:
                flag(row, "bt_bleu")
        if not rows:
            return {}
        fields = {}
        for name, (h, r) in by_field.items():
            scores = corpus_scores(h, r, SOURCE_LANGUAGE)
            fields[name] = {"n": len(h), "chrf": scores["chrf"], "bleu": scores["bleu"],
                            "threshold": field_chrf.get(name, thr.chrf)}
        return {**{f"corpus_{k}": v for k, v in corpus_scores(hyps, refs, SOURCE_LANGUAGE).items()},
                "bt_fields": fields}
