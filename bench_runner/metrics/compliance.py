"""The study's headline figures: compliance rates of the headline prompt kind (SORRY-Bench) per (fine-tune
language, eval language) cell and per category with Wilson CIs, paired differences against the base model with
Holm control over the grid, the test that drift differs by fine-tune language, the max/min compliance ratio,
and per cell the verdict, answer-language and truncation counts; over-refusal beside them (over_refusal.py).

A row belongs to the cells when its prompt kind is the headline one (bench_runner.data.kind_of(row).headline);
what it counts is its kind's Measure. No branch here on a kind's name."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from bench_runner.config import BASE
from bench_runner.data import BENIGN_REFUSAL, COMPLIANCE, kind_of
from bench_runner.metrics.over_refusal import measure_rate, over_refusal_metrics, values_by_measure
from bench_runner.metrics.stats import (
    CI_METHOD,
    MULTIPLICITY,
    PAIRED_METHOD,
    compliance_ratio,
    heterogeneity_test,
    holm_adjust,
    paired_difference,
    rate_with_ci,
)
from bench_runner.response_language import METHOD as RESPONSE_LANGUAGE_METHOD
from bench_runner.response_language import language_shares

TRUNCATION_METHOD = ("share of the cell's SORRY-Bench answers that reached max_new_tokens without an end token "
                     "(the model's generation_config eos ids plus the tokenizer's), and their mean new tokens")


def compute_metrics(scores: list[dict], finetune_languages: list[str], eval_languages: list[str],
                    n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0, base: str = BASE) -> dict:
    """Cells per (fine-tune language, eval language), per category, over-refusal, heterogeneity and ratio.

    `scores` rows carry: model (fine-tune language or base), kind, language, item_id, category, score, label;
    and, from the generate stage's samples where known, response_language, truncated, new_tokens.
    """
    values = values_by_measure(scores)
    compliance = values[COMPLIANCE.name]  # the headline kind's measure
    benign_refusal = values[BENIGN_REFUSAL.name]
    by_cat: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    answers: dict[tuple[str, str], list[dict]] = defaultdict(list)  # scored or not: the verdict counts
    category_names: dict[str, str] = {}
    for row in scores:
        if not kind_of(row).headline:  # the other kinds' measures: over_refusal_metrics
            continue
        answers[(row["model"], row["language"])].append(row)
        if row["score"] is None:
            continue
        by_cat[(row["model"], row["language"], row["category"])].append(COMPLIANCE.value(row["score"]))
        category_names.setdefault(row["category"], row.get("category_name") or "")

    cells = []
    for ft in finetune_languages:
        for ev in eval_languages:
            rows = answers[(ft, ev)]
            cell = {"finetune_language": ft, "eval_language": ev,
                    **rate_with_ci(list(compliance[(ft, ev)].values()), confidence),
                    "n_answers": len(rows),
                    "unparseable": sum(r["score"] is None and r.get("label") != "empty" for r in rows),
                    "empty": sum(r.get("label") == "empty" for r in rows),
                    "over_refusal": measure_rate(BENIGN_REFUSAL, list(benign_refusal[(ft, ev)].values()),
                                                 confidence),
                    "response_language": _response_language(rows, ev),
                    "truncated": _truncation(rows)}
            if ft != base and base in finetune_languages:
                cell["vs_base"] = paired_difference(compliance[(ft, ev)], compliance[(base, ev)], n_resamples,
                                                    confidence, seed)
            cells.append(cell)
    n_tests = holm_adjust([c.get("vs_base") for c in cells])
    categories = []
    for (ft, ev, cat), cat_values in sorted(by_cat.items(),
                                            key=lambda kv: (kv[0][0], kv[0][1], _cat_key(kv[0][2]))):
        categories.append({"finetune_language": ft, "eval_language": ev, "category": cat,
                           "category_name": category_names.get(cat, ""), **rate_with_ci(cat_values, confidence)})
    tuned = [m for m in finetune_languages if m != base]
    return {"cells": cells, "categories": categories, "ci_method": CI_METHOD, "paired_method": PAIRED_METHOD,
            "multiplicity": MULTIPLICITY.format(n=n_tests),
            "heterogeneity": heterogeneity_test(compliance, tuned, eval_languages, n_resamples, seed),
            "over_refusal": over_refusal_metrics(scores, finetune_languages, eval_languages, n_resamples, confidence,
                                                 seed, base),
            "ratio": compliance_ratio(compliance, tuned, eval_languages, n_resamples, confidence, seed),
            "response_language_method": RESPONSE_LANGUAGE_METHOD, "truncation_method": TRUNCATION_METHOD,
            "confidence": confidence, "n_resamples": n_resamples, "seed": seed}


def _response_language(rows: list[dict], eval_language: str) -> dict | None:
    codes = [r["response_language"] for r in rows if r.get("response_language") is not None]
    return language_shares(codes, eval_language) if codes else None


def _truncation(rows: list[dict]) -> dict | None:
    known = [r for r in rows if r.get("truncated") is not None]
    if not known:
        return None
    tokens = [r["new_tokens"] for r in known if r.get("new_tokens") is not None]
    return {"share": sum(bool(r["truncated"]) for r in known) / len(known), "n": len(known),
            "mean_new_tokens": float(np.mean(tokens)) if tokens else None}


def _cat_key(cat: str):
    return (0, int(cat), "") if cat.isdigit() else (1, 0, cat)
