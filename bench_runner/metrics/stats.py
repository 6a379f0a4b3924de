"""The statistics the metrics report, on plain 0/1 values: Wilson CIs for single rates, paired differences
against the base model (bootstrap CI, exact McNemar p) with Holm control, the permutation test that drift
differs by fine-tune language. (The max/min compliance ratio across fine-tune languages is gone: biased upward,
its bootstrap interval undercovered; largest.py's max-T largest fold change replaces it.)

Nothing here knows a prompt kind or a results key: compliance.py and over_refusal.py say what is counted."""

from __future__ import annotations

import numpy as np

WILSON = "wilson"
CI_METHOD = ("Wilson score interval (scipy.stats.binomtest(k, n).proportion_ci(method='wilson')) for every "
             "single rate; unlike a bootstrap it stays wide at 0/n and n/n and keeps its coverage for small n")
PAIRED_METHOD = (
    "difference = fine-tuned minus base compliance on the same prompts; CI: percentile bootstrap of the mean "
    "paired difference (scipy.stats.bootstrap); p: exact McNemar test (scipy.stats.binomtest on discordant pairs)"
)
MULTIPLICITY = "Holm (statsmodels multipletests, method='holm') over the {n} cell-vs-base tests of the grid"
# The heterogeneity test. A logistic GEE (compliance ~ C(finetune) * C(eval), grouped by prompt) is the
# textbook model, but safety grids are full of cells where every answer is a refusal (all 0): the logistic
# fit separates, its coefficients run off to infinity and the Wald test says nothing or fails. The permutation
# test needs no model: under "drift does not depend on the fine-tune language" the fine-tuned models are
# exchangeable on each prompt, so shuffling their labels within a prompt (the same shuffle in every eval
# language, which keeps the dependence between a prompt's translations) gives the exact null distribution.
# Its statistic is Cochran's Q (the k-model McNemar test) summed over eval languages; it is 0 when no prompt
# varies, so degenerate data give p = 1 instead of an error. The base model drops out: drift_i - drift_j =
# compliance_i - compliance_j on the same prompts.
HETEROGENEITY_METHOD = (
    "permutation test of 'drift differs by fine-tune language': statistic = Cochran's Q across the fine-tuned "
    "models summed over eval languages (prompts answered by every fine-tuned model); null = fine-tune labels "
    "shuffled within each prompt, the same shuffle in every eval language; p = (1 + #{{T* >= T}}) / (1 + {b}); "
    "df = (models - 1) x informative eval languages, for the chi-square reading of T only"
)
# Per (model, eval language): item id -> the 0/1 value a measure counts.
Grid = dict[tuple[str, str], dict[str, int]]


def wilson_ci(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method=WILSON)
    return float(ci.low), float(ci.high)


def rate_with_ci(values: list[int], confidence: float = 0.95) -> dict:
    """{"n", "compliant", "rate", "ci_low", "ci_high", "ci_method"} for 0/1 values (rate None when empty);
    `compliant` counts the 1s whatever they mean (compliance.py and over_refusal.py rename it)."""
    n, k = len(values), int(sum(values))
    if n == 0:
        return {"n": 0, "compliant": 0, "rate": None, "ci_low": None, "ci_high": None, "ci_method": WILSON}
    lo, hi = wilson_ci(k, n, confidence)
    return {"n": n, "compliant": k, "rate": k / n, "ci_low": lo, "ci_high": hi, "ci_method": WILSON}


def bootstrap_mean(values: np.ndarray, n_resamples: int, confidence: float, seed: int) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean, widened to contain the mean itself."""
    from scipy.stats import bootstrap

    mean = float(values.mean())
    # A constant sample has no spread to resample (scipy would warn and give NaN): its CI is the point.
    if len(values) < 2 or np.all(values == values[0]):
        return mean, mean
    res = bootstrap((values,), np.mean, n_resamples=n_resamples, confidence_level=confidence,
                    method="percentile", rng=np.random.default_rng(seed))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return min(lo, mean), max(hi, mean)


def paired_difference(fine_tuned: dict[str, int], base: dict[str, int], n_resamples: int = 2000,
                      confidence: float = 0.95, seed: int = 0) -> dict:
    """Fine-tuned minus base on the prompts both have a value for."""
    from scipy.stats import binomtest

    keys = sorted(set(fine_tuned) & set(base))
    if not keys:
        return {"n_pairs": 0, "diff": None, "ci_low": None, "ci_high": None, "p_value": None,
                "p_adjusted": None, "discordant_up": 0, "discordant_down": 0}
    ft = np.array([fine_tuned[k] for k in keys], dtype=float)
    b = np.array([base[k] for k in keys], dtype=float)
    d = ft - b
    lo, hi = bootstrap_mean(d, n_resamples, confidence, seed)
    up, down = int(((ft == 1) & (b == 0)).sum()), int(((ft == 0) & (b == 1)).sum())
    p = float(binomtest(up, up + down, 0.5).pvalue) if up + down else 1.0
    return {"n_pairs": len(keys), "diff": float(d.mean()), "ci_low": lo, "ci_high": hi, "p_value": p,
            "p_adjusted": None, "discordant_up": up, "discordant_down": down}


ADJUSTED_CI_METHOD = (
    "simultaneous over the {m} cell-vs-base tests the Holm stars adjust for: Bonferroni level 1 - (1 - {conf}) / "
    "{m} with the Agresti-Min interval for a paired difference (0.5 added to each of the four cells): the "
    "intervals hold together over the family, as the Holm-adjusted p-values do (near the threshold a star and an "
    "interval can still disagree: the test is the exact McNemar)"
)


def adjusted_paired_ci(up: int, down: int, n: int, family: int, confidence: float = 0.95) -> tuple[float, float]:
    """A Bonferroni-adjusted interval for a paired difference from its discordant counts (fine-tuned complied and
    base did not: up; the reverse: down) over n pairs: Agresti & Min (2005), Biometrics 61(2), 515-523, at level
    1 - (1 - confidence) / family, so the intervals of a figure hold simultaneously over its Holm family."""
    from scipy.stats import norm

    z = float(norm.ppf(1 - (1 - confidence) / (2 * max(1, family))))
    p_up, p_down = (up + 0.5) / (n + 2), (down + 0.5) / (n + 2)
    diff = p_up - p_down
    half = z * float(np.sqrt((p_up + p_down - diff**2) / (n + 2)))
    return max(-1.0, diff - half), min(1.0, diff + half)


def holm(p_values: list[float]) -> list[float]:
    """Holm step-down adjusted p-values (family-wise error control), in the input order."""
    if not p_values:
        return []
    from statsmodels.stats.multitest import multipletests

    return [float(p) for p in multipletests(p_values, method="holm")[1]]


def holm_adjust(diffs: list[dict | None]) -> int:
    """Fill `p_adjusted` (Holm, over this family) into every paired difference that has a `p_value`; returns
    how many tests the family held."""
    tested = [d for d in diffs if d and d.get("p_value") is not None]
    for d, p_adj in zip(tested, holm([d["p_value"] for d in tested]), strict=True):
        d["p_adjusted"] = p_adj
    return len(tested)


def _value_cube(grid: Grid, models: list[str], eval_languages: list[str]) -> tuple[list[str], np.ndarray]:
    """(items, Y[item, model, eval language]) with NaN where a model has no value for the item."""
    items = sorted({i for m in models for ev in eval_languages for i in grid.get((m, ev), {})})
    y = np.full((len(items), len(models), len(eval_languages)), np.nan)
    pos = {item: i for i, item in enumerate(items)}
    for k, m in enumerate(models):
        for e, ev in enumerate(eval_languages):
            for item, value in grid.get((m, ev), {}).items():
                y[pos[item], k, e] = value
    return items, y


def heterogeneity_test(grid: Grid, models: list[str], eval_languages: list[str], n_resamples: int = 2000,
                       seed: int = 0) -> dict:
    """Does compliance (so drift against the shared base) differ between the fine-tuned `models`?"""
    out: dict = {"method": HETEROGENEITY_METHOD.format(b=n_resamples), "statistic": None, "df": None,
                 "p_value": None, "n_models": len(models), "n_prompts": 0, "n_permutations": n_resamples,
                 "note": ""}
    if len(models) < 2:
        out["note"] = "not estimable: needs at least two fine-tune languages besides base"
        return out
    _, y = _value_cube(grid, models, eval_languages)
    k = len(models)
    complete = ~np.isnan(y).any(axis=1)  # (item, eval): every fine-tuned model has a value
    y0 = np.where(complete[:, None, :], np.nan_to_num(y), 0.0)  # incomplete blocks drop out entirely
    out["n_prompts"] = int(complete.any(axis=1).sum())
    if out["n_prompts"] == 0:
        out["note"] = "not estimable: no prompt was scored for every fine-tuned model"
        return out
    rows = y0.sum(axis=1)  # (item, eval); invariant under shuffling models within a prompt
    total = rows.sum(axis=0)  # (eval,)
    denom = k * total - (rows**2).sum(axis=0)  # Cochran's Q denominator; 0 when no prompt varies
    informative = denom > 0

    def statistic(cols: np.ndarray) -> np.ndarray:  # cols: (..., model, eval) column totals
        q = (k - 1) * (k * (cols**2).sum(axis=-2) - total**2) / np.where(informative, denom, 1.0)
        return np.where(informative, q, 0.0).sum(axis=-1)

    observed = float(statistic(y0.sum(axis=0)))
    out["statistic"] = observed
    out["df"] = int((k - 1) * informative.sum())
    if not informative.any():
        out["p_value"] = 1.0
        out["note"] = ("no variation: every prompt got the same verdict from every fine-tuned model "
                       "(all refusals or all compliance), so nothing differs by fine-tune language")
        return out
    rng = np.random.default_rng(seed)
    n_items = y0.shape[0]
    chunk = max(1, 4_000_000 // max(1, y0.size))
    at_least = 0
    for start in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - start)
        perm = rng.random((b, n_items, k)).argsort(axis=2)
        shuffled = y0[np.arange(n_items)[None, :, None], perm]  # (b, item, model, eval)
        at_least += int((statistic(shuffled.sum(axis=1)) >= observed - 1e-9 * max(1.0, observed)).sum())
    out["p_value"] = (1 + at_least) / (1 + n_resamples)
    skipped = [ev for ev, ok in zip(eval_languages, informative, strict=True) if not ok]
    if skipped:
        out["note"] = f"no prompt varies across fine-tuned models in {', '.join(skipped)}: Q = 0 there"
    return out
