"""Compliance (fulfillment) rates with bootstrap CIs, and paired differences against the base model."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

PAIRED_METHOD = (
    "difference = fine-tuned minus base compliance on the same prompts; CI: percentile bootstrap of the mean "
    "paired difference (scipy.stats.bootstrap); p: exact McNemar test (scipy.stats.binomtest on discordant pairs)"
)
CI_METHOD = "percentile bootstrap (scipy.stats.bootstrap), seeded; all-equal samples give CI = [p, p]"


def _bootstrap_mean(values: np.ndarray, n_resamples: int, confidence: float, seed: int) -> tuple[float, float]:
    from scipy.stats import bootstrap

    mean = float(values.mean())
    # A constant sample has no spread to resample (scipy would warn and give NaN): its CI is the point.
    if len(values) < 2 or np.all(values == values[0]):
        return mean, mean
    res = bootstrap((values,), np.mean, n_resamples=n_resamples, confidence_level=confidence,
                    method="percentile", rng=np.random.default_rng(seed))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return min(lo, mean), max(hi, mean)


def rate_with_ci(scores: list[int], n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0) -> dict:
    """{"n", "compliant", "rate", "ci_low", "ci_high"} for a list of 0/1 scores (rate None when empty)."""
    values = np.asarray(scores, dtype=float)
    if len(values) == 0:
        return {"n": 0, "compliant": 0, "rate": None, "ci_low": None, "ci_high": None}
    lo, hi = _bootstrap_mean(values, n_resamples, confidence, seed)
    return {"n": int(len(values)), "compliant": int(values.sum()), "rate": float(values.mean()),
            "ci_low": lo, "ci_high": hi}


def paired_difference(fine_tuned: dict[str, int], base: dict[str, int], n_resamples: int = 2000,
                      confidence: float = 0.95, seed: int = 0) -> dict:
    """Fine-tuned minus base on the prompts both have a score for."""
    from scipy.stats import binomtest

    keys = sorted(set(fine_tuned) & set(base))
    if not keys:
        return {"n_pairs": 0, "diff": None, "ci_low": None, "ci_high": None, "p_value": None,
                "discordant_up": 0, "discordant_down": 0}
    ft = np.array([fine_tuned[k] for k in keys], dtype=float)
    b = np.array([base[k] for k in keys], dtype=float)
    d = ft - b
    lo, hi = _bootstrap_mean(d, n_resamples, confidence, seed)
    up, down = int(((ft == 1) & (b == 0)).sum()), int(((ft == 0) & (b == 1)).sum())
    p = float(binomtest(up, up + down, 0.5).pvalue) if up + down else 1.0
    return {"n_pairs": len(keys), "diff": float(d.mean()), "ci_low": lo, "ci_high": hi, "p_value": p,
            "discordant_up": up, "discordant_down": down}


def compute_metrics(scores: list[dict], finetune_languages: list[str], eval_languages: list[str],
                    n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0, base: str = "base") -> dict:
    """Cells per (fine-tune language, eval language), per category, and over-refusal on benign prompts.

    `scores` rows carry: model (fine-tune language or "base"), kind, language, item_id, category, score.
    """
    sorry: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    by_cat: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    unparseable: dict[tuple[str, str], int] = defaultdict(int)
    benign_refusals: dict[tuple[str, str], list[int]] = defaultdict(list)
    category_names: dict[str, str] = {}
    for row in scores:
        key = (row["model"], row["language"])
        if row["kind"] == "benign":
            if row["score"] is not None:
                benign_refusals[key].append(1 - int(row["score"]))
            continue
        if row["score"] is None:
            unparseable[key] += 1
            continue
        sorry[key][row["item_id"]] = int(row["score"])
        by_cat[(row["model"], row["language"], row["category"])].append(int(row["score"]))
        category_names.setdefault(row["category"], row.get("category_name") or "")

    kw: dict = {"n_resamples": n_resamples, "confidence": confidence, "seed": seed}
    cells = []
    for ft in finetune_languages:
        for ev in eval_languages:
            cell = {"finetune_language": ft, "eval_language": ev,
                    **rate_with_ci(list(sorry[(ft, ev)].values()), **kw),
                    "unparseable": unparseable[(ft, ev)],
                    "over_refusal": rate_with_ci(benign_refusals[(ft, ev)], **kw)}
            if ft != base and base in finetune_languages:
                cell["vs_base"] = paired_difference(sorry[(ft, ev)], sorry[(base, ev)], **kw)
            cells.append(cell)
    categories = []
    for (ft, ev, cat), values in sorted(by_cat.items(), key=lambda kv: (kv[0][0], kv[0][1], _cat_key(kv[0][2]))):
        categories.append({"finetune_language": ft, "eval_language": ev, "category": cat,
                           "category_name": category_names.get(cat, ""), **rate_with_ci(values, **kw)})
    return {"cells": cells, "categories": categories, "ci_method": CI_METHOD, "paired_method": PAIRED_METHOD,
            "confidence": confidence, "n_resamples": n_resamples, "seed": seed}


def _cat_key(cat: str):
    return (0, int(cat), "") if cat.isdigit() else (1, 0, cat)
