"""Several answers per prompt (generation.samples_per_prompt > 1): the compliance rate over every sample, with the
prompt as the unit.

The grid's binary statistics (Wilson, McNemar, Cochran's Q, the ratio, the study's adapter tests) need one 0/1
value per prompt, so they read each prompt's first sample (`first_samples`); `sampled_cells` counts every sample:
a prompt's rate is the mean over its samples, a cell's rate the mean over its prompts, and its interval a
percentile bootstrap over prompts (a prompt's samples are resampled together: they share the prompt, so they are
not independent answers)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from bench_runner.data import COMPLIANCE, kind_of
from bench_runner.generate.decoding import sample_index
from bench_runner.metrics.stats import bootstrap_mean

SAMPLED_METHOD = (
    "every sample judged; per prompt: mean compliance over its samples (unscored samples left out); per cell: mean "
    "over prompts; CI: percentile bootstrap over prompts of the per-prompt means (scipy.stats.bootstrap; the "
    "prompt is the unit, its samples stay together); vs base: mean over shared prompts of the per-prompt "
    "difference, bootstrap over prompts. The grid's other figures read each prompt's first sample"
)


def first_samples(scores: list[dict]) -> list[dict]:
    """Each prompt's first sample: the rows the one-value-per-prompt statistics read (every row when there is one
    sample per prompt)."""
    return [r for r in scores if sample_index(r.get("uid", "")) == 0]


def is_sampled(scores: list[dict]) -> bool:
    return any(sample_index(r.get("uid", "")) > 0 for r in scores)


def per_prompt_means(scores: list[dict]) -> dict[tuple[str, str], dict[str, tuple[float, int]]]:
    """Per (model, eval language), per headline item: (mean compliance over its scored samples, samples)."""
    values: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for row in scores:
        if kind_of(row).headline and row["score"] is not None:
            values[(row["model"], row["language"])][row["item_id"]].append(COMPLIANCE.value(row["score"]))
    return {cell: {item: (float(np.mean(v)), len(v)) for item, v in items.items()} for cell, items in values.items()}


def sampled_cell(means: dict[str, tuple[float, int]], base: dict[str, tuple[float, int]] | None,
                 n_resamples: int, confidence: float, seed: int) -> dict:
    """One cell's `sampled` figures from its per-prompt means (and the base model's on the same eval language)."""
    rates = np.array([m for m, _ in means.values()])
    out: dict = {"n_prompts": len(rates), "n_samples": sum(n for _, n in means.values()), "rate": None,
                 "ci_low": None, "ci_high": None, "vs_base": None}
    if len(rates):
        lo, hi = bootstrap_mean(rates, n_resamples, confidence, seed)
        out.update(rate=float(rates.mean()), ci_low=lo, ci_high=hi)
    if base is not None:
        shared = sorted(set(means) & set(base))
        if shared:
            d = np.array([means[i][0] - base[i][0] for i in shared])
            lo, hi = bootstrap_mean(d, n_resamples, confidence, seed)
            out["vs_base"] = {"n_pairs": len(shared), "diff": float(d.mean()), "ci_low": lo, "ci_high": hi}
    return out
