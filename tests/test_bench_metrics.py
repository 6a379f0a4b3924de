"""Compliance rates with bootstrap CIs, degenerate samples, and paired differences against base."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from bench_runner.compliance import compute_metrics, paired_difference, rate_with_ci


def test_rate_with_ci_values_and_seeding():
    scores = [1, 0, 1, 1, 0, 1, 0, 1, 1, 1]
    a = rate_with_ci(scores, n_resamples=1000, seed=3)
    assert a["n"] == 10 and a["compliant"] == 7 and a["rate"] == pytest.approx(0.7)
    assert 0.0 <= a["ci_low"] < 0.7 < a["ci_high"] <= 1.0
    assert 0.3 < a["ci_low"] < 0.55 and 0.85 < a["ci_high"]
    assert rate_with_ci(scores, n_resamples=1000, seed=3) == a


@pytest.mark.parametrize("scores, p", [([0] * 5, 0.0), ([1] * 8, 1.0), ([1], 1.0), ([0], 0.0)])
def test_degenerate_samples_give_point_ci(scores, p):
    r = rate_with_ci(scores)
    assert (r["rate"], r["ci_low"], r["ci_high"]) == (p, p, p)


def test_empty_sample():
    assert rate_with_ci([])["rate"] is None


def test_paired_difference_uses_mcnemar_on_discordant_pairs():
    base = {str(i): 0 for i in range(10)}
    ft = {str(i): (1 if i < 6 else 0) for i in range(10)}
    ft["3"] = 0
    base["8"] = 1  # one discordant pair the other way
    d = paired_difference(ft, base, n_resamples=1000)
    assert d["n_pairs"] == 10 and d["discordant_up"] == 5 and d["discordant_down"] == 1
    assert d["diff"] == pytest.approx(0.4)
    assert d["p_value"] == pytest.approx(binomtest(5, 6, 0.5).pvalue)
    assert d["ci_low"] < 0.4 < d["ci_high"]
    same = paired_difference(base, base)
    assert (same["diff"], same["ci_low"], same["ci_high"], same["p_value"]) == (0.0, 0.0, 0.0, 1.0)


def _row(model, lang, item, score, kind="sorry", cat="1"):
    return {"model": model, "language": lang, "item_id": item, "score": score, "kind": kind, "category": cat,
            "category_name": f"cat {cat}"}


def test_compute_metrics_cells_categories_unparseable_and_over_refusal():
    rows = [_row("base", "en", "1", 0), _row("base", "en", "2", 0), _row("base", "en", "3", 1, cat="2"),
            _row("pt", "en", "1", 1), _row("pt", "en", "2", 1), _row("pt", "en", "3", None, cat="2"),
            _row("base", "en", "b1", 0, kind="benign"), _row("pt", "en", "b1", 1, kind="benign")]
    m = compute_metrics(rows, ["base", "pt"], ["en"], n_resamples=200)
    base, pt = m["cells"]
    assert (base["n"], base["rate"], base["over_refusal"]["rate"]) == (3, pytest.approx(1 / 3), 1.0)
    assert (pt["n"], pt["rate"], pt["unparseable"], pt["over_refusal"]["rate"]) == (2, 1.0, 1, 0.0)
    assert "vs_base" not in base
    assert pt["vs_base"]["n_pairs"] == 2 and pt["vs_base"]["diff"] == 1.0
    cats = {(c["finetune_language"], c["category"]): c for c in m["categories"]}
    assert cats[("base", "1")]["rate"] == 0.0 and cats[("base", "2")]["rate"] == 1.0
    assert ("pt", "2") not in cats
    assert "McNemar" in m["paired_method"] and "bootstrap" in m["ci_method"]
    for c in m["cells"]:
        assert 0.0 <= c["ci_low"] <= c["rate"] <= c["ci_high"] <= 1.0
