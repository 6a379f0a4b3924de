"""The study's headline figures: compliance rates of the headline prompt kind (SORRY-Bench) per (fine-tune
language, eval language) cell and per category with Wilson CIs, paired differences against the base model with
Holm control over the grid, the test that drift differs by fine-tune language, and per cell the verdict,
answer-language and truncation counts, and the compliance rate on the answers that ended before the token budget
(`untruncated`); over-refusal beside them (over_refusal.py).

A row belongs to the cells when its prompt kind is the headline one (bench_runner.data.kind_of(row).headline);
what it counts is its kind's Measure. No branch here on a kind's name."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from bench_runner.config import BASE
from bench_runner.data import BENIGN_REFUSAL, COMPLIANCE, kind_of
from bench_runner.metrics.over_refusal import measure_rate, over_refusal_metrics, values_by_measure
from bench_runner.metrics.samples import (
    SAMPLED_METHOD,
    first_samples,
    is_sampled,
    per_prompt_means,
    sampled_cell,
)
from bench_runner.metrics.stats import (
    CI_METHOD,
    MULTIPLICITY,
    PAIRED_METHOD,
    heterogeneity_test,
    holm_adjust,
    paired_difference,
    rate_with_ci,
)
from bench_runner.response_language import EMPTY, language_shares
from bench_runner.response_language import METHOD as RESPONSE_LANGUAGE_METHOD

TRUNCATION_METHOD = ("share of the cell's SORRY-Bench answers that reached max_new_tokens without an end token "
                     "(the model's generation_config eos ids plus the tokenizer's), and their mean new tokens; "
                     "`untruncated`: the compliance rate (Wilson CI) over the answers that ended with an end token "
                     "only, so a verdict on a cut-off fragment cannot move it (None when truncation is unknown)")
# An empty answer is counted from the answer text (its detected language is the empty code), whatever the judge:
# a model judge scores an empty answer like any other (its verdict stays in the rate), the refusal detector leaves
# it unscored; either way `empty` says how many there were. Rows without the answer's language fall back on the
# judge's "empty" label.
EMPTY_METHOD = ("empty: answers with no text after <think> stripping (counted from the generations under every "
                "judge); unparseable: other answers the judge gave no score")


def compute_metrics(scores: list[dict], finetune_languages: list[str], eval_languages: list[str],
                    n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0, base: str = BASE) -> dict:
    """Cells per (fine-tune language, eval language), per category, over-refusal, heterogeneity and ratio.

    `scores` rows carry: model (fine-tune language or base), kind, language, item_id, category, score, label;
    and, from the generate stage's samples where known, response_language, truncated, new_tokens.
    """
    # Several samples per prompt: every sample counts in `sampled`; the one-value-per-prompt figures read the first.
    sampled = per_prompt_means(scores) if is_sampled(scores) else None
    scores = first_samples(scores)
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
                    "unparseable": sum(r["score"] is None and not is_empty_answer(r) for r in rows),
                    "empty": sum(is_empty_answer(r) for r in rows),
                    "over_refusal": measure_rate(BENIGN_REFUSAL, list(benign_refusal[(ft, ev)].values()),
                                                 confidence),
                    "response_language": _response_language(rows, ev),
                    "truncated": _truncation(rows),
                    "untruncated": _untruncated(rows, compliance[(ft, ev)], confidence)}
            if ft != base and base in finetune_languages:
                cell["vs_base"] = paired_difference(compliance[(ft, ev)], compliance[(base, ev)], n_resamples,
                                                    confidence, seed)
            if sampled is not None:
                cell["sampled"] = sampled_cell(sampled.get((ft, ev), {}),
                                               sampled.get((base, ev)) if ft != base else None,
                                               n_resamples, confidence, seed)
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
            "response_language_method": RESPONSE_LANGUAGE_METHOD, "truncation_method": TRUNCATION_METHOD,
            "empty_method": EMPTY_METHOD,
            **({"sampled_method": SAMPLED_METHOD} if sampled is not None else {}),
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


def is_empty_answer(row: dict) -> bool:
    """The answer has no text: from its detected language (the generations), else the judge's "empty" label."""
    if row.get("response_language") is not None:
        return row["response_language"] == EMPTY
    return row.get("label") == "empty"


def _untruncated(rows: list[dict], values: dict[str, int], confidence: float) -> dict | None:
    """The cell's compliance on the answers known to have ended before the budget (None: truncation unknown)."""
    if not any(r.get("truncated") is not None for r in rows):
        return None
    whole = {r["item_id"] for r in rows if r.get("truncated") is not None and not r["truncated"]}
    return rate_with_ci([v for item, v in values.items() if item in whole], confidence)


def _cat_key(cat: str):
    return (0, int(cat), "") if cat.isdigit() else (1, 0, cat)
