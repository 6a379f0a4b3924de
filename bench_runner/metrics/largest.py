"""The largest fold change over the grid's cells, with an interval that knows it was picked as the largest.

Why not the max/min ratio with a bootstrap: an extreme order statistic is biased upward (nine equal languages
give 1.3-1.8x) and its bootstrap interval does not cover (22 % for a true 4x). Here every cell gets a
simultaneous interval from a max-T bootstrap: prompts are resampled jointly for every cell (the translations of
one prompt and the base answers stay together), each cell's log fold change is recomputed through
foldchange.log_fold_change, and the 95 % quantile q of max over cells of |T* - T| / se*_prompt is the critical
value of every cell (studentised by the part of the variance a prompt resample sees; the seed part of a cell's
variance enters through its own se and its t quantile, scaled by t_df / z). If every cell's interval covers its
truth, then max_c(lower_c) <= max_c(truth_c) <= max_c(upper_c): that interval for the largest fold change holds
with at least the simultaneous coverage whichever cell is largest. The point estimate, the largest observed fold
change, is biased upward by selection; a bootstrap bias-corrected estimate (2 T_max - mean of T*_max) is beside
it. benchmarks/stats_calibration.py measures both biases and the coverage."""

from __future__ import annotations

import numpy as np

from bench_runner.metrics.foldchange import log_fold_change, t_quantile

LARGEST_METHOD = (
    "largest fold change over the {n} (fine-tune language, eval language) cells: the largest estimate, a "
    "bootstrap bias-corrected estimate (2 T_max - mean T*_max, log scale) beside it; interval: max-T "
    "bootstrap ({b} joint resamples of prompts; q = {conf:.0%} quantile of max_c |T*_c - T_c| / se*_c = "
    "{q:.3f}, at least the single-cell z), simultaneous intervals T_c +- q se_c (t_df / z) for every cell, and [max_c lower_c, max_c upper_c] "
    "for the largest, valid whichever cell is largest"
)


def max_t_intervals(cells: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_items: int, n_resamples: int = 2000,
                    confidence: float = 0.95, seed: int = 0) -> dict:
    """cells: per cell (y (prompt, seed), x (prompt,), item index of each prompt row in 0..n_items-1).

    Returns the simultaneous critical value and, per cell, log estimate, se and simultaneous bounds (log scale),
    with the largest's estimate, bias-corrected estimate and bounds."""
    if not cells:
        return {"q": None, "log_ratio": [], "se": [], "low": [], "high": [], "largest": None}
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_items, np.full(n_items, 1.0 / n_items), size=n_resamples).astype(float)
    point, boot = [], []
    for y, x, idx in cells:
        point.append(log_fold_change(y, x))
        boot.append(log_fold_change(y, x, weights[:, idx]))
    t_hat = np.array([p.log_ratio[0] for p in point])
    se = np.sqrt([p.var[0] for p in point])
    t_boot = np.stack([b.log_ratio for b in boot], axis=1)  # (replicate, cell)
    se_boot = np.sqrt(np.stack([b.var_prompt for b in boot], axis=1))
    stat = (np.abs(t_boot - t_hat) / np.where(se_boot > 0, se_boot, np.inf)).max(axis=1)
    z = float(t_quantile(confidence, np.inf))
    q = max(float(np.quantile(stat, confidence)), z)  # never narrower than one cell's own interval
    widen = np.array([float(t_quantile(confidence, p.df[0])) for p in point]) / z
    half = q * se * widen
    low, high = t_hat - half, t_hat + half
    top = int(np.argmax(t_hat))
    corrected = 2 * float(t_hat[top]) - float(t_boot.max(axis=1).mean())
    return {"q": q, "log_ratio": t_hat, "se": se, "low": low, "high": high,
            "largest": {"cell": top, "log_ratio": float(t_hat[top]), "log_ratio_corrected": corrected,
                        "low": float(low.max()), "high": float(high.max())}}
