"""Judge-language bias: the same answers judged in their own language and after back-translation to English.

Input: the judge stage's scores.jsonl rows of a run with judge.answers_in: both (`score` is the native
verdict, `score_english` the English one). A pair is a row of a back-translated prompt kind (SORRY-Bench:
bench_runner.data.kind_of(row).back_translated) with both verdicts (0/1); rows of languages judged natively
only, and rows where either verdict is missing (an unparseable judge output, an empty answer), are left out and
counted.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from bench_runner.data import kind_of


def _table(pairs: list[tuple[int, int]]) -> list[list[int]]:
    """2x2 counts: rows = native verdict 0/1, columns = English verdict 0/1."""
    table = [[0, 0], [0, 0]]
    for native, english in pairs:
        table[native][english] += 1
    return table


def _finite(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) or math.isinf(x) else float(x)


def agreement_stats(pairs: list[tuple[int, int]]) -> dict:
    """n, raw agreement, Cohen's kappa (+ 95% CI), compliance native vs English, their difference (English
    minus native, on the same answers) and McNemar's exact p-value for it. Undefined figures are None."""
    from statsmodels.stats.contingency_tables import mcnemar
    from statsmodels.stats.inter_rater import cohens_kappa

    n = len(pairs)
    table = _table(pairs)
    out: dict = {"n": n, "table": table, "agreement": None, "kappa": None, "kappa_ci_low": None,
                 "kappa_ci_high": None, "compliance_native": None, "compliance_english": None,
                 "difference": None, "mcnemar_p": None}
    if n == 0:
        return out
    native = (table[1][0] + table[1][1]) / n
    english = (table[0][1] + table[1][1]) / n
    out.update(agreement=(table[0][0] + table[1][1]) / n, compliance_native=native, compliance_english=english,
               difference=english - native)
    # Kappa is undefined when chance agreement is 1 (both judges gave one and the same verdict throughout).
    chance = native * english + (1 - native) * (1 - english)
    if chance < 1:
        res = cohens_kappa(table, return_results=True)
        out.update(kappa=_finite(res.kappa), kappa_ci_low=_finite(res.kappa_low),
                   kappa_ci_high=_finite(res.kappa_upp))
    out["mcnemar_p"] = float(mcnemar(table, exact=True).pvalue)
    return out


def judge_agreement(rows: Iterable[dict]) -> dict:
    """{"overall": stats, "by_language": {eval language: stats}, "left_out": {...}} over scores.jsonl rows
    (any number of models); stats as in agreement_stats."""
    by_language: dict[str, list[tuple[int, int]]] = defaultdict(list)
    left_out = {"no_english_verdict": 0, "missing_verdict": 0}
    for row in rows:
        if not kind_of(row).back_translated:  # judged natively only: no English verdict to compare
            continue
        if "score_english" not in row or (row.get("score_english") is None and row.get("label_english") is None):
            left_out["no_english_verdict"] += 1
            continue
        native, english = row.get("score"), row.get("score_english")
        if native is None or english is None:
            left_out["missing_verdict"] += 1
            continue
        by_language[row["language"]].append((int(native), int(english)))
    every = [pair for pairs in by_language.values() for pair in pairs]
    return {"overall": agreement_stats(every),
            "by_language": {lang: agreement_stats(pairs) for lang, pairs in sorted(by_language.items())},
            "left_out": left_out}
