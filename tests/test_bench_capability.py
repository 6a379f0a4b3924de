"""Capability that compares across languages: held-out loss in bits per UTF-8 byte, a p-value of the token-weighted
difference that is reported, lm-eval filter variants kept apart, and safedrift's own offline lm-eval task."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench_runner.capability.measure import lm_eval_figures, scored_bytes
from bench_runner.metrics.capability import capability_metrics, loss_with_ci, paired_loss_difference


def test_bits_per_byte_is_the_summed_nll_in_bits_over_the_answer_bytes():
    records = {"a": (2.0, 1, 4), "b": (6.0, 3, 12), "c": (4.0, 4, 8), "d": (0.0, 0, 0)}
    r = loss_with_ci(records, n_resamples=300)
    assert r["bytes"] == 24 and r["bits_per_byte"] == pytest.approx(12.0 / math.log(2) / 24)
    assert r["bpb_ci_low"] <= r["bits_per_byte"] <= r["bpb_ci_high"]
    assert r["mean_nll"] == pytest.approx(12.0 / 8)  # nats per token unchanged beside it
    assert "bits_per_byte" not in loss_with_ci({"a": (2.0, 1), "b": (3.0, 2)})  # rows from before bytes


def test_a_language_with_more_tokens_per_byte_is_compared_fairly_in_bits_per_byte():
    # The same text: 30 bytes; language A's tokenizer needs 3 tokens, B's 10, and both models lose 6 nats on it.
    a = {str(i): (6.0, 3, 30) for i in range(5)}
    b = {str(i): (6.0, 10, 30) for i in range(5)}
    ra, rb = loss_with_ci(a, n_resamples=100), loss_with_ci(b, n_resamples=100)
    assert ra["mean_nll"] == pytest.approx(2.0) and rb["mean_nll"] == pytest.approx(0.6)  # per token: 3x apart
    assert ra["bits_per_byte"] == pytest.approx(rb["bits_per_byte"])  # per byte: the same


def test_the_p_value_tests_the_token_weighted_difference_it_reports():
    # Long answers got worse, short ones better: the token-weighted difference is clearly positive while most
    # examples (per-example mean NLL, what the Wilcoxon test ranked) moved down.
    base = {str(i): (100.0, 100, 400) if i < 4 else (10.0, 5, 20) for i in range(12)}
    tuned = {k: (nll + 30.0, n, b) if n == 100 else (nll - 1.0, n, b) for k, (nll, n, b) in base.items()}
    d = paired_loss_difference(tuned, base, n_resamples=4096)
    assert d["diff"] == pytest.approx((4 * 30.0 - 8 * 1.0) / (4 * 100 + 8 * 5)) and d["diff"] > 0
    # Exact sign flips (2^12 <= n_resamples): |T*| >= T needs the four long answers flipped together (2 x 2^8).
    assert d["p_value"] == pytest.approx(512 / 4096)
    from scipy.stats import wilcoxon  # what the p-value was before: a per-example median, another estimand

    per_example = [(t[0] - b[0]) / b[1] for t, b in zip(tuned.values(), base.values(), strict=True)]
    assert wilcoxon(per_example).pvalue > 0.5
    assert d["diff_bits_per_byte"] == pytest.approx(112.0 / math.log(2) / (4 * 400 + 8 * 20))
    none = paired_loss_difference(base, base)
    assert (none["diff"], none["p_value"]) == (0.0, 1.0)


def test_the_permutation_p_value_keeps_its_level_under_no_difference():
    rng = np.random.default_rng(0)
    ps = []
    for s in range(150):
        base = {str(i): (float(rng.gamma(2.0, 5.0)), int(rng.integers(5, 60))) for i in range(25)}
        tuned = {k: (nll + float(rng.normal(0.0, 2.0)), n) for k, (nll, n) in base.items()}
        ps.append(paired_loss_difference(tuned, base, n_resamples=300, seed=s)["p_value"])
    assert 0.01 < np.mean(np.array(ps) < 0.05) < 0.1


def test_capability_cells_carry_bits_per_byte_and_its_difference():
    rows = {m: [{"language": "en", "item_id": str(i), "nll": 10.0 + i + shift, "tokens": 10, "bytes": 35}
                for i in range(8)] for m, shift in (("base", 0.0), ("en", 3.0))}
    m = capability_metrics(rows, {}, ["base", "en"], ["en"], n_resamples=200)
    en = next(c for c in m["cells"] if c["finetune_language"] == "en")
    assert en["bits_per_byte"] == pytest.approx(sum(13.0 + i for i in range(8)) / math.log(2) / (8 * 35))
    assert en["vs_base"]["diff_bits_per_byte"] == pytest.approx(24.0 / math.log(2) / 280)
    assert "permutation" in m["method"] and "bits per byte" in m["method"]


def test_scored_bytes_count_the_answer_text_not_the_special_tokens():
    from support.tiny_lm import train_tokenizer

    tok = train_tokenizer()
    answer = tok("Água fria.", add_special_tokens=False)["input_ids"] + [tok.convert_tokens_to_ids("<|im_end|>")]
    labels = [-100, -100, *answer]
    assert scored_bytes(tok, labels) == len("Água fria.".encode()) == 11


# ---- lm-eval ---------------------------------------------------------------------------------------------------------
def test_lm_eval_filter_variants_are_kept_apart():
    res = {"results": {"gsm": {"alias": "gsm", "exact_match,strict-match": 0.25, "exact_match_stderr,strict-match": 0.1,
                               "exact_match,flexible-extract": 0.75, "exact_match_stderr,flexible-extract": "N/A"},
                       "mc": {"acc,none": 0.5, "acc_stderr,none": 0.2, "acc_norm,none": 0.4}},
           "samples": {"gsm": [{"doc_id": 0, "filter": "strict-match", "exact_match": 0.0},
                               {"doc_id": 0, "filter": "flexible-extract", "exact_match": 1.0},
                               {"doc_id": 1, "filter": "strict-match", "exact_match": 1.0},
                               {"doc_id": 1, "filter": "flexible-extract", "exact_match": 1.0}],
                       "mc": [{"doc_id": 3, "filter": "none", "acc": 1.0, "acc_norm": 0.0}]}}
    results, samples = lm_eval_figures(res)
    assert set(results) == {"gsm [strict-match]", "gsm [flexible-extract]", "mc"}
    assert results["gsm [strict-match]"]["value"] == 0.25 and results["gsm [strict-match]"]["stderr"] == 0.1
    assert results["gsm [flexible-extract]"]["value"] == 0.75 and results["gsm [flexible-extract]"]["stderr"] is None
    assert samples["gsm [strict-match]"] == {"0": 0.0, "1": 1.0} and samples["gsm [flexible-extract]"] == {"0": 1.0,
                                                                                                          "1": 1.0}
    assert results["mc"]["metric"] == "acc" and results["mc"]["metrics"] == {"acc": 0.5, "acc_norm": 0.4}
    assert samples["mc"] == {"3": 1.0}


def test_the_builtin_offline_task_runs_per_language_on_a_tiny_model(tiny_model):
    pytest.importorskip("lm_eval")
    from bench_runner.capability.lm_eval_tasks.items import ITEMS
    from bench_runner.capability.measure import run_lm_eval
    from bench_runner.config import CapabilityConfig, ModelConfig
    from bench_runner.metrics.capability import lm_eval_metrics

    cap = CapabilityConfig(lm_eval_tasks=["safedrift_mc_en", "safedrift_mc_pt"], lm_eval_batch_size=6)
    out = run_lm_eval(ModelConfig(local_dir=str(tiny_model), device="cpu"), None, cap)
    assert set(out["results"]) == {"safedrift_mc_en", "safedrift_mc_pt"}
    for lang in ("en", "pt"):
        r = out["results"][f"safedrift_mc_{lang}"]
        assert r["metric"] == "acc" and r["filter"] == "none" and len(out["samples"][f"safedrift_mc_{lang}"]) == 6
        # acc is the share of documents whose right answer the model scored highest.
        assert r["value"] == pytest.approx(np.mean(list(out["samples"][f"safedrift_mc_{lang}"].values())))
    assert [i[0] for i in ITEMS["en"]] == [i[0] for i in ITEMS["pt"]]  # the same items in both languages
    m = lm_eval_metrics({"base": out, "pt": out}, ["base", "pt"])
    assert [t["task"] for t in m["tasks"]] == ["safedrift_mc_en", "safedrift_mc_pt"] * 2
    assert m["tasks"][2]["vs_base"]["diff"] == 0.0


def test_the_capability_figure_has_one_panel_per_eval_language_in_bits_per_byte(tmp_path):
    from bench_runner.report.figures import plot_capability_vs_safety

    def diff(d: float) -> dict:
        return {"n_pairs": 5, "diff": d, "ci_low": d - 0.1, "ci_high": d + 0.1, "diff_bits_per_byte": d / 2,
                "bpb_ci_low": d / 2 - 0.05, "bpb_ci_high": d / 2 + 0.05}

    evals = ["en", "pt", "th"]
    cells = [{"finetune_language": ft, "eval_language": ev, "vs_base": diff(0.1 * k)}
             for k, ft in enumerate(["en", "pt"], 1) for ev in evals]
    results = {"metrics": {"capability": {"cells": cells}, "cells": cells}}
    out = plot_capability_vs_safety(results, tmp_path / "cap.png")
    data = out.read_bytes()
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 3 * 3.2 * 100 and height > 300  # three panels side by side (dpi >= 100)
