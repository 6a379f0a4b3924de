"""Drift x behaviour and capability decoupling across adapters (issue #23): the adapter is the unit, Spearman rho
with a Fisher-z (Bonett-Wright) interval and a permutation p, "decoupled" as an equivalence test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm, spearmanr

from bench_runner.metrics.drift_behaviour import (
    association,
    association_lines,
    capability_decoupling,
    drift_behaviour,
)
from bench_runner.report.schema import CapabilityDecoupling, DriftBehaviour


def _metrics(drift: dict[str, float], compliance: dict[str, float], loss: dict[str, float] | None = None,
             evals=("en", "pt")) -> dict:
    """A metrics dict whose cells carry the same per-adapter value in every eval language, plus `offset` per
    eval language (so per-language and pooled associations agree)."""
    offset = {ev: 0.01 * i for i, ev in enumerate(evals)}
    return {
        "cells": [{"finetune_language": a, "eval_language": ev, "vs_base": {"diff": compliance[a] + offset[ev]}}
                  for a in compliance for ev in evals],
        "over_refusal": {"cells": [{"finetune_language": a, "eval_language": ev,
                                    "benign_refusal": {"vs_base": {"diff": -compliance[a]}}, "safe_refusal": {}}
                                   for a in compliance for ev in evals]},
        "representation": {"cells": [{"finetune_language": a, "eval_language": ev,
                                      "dcka_content_top": 1 - drift[a] - offset[ev]} for a in drift for ev in evals]},
        "capability": {"cells": [{"finetune_language": a, "eval_language": ev,
                                  "vs_base": {"diff": 9.0, "diff_bits_per_byte": loss[a] + offset[ev]}}
                                 for a in (loss or {}) for ev in evals]},
    }


def test_association_matches_spearman_fisher_z_and_the_exact_permutation_p():
    x = [0.1, 0.4, 0.2, 0.8, 0.5, 0.3]
    y = [0.0, 0.3, 0.5, 0.9, 0.2, 0.1]
    a = association(x, y)
    rho = spearmanr(x, y).statistic
    se = math.sqrt((1 + rho**2 / 2) / 3)
    z = math.atanh(rho)
    assert a["rho"] == pytest.approx(rho)
    assert (a["ci_low"], a["ci_high"]) == pytest.approx((math.tanh(z - norm.ppf(0.975) * se),
                                                         math.tanh(z + norm.ppf(0.975) * se)))
    # Perfectly monotone over 6 adapters: 2 of the 720 pairings are as extreme (rho = +1 and rho = -1).
    assert association(x, [2 * v for v in x])["p_value"] == pytest.approx(2 / 720)
    assert association(x[:3], y[:3])["note"].startswith("not estimable: 3 adapter(s)")


def test_drift_behaviour_links_each_adapters_drift_to_its_shifts():
    drift = {"en": 0.30, "en@1": 0.25, "pt": 0.10, "pt@1": 0.12, "th": 0.05, "th@1": 0.02}
    comp = {"en": 0.20, "en@1": 0.15, "pt": 0.05, "pt@1": 0.08, "th": 0.01, "th@1": -0.02}
    out = drift_behaviour(_metrics(drift, comp))
    assert out is not None and "adapter" in out["unit"]
    per = {a["adapter"]: a for a in out["adapters"]}
    assert per["en"]["drift"] == pytest.approx(0.30 + 0.005) and per["en"]["compliance_shift"] == pytest.approx(0.205)
    assert per["th"]["benign_refusal_shift"] == pytest.approx(-0.01)
    rows = {(r["y"], r["eval_language"]): r for r in out["associations"]}
    assert set(rows) == {(y, ev) for y in ("compliance_shift", "benign_refusal_shift") for ev in ("en", "pt", "all")}
    assert rows[("compliance_shift", "all")]["rho"] == pytest.approx(1.0)
    assert rows[("benign_refusal_shift", "pt")]["rho"] == pytest.approx(-1.0)
    assert rows[("compliance_shift", "en")]["n_adapters"] == 6
    DriftBehaviour.model_validate(out)
    assert drift_behaviour({"cells": []}) is None


def test_capability_decoupling_is_an_equivalence_test():
    rng = np.random.default_rng(3)
    names = [f"a{i}" for i in range(60)]
    comp = dict(zip(names, rng.normal(size=60), strict=True))
    # Unrelated over 60 adapters: the 90% CI lies inside (-0.5, 0.5).
    loose = capability_decoupling(_metrics({}, comp, dict(zip(names, rng.normal(size=60), strict=True))))
    row = next(r for r in loose["associations"] if r["eval_language"] == "all")
    assert row["verdict"] == "decoupled" and -0.5 < row["tost_ci"][0] and row["tost_ci"][1] < 0.5
    assert row["ci_low"] < row["tost_ci"][0]  # the 95% CI is wider than the equivalence test's 90% one
    # Loss rises with compliance: not decoupled.
    tied = capability_decoupling(_metrics({}, comp, {a: v + 0.1 * rng.normal() for a, v in comp.items()}))
    assert {r["verdict"] for r in tied["associations"]} == {"not decoupled"}
    # Five adapters and a weak link: the interval covers both 0 and the bound.
    few = {k: comp[k] for k in names[:5]}
    weak = capability_decoupling(_metrics({}, few, dict(zip(names[:5], [0.3, 0.1, 0.5, 0.2, 0.4], strict=True))))
    assert {r["verdict"] for r in weak["associations"]} == {"inconclusive"}
    assert "TOST" in weak["method"] and "90%" in weak["method"]
    CapabilityDecoupling.model_validate(weak)
    assert capability_decoupling(_metrics({}, comp)) is None


def test_summary_section_lists_adapters_and_associations():
    drift = {"en": 0.30, "en@1": 0.25, "pt": 0.10, "pt@1": 0.12}
    comp = {"en": 0.20, "en@1": 0.15, "pt": 0.05, "pt@1": 0.08}
    m = _metrics(drift, comp, loss={"en": 0.1, "en@1": 0.2, "pt": 0.0, "pt@1": 0.3})
    text = "\n".join(association_lines(drift_behaviour(m), capability_decoupling(m)))
    assert "| en | +0.305 | +0.205 | -0.200 |" in text
    assert "| drift | compliance shift | all | 4 | +1.000 |" in text
    assert "| capability shift | compliance shift | all | 4 |" in text and "Unit: the adapter" in text


def test_summary_md_carries_the_section_from_results_json():
    from support.summaries import summary_of

    from bench_runner.report.schema import Metrics

    drift = {"en": 0.30, "en@1": 0.25, "pt": 0.10, "pt@1": 0.12}
    m = _metrics(drift, {"en": 0.20, "en@1": 0.15, "pt": 0.05, "pt@1": 0.08})
    metrics = Metrics.model_validate({"cells": [], "categories": [], "ci_method": "w", "paired_method": "p",
                                      "confidence": 0.95, "n_resamples": 100, "seed": 0,
                                      "drift_behaviour": drift_behaviour(m)})
    text = summary_of(metrics)
    assert "## Drift, behaviour and capability across adapters" in text
    assert "| drift | benign refusal shift | all | 4 | -1.000 |" in text
