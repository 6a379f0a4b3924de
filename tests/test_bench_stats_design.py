"""The study's estimands on known values: the fold change against base (Bonett-Price with one seed, the
prompt x seed ANOVA with several), the adapter-level heterogeneity and interaction tests, the max-T interval of
the largest fold change, and design_figures on a grid; and the calibration benchmark's smoke mode."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import f_oneway, norm

from bench_runner.metrics.design import design_figures
from bench_runner.metrics.foldchange import fold_change, log_fold_change
from bench_runner.metrics.largest import max_t_intervals
from bench_runner.metrics.replicates import ONE_SEED, interaction_test, language_heterogeneity, seed_spread

REPO = Path(__file__).resolve().parents[1]


def paired(n11: int, n12: int, n21: int, n22: int) -> tuple[np.ndarray, np.ndarray]:
    """(y (prompt, 1), x) with the four paired counts: n12 = fine-tuned complied and base did not."""
    y = [1] * n11 + [1] * n12 + [0] * n21 + [0] * n22
    x = [1] * n11 + [0] * n12 + [1] * n21 + [0] * n22
    return np.array(y, dtype=float)[:, None], np.array(x, dtype=float)


# ---- the fold change of one cell -----------------------------------------------------------------------
def test_one_seed_is_the_bonett_price_interval():
    n11, n12, n21, n22 = 20, 15, 5, 400
    r = fold_change(*paired(n11, n12, n21, n22))
    a, b = n11 + n12 + 1, n11 + n21 + 1
    se = math.sqrt((n12 + n21 + 2) / (a * b))
    z = norm.ppf(0.975)
    assert r["fold_change"] == pytest.approx(a / b, rel=1e-12) == pytest.approx(36 / 26)
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(a / b * math.exp(-z * se), rel=1e-12),
                                           pytest.approx(a / b * math.exp(z * se), rel=1e-12))
    assert r["fold_change_raw"] == pytest.approx(35 / 25)
    assert (r["n_pairs"], r["n_adapters"], r["df"], r["seed_share"]) == (440, 1, None, 0.0)
    assert (r["finetuned_rate"], r["base_rate"]) == (pytest.approx(35 / 440), pytest.approx(25 / 440))


def test_zero_counts_give_finite_intervals_and_say_so():
    none = fold_change(*paired(0, 0, 0, 440))
    z = norm.ppf(0.975)
    assert none["fold_change"] == 1.0 and none["fold_change_raw"] is None
    assert none["ci_low"] == pytest.approx(math.exp(-z * math.sqrt(2))) and none["ci_high"] == pytest.approx(
        math.exp(z * math.sqrt(2)))
    assert "0 compliant in both" in none["note"]
    up = fold_change(*paired(0, 12, 0, 428))
    assert up["fold_change"] == pytest.approx(13.0) and up["fold_change_raw"] is None
    assert up["ci_low"] > 1.0 and "unbounded" in up["note"]
    empty = fold_change(np.zeros((0, 1)), np.zeros(0))
    assert empty["fold_change"] is None and "not estimable" in empty["note"]


def test_several_seeds_use_the_prompt_by_seed_anova():
    rng = np.random.default_rng(3)
    n, s = 60, 3
    y = (rng.random((n, s)) < np.array([0.2, 0.3, 0.45])).astype(float)
    x = (rng.random(n) < 0.15).astype(float)
    est = log_fold_change(y, x)
    # Independently: the delta-method terms u on the table with the two pseudo-pairs, and statsmodels' ANOVA.
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    ya, xa = np.vstack([y, np.ones((1, s)), np.zeros((1, s))]), np.r_[x, 1.0, 0.0][[*range(n), n + 1, n]]
    xa = np.r_[x, 0.0, 1.0]
    p1, p2 = ya.mean(), xa.mean()
    u = ya / p1 - xa[:, None] / p2
    df = pd.DataFrame({"u": u.ravel(), "prompt": np.repeat(np.arange(n + 2), s), "seed": np.tile(np.arange(s), n + 2)})
    table = anova_lm(smf.ols("u ~ C(prompt) + C(seed)", data=df).fit())
    ms_p, ms_s, ms_e = table["mean_sq"]
    big_n = n + 2
    assert est.log_ratio[0] == pytest.approx(math.log(p1 / p2))
    assert est.var_prompt[0] == pytest.approx(ms_p / (big_n * s))
    assert est.var_seed[0] == pytest.approx(max(ms_s - ms_e, 0) / (big_n * s))
    assert est.var_seed[0] > 0
    ws = (ms_p + ms_s - ms_e) ** 2 / (ms_p**2 / (big_n - 1) + ms_s**2 / (s - 1) + ms_e**2 / ((big_n - 1) * (s - 1)))
    assert est.df[0] == pytest.approx(ws)
    r = fold_change(y, x)
    assert r["df"] == pytest.approx(ws) and 0 < r["seed_share"] < 1
    assert r["fold_change_raw"] == pytest.approx(y.mean() / x.mean())


def test_weights_of_ones_are_the_point_estimate():
    y, x = paired(10, 8, 3, 50)
    one = log_fold_change(y, x)
    w = log_fold_change(y, x, np.ones((2, len(x))))
    assert np.allclose(w.log_ratio, one.log_ratio[0]) and np.allclose(w.var, one.var[0])


def test_seed_spread():
    assert seed_spread([0.1, 0.2, 0.3]) == {"n_seeds": 3, "rates": [0.1, 0.2, 0.3], "sd": pytest.approx(0.1),
                                            "range": pytest.approx(0.2)}
    assert seed_spread([0.4])["sd"] is None


# ---- adapter-level tests -------------------------------------------------------------------------------
def test_heterogeneity_is_the_one_way_anova_of_adapters():
    rng = np.random.default_rng(0)
    labels = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    z = rng.normal(0, 0.3, (9, 4)) + np.array([0.0, 0.0, 0.0, 0, 0, 0, 1.5, 1.5, 1.5])[:, None]
    r = language_heterogeneity(z, labels, n_resamples=999)
    means = z.mean(axis=1)
    ref = f_oneway(means[:3], means[3:6], means[6:])
    assert r["statistic"] == pytest.approx(ref.statistic) and r["p_value_f"] == pytest.approx(ref.pvalue)
    # Exact over the 280 partitions of nine adapters into three trios: the ten that keep the shifted trio
    # together are as extreme, so p is about 10 / 280 however large the shift.
    assert r["df"] == [2, 6] and r["p_value"] == pytest.approx(10 / 280, abs=0.015)
    assert r["min_p"] == pytest.approx(1 / 280)  # the observed split and its relabelings
    quiet = language_heterogeneity(rng.normal(0, 0.3, (9, 4)), labels, n_resamples=999)
    assert quiet["p_value"] > 0.05
    one = language_heterogeneity(z[:3], [0, 1, 2])
    assert one["p_value"] is None and one["note"] == ONE_SEED


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")  # C(le) nests C(ev): by design
def test_interaction_is_the_split_plot_f_test():
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(1)
    labels = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    z = rng.normal(0, 0.2, (9, 3)) + rng.normal(0, 1, (9, 1))  # adapter levels differ: no interaction
    z_planted = z.copy()
    z_planted[6:, 2] += 1.5  # language 2 drifts in eval language 2 only
    for values, significant in ((z, False), (z_planted, True)):
        r = interaction_test(values, labels, n_resamples=999)
        df = pd.DataFrame({"z": values.ravel(), "adapter": np.repeat(np.arange(9), 3),
                           "le": np.repeat(labels, 3) * 3 + np.tile(np.arange(3), 9), "ev": np.tile(np.arange(3), 9)})
        # The nested-model F test: adapters (so languages) and eval languages, then the language x eval cells.
        restricted = smf.ols("z ~ C(adapter) + C(ev)", data=df).fit()
        f, p, df_diff = smf.ols("z ~ C(adapter) + C(ev) + C(le)", data=df).fit().compare_f_test(restricted)
        assert r["statistic"] == pytest.approx(f) and r["p_value_f"] == pytest.approx(p) and df_diff == 4
        assert r["df"] == [4, 12] and (r["p_value"] < 0.05) == significant
        assert r["min_p"] == pytest.approx(1 / 280)
    assert interaction_test(z[:, :1], labels)["p_value"] is None
    assert interaction_test(z[[0, 3]], [0, 1])["note"] == ONE_SEED


# ---- the largest fold change ---------------------------------------------------------------------------
def test_max_t_interval_covers_the_planted_largest_cell_and_is_wider_than_one_cell():
    rng = np.random.default_rng(2)
    n = 400
    x = (rng.random(n) < 0.1).astype(float)
    cells = []
    for rate in (0.1, 0.1, 0.4, 0.1):
        # Most answers as base's, the rest Bernoulli: the cell's rate stays near `rate`, its fold change rate / 0.1.
        y = np.where(rng.random(n) < 0.5, x, (rng.random(n) < 2 * rate - 0.1).astype(float))[:, None]
        cells.append((y, x, np.arange(n)))
    r = max_t_intervals(cells, n, n_resamples=500)
    top = r["largest"]
    assert top["cell"] == 2
    assert math.exp(top["low"]) < 4.0 < math.exp(top["high"])
    assert r["q"] > norm.ppf(0.975)  # four cells: a simultaneous critical value above the single-cell one
    single = fold_change(*cells[2][:2])
    assert math.exp(r["low"][2]) < single["ci_low"] and math.exp(r["high"][2]) > single["ci_high"]
    assert top["log_ratio_corrected"] <= top["log_ratio"] + 0.05


# ---- a grid ----------------------------------------------------------------------------------------------
def _grid(seeds: int) -> tuple[dict, dict]:
    rng = np.random.default_rng(4)
    items = [str(i) for i in range(80)]
    grid = {("base", ev): {i: int(rng.random() < 0.1) for i in items} for ev in ("en", "pt")}
    adapters = {}
    for lang, rate in (("en", 0.3), ("pt", 0.1)):
        adapters[lang] = [lang if s == 0 else f"{lang}@seed{s}" for s in range(seeds)]
        for label in adapters[lang]:
            for ev in ("en", "pt"):
                grid[(label, ev)] = {i: int(rng.random() < rate) for i in items}
    return grid, adapters


def test_design_figures_on_a_grid_with_seeds():
    grid, adapters = _grid(3)
    d = design_figures(grid, adapters, ["en", "pt"], "base", n_resamples=300)
    assert [(c["finetune_language"], c["eval_language"]) for c in d["cells"]] == [
        ("en", "en"), ("en", "pt"), ("pt", "en"), ("pt", "pt")]
    cell = d["cells"][0]
    rates = [np.mean(list(grid[(lab, "en")].values())) for lab in adapters["en"]]
    assert cell["seed_spread"]["rates"] == pytest.approx(rates)
    assert cell["finetuned_rate"] == pytest.approx(np.mean(rates)) and cell["n_adapters"] == 3
    assert cell["ci_low_simultaneous"] <= cell["ci_low"] <= cell["fold_change"] <= cell["ci_high"] <= \
        cell["ci_high_simultaneous"]
    assert d["n_seeds"] == 3 and d["heterogeneity"]["df"] == [1, 4] and d["interaction"]["df"] == [1, 4]
    assert d["heterogeneity"]["p_value"] < 0.2  # 0.3 vs 0.1 compliance, three seeds each: 1/10 permutations
    assert d["largest"]["finetune_language"] == "en" and d["largest"]["ci_low"] <= d["largest"]["fold_change"]


def test_design_figures_with_one_seed_and_without_base():
    grid, adapters = _grid(1)
    d = design_figures(grid, adapters, ["en", "pt"], "base", n_resamples=200)
    assert d["heterogeneity"]["note"] == ONE_SEED and d["heterogeneity"]["p_value"] is None
    assert d["cells"][0]["seed_spread"]["sd"] is None and d["cells"][0]["fold_change"] is not None
    nobase = design_figures(grid, adapters, ["en", "pt"], None, n_resamples=200)
    assert nobase["largest"] is None and "fold_change" not in nobase["cells"][0]
    assert "not estimable" in nobase["fold_change_method"]


# ---- the calibration benchmark -------------------------------------------------------------------------
def test_calibration_benchmark_quick_prints_its_three_figures():
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "stats_calibration.py"), "--quick"],
                         capture_output=True, text=True, check=True, timeout=300, cwd=REPO).stdout
    last = out.strip().splitlines()[-4:]
    assert re.fullmatch(r"simulations: \d+ null, \d+ planted, \d+ zero, \d+ one seed", last[0])
    names = ["type-I error", "fold-change coverage", "largest-effect coverage"]
    for line, name in zip(last[1:], names, strict=True):
        assert re.fullmatch(rf"{name} (0|1)\.\d{{3}}", line), line


def test_an_adapter_without_verdicts_in_one_eval_language_leaves_no_nan():
    import json

    grid, adapters = _grid(2)
    grid[("pt@seed1", "pt")] = {}  # e.g. every answer unparseable
    d = design_figures(grid, adapters, ["en", "pt"], "base", n_resamples=200)
    json.dumps(d, allow_nan=False)  # strict JSON: no NaN anywhere
    cell = next(c for c in d["cells"] if (c["finetune_language"], c["eval_language"]) == ("pt", "pt"))
    assert cell["fold_change"] is None and "not estimable" in cell["note"] and cell["seed_spread"]["n_seeds"] == 1
    assert "no prompt answered by every adapter in pt" in d["heterogeneity"]["note"]
    assert d["heterogeneity"]["df"] == [1, 2]  # still tested, on en
