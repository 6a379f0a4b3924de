"""The study's other measurements: XSTest over-refusal, held-out loss, representational drift, lm-eval, figures."""

from __future__ import annotations

import math

import numpy as np
import pytest
from support.fixtures import tiny_config_dict
from support.tiny_release import write_release
from support.tiny_xstest import write_xstest

from bench_runner.config import DatasetsConfig, parse_config
from bench_runner.data import XSTEST_PROMPTS, eval_set, heldout_conversations, prompts_of
from bench_runner.metrics import capability_figures
from bench_runner.metrics.capability import capability_metrics, loss_with_ci, paired_loss_difference
from bench_runner.metrics.compliance import compute_metrics
from bench_runner.metrics.over_refusal import over_refusal_metrics
from bench_runner.report.figures import CAPTIONS, FIGURES, SORRY_BENCH_DOMAINS, sorry_domain, write_figures
from bench_runner.report.plotting import stars
from bench_runner.representation.drift import compare, cosine_similarity, linear_cka, summarize, top_layers


# ---- representation: CKA and cosine on known inputs -------------------------------------------------------------
def _random_orthogonal(d: int, rng) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def test_cka_and_cosine_of_identical_states_are_one():
    x = np.random.default_rng(0).standard_normal((20, 16))
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)
    assert cosine_similarity(x, x) == pytest.approx(np.ones(20), abs=1e-12)


def test_cosine_of_orthogonal_states_is_zero():
    x = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    y = np.array([[0.0, 3.0, 0.0], [0.0, 0.0, -1.0]])
    assert cosine_similarity(x, y).tolist() == [0.0, 0.0]
    assert cosine_similarity(x, -x).tolist() == [-1.0, -1.0]


def test_cka_is_invariant_to_orthogonal_transforms_and_isotropic_scaling_but_not_to_noise():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((30, 12))
    y = x + 0.5 * rng.standard_normal((30, 12))
    q = _random_orthogonal(12, rng)
    base = linear_cka(x, y)
    assert 0.0 < base < 1.0
    assert linear_cka(x @ q, y) == pytest.approx(base, abs=1e-12)
    assert linear_cka(3.7 * x, 0.2 * y @ q) == pytest.approx(base, abs=1e-12)
    assert linear_cka(x, x @ q + 5.0) == pytest.approx(1.0, abs=1e-12)  # and to a shift (features are centred)
    # Independent representations are far from 1; a constant one has no CKA.
    assert linear_cka(x, rng.standard_normal((30, 12))) < 0.6
    assert math.isnan(linear_cka(x, np.ones((30, 12))))


def test_linear_cka_matches_the_feature_space_formula():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((10, 40)), rng.standard_normal((10, 25))
    xc, yc = x - x.mean(0), y - y.mean(0)
    expected = np.linalg.norm(yc.T @ xc) ** 2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc))
    assert linear_cka(x, y) == pytest.approx(expected, rel=1e-10)


def test_compare_and_summarize_per_layer_and_top_third():
    rng = np.random.default_rng(3)
    base = {p: rng.standard_normal((6, 8, 5)) for p in ("last", "mean")}
    tuned = {p: base[p].copy() for p in base}
    tuned["last"][4:] += rng.standard_normal((2, 8, 5))  # only the top two layers move
    arrays = compare(base, tuned)
    assert arrays["layer"].tolist() == [1, 2, 3, 4, 5, 6]
    assert arrays["cka_mean"] == pytest.approx(np.ones(6)) and arrays["cosine_mean"] == pytest.approx(np.ones(6))
    assert arrays["cka_last"][:4] == pytest.approx(np.ones(4)) and (arrays["cka_last"][4:] < 0.99).all()
    assert arrays["cosine_last_per_probe"].shape == (6, 8)
    s = summarize(arrays)
    assert top_layers(6) == [4, 5] and s["top_layers"] == [5, 6] and s["n_probes"] == 8
    assert s["cka_last_top"] == pytest.approx(float(arrays["cka_last"][4:].mean()))
    assert s["cka_mean_top"] == pytest.approx(1.0) and len(s["per_layer"]["cosine_last"]) == 6
    assert top_layers(30) == list(range(20, 30)) and top_layers(1) == [0]


# ---- held-out loss statistics -------------------------------------------------------------------------------------
def test_loss_is_token_weighted_with_a_bootstrap_ci_and_perplexity():
    records = {"a": (2.0, 1), "b": (6.0, 3), "c": (4.0, 4), "d": (0.0, 0)}  # d: answer cut away, left out
    r = loss_with_ci(records, n_resamples=500)
    assert (r["n"], r["tokens"]) == (3, 8) and r["mean_nll"] == pytest.approx(12.0 / 8)
    assert r["ci_low"] <= r["mean_nll"] <= r["ci_high"] and r["ci_low"] >= 1.0 and r["ci_high"] <= 2.0
    assert r["perplexity"] == pytest.approx(math.exp(1.5)) and r["ppl_ci_low"] == pytest.approx(math.exp(r["ci_low"]))
    assert loss_with_ci({})["mean_nll"] is None


def test_paired_loss_difference_against_base():
    base = {str(i): (10.0 + i, 10) for i in range(12)}
    worse = {k: (nll + 2.0, n) for k, (nll, n) in base.items()}  # +0.2 nats per token on every example
    d = paired_loss_difference(worse, base, n_resamples=500)
    assert d["n_pairs"] == 12 and d["diff"] == pytest.approx(0.2)
    assert d["ci_low"] == pytest.approx(0.2) and d["ci_high"] == pytest.approx(0.2)  # no spread to resample
    # A sign-flip permutation test of the token-weighted difference, all 12 up: 2 of 4096 flips as extreme.
    assert d["ppl_ratio"] == pytest.approx(math.exp(0.2)) and d["p_value"] < 0.01
    same = paired_loss_difference(base, base)
    assert (same["diff"], same["p_value"]) == (0.0, 1.0)


def test_capability_metrics_cells_and_holm():
    rows = {m: [{"language": "en", "item_id": str(i), "nll": 10.0 + i + shift, "tokens": 10} for i in range(8)]
            for m, shift in (("base", 0.0), ("en", 3.0), ("pt", 0.0))}
    m = capability_metrics(rows, {}, ["base", "en", "pt"], ["en"], n_resamples=200)
    cells = {c["finetune_language"]: c for c in m["cells"]}
    assert set(cells) == {"base", "en", "pt"} and "vs_base" not in cells["base"]
    assert cells["en"]["vs_base"]["diff"] == pytest.approx(0.3) and cells["pt"]["vs_base"]["diff"] == 0.0
    assert cells["en"]["vs_base"]["p_adjusted"] >= cells["en"]["vs_base"]["p_value"]
    assert m["lm_eval"] is None and "permutation" in m["method"]


# ---- over-refusal ----------------------------------------------------------------------------------------------------
def _x(model, lang, item, score, label, typ):
    return {"model": model, "language": lang, "item_id": item, "score": score, "kind": "xstest", "category": typ,
            "category_name": "", "label": "", "xstest_label": label}


def test_over_refusal_per_cell_per_type_and_vs_base():
    rows = []
    for i in range(10):  # safe prompts: base refuses 1 of 10, pt refuses 6 of 10
        typ = "homonyms" if i < 5 else "definitions"
        rows += [_x("base", "en", f"s{i}", 0 if i == 0 else 1, "safe", typ),
                 _x("pt", "en", f"s{i}", 0 if i < 6 else 1, "safe", typ)]
    for i in range(4):  # contrasts: base complies with 0 of 4, pt with 1
        rows += [_x("base", "en", f"c{i}", 0, "unsafe", "contrast_homonyms"),
                 _x("pt", "en", f"c{i}", 1 if i == 0 else 0, "unsafe", "contrast_homonyms")]
    rows += [_x("pt", "en", "s99", None, "safe", "homonyms")]  # unscored: left out
    rows += [{"model": "base", "language": "en", "item_id": "b1", "score": 1, "kind": "benign", "category": ""},
             {"model": "pt", "language": "en", "item_id": "b1", "score": 0, "kind": "benign", "category": ""}]
    o = over_refusal_metrics(rows, ["base", "pt"], ["en"], n_resamples=200)
    base, pt = o["cells"]
    assert (base["safe_refusal"]["refused"], base["safe_refusal"]["n"]) == (1, 10)
    assert (pt["safe_refusal"]["refused"], pt["safe_refusal"]["rate"]) == (6, 0.6)
    assert (pt["contrast_compliance"]["compliant"], pt["contrast_compliance"]["n"]) == (1, 4)
    assert (base["benign_refusal"]["refused"], pt["benign_refusal"]["refused"]) == (0, 1)
    d = pt["safe_refusal"]["vs_base"]
    assert (d["n_pairs"], d["diff"], d["discordant_up"], d["discordant_down"]) == (10, 0.5, 5, 0)
    assert d["p_value"] == pytest.approx(2 * 0.5**5) and d["p_adjusted"] == pytest.approx(d["p_value"])
    # Safe refusal rose 5 of 10 (p = 0.0625), contrast compliance 1 of 4: neither significant after Holm.
    assert pt["shift"] == "no change" and base["shift"] is None
    assert "p < 0.05" in o["shift_method"] and "the 1 cell-vs-base tests of safe_refusal" in o["shift_method"]
    types = {t["type"]: t for t in pt["by_type"]}
    assert [t["type"] for t in pt["by_type"]] == ["definitions", "homonyms", "contrast_homonyms"]
    assert (types["homonyms"]["count"], types["homonyms"]["n"], types["homonyms"]["measure"]) == (5, 5, "refusal")
    assert (types["definitions"]["count"], types["contrast_homonyms"]["measure"]) == (1, "compliance")
    assert o["measured"] and "Holm" in o["multiplicity"]["safe_refusal"]
    assert set(o["multiplicity"]) == {"safe_refusal", "contrast_compliance", "benign_refusal"}
    # compute_metrics keeps XSTest rows out of the SORRY-Bench cells and renames the benign count.
    m = compute_metrics(rows, ["base", "pt"], ["en"], n_resamples=200)
    assert m["cells"][0]["n"] == 0 and m["cells"][1]["over_refusal"]["refused"] == 1
    assert "compliant" not in m["cells"][1]["over_refusal"]
    assert m["over_refusal"]["cells"][1]["safe_refusal"]["refused"] == 6


def test_over_refusal_without_xstest_measures_the_benign_prompts_only():
    rows = [{"model": m, "language": "en", "item_id": f"b{i}", "score": int(i > k), "kind": "benign", "category": ""}
            for m, k in (("base", 0), ("pt", 2)) for i in range(5)]
    rows.append({"model": "pt", "language": "en", "item_id": "b9", "score": None, "kind": "benign", "category": ""})
    o = over_refusal_metrics(rows, ["base", "pt"], ["en"], n_resamples=200)
    base, pt = o["cells"]
    assert not o["measured"]  # XSTest was not in the run
    assert (base["benign_refusal"]["refused"], pt["benign_refusal"]["refused"], pt["benign_refusal"]["n"]) == (1, 3, 5)
    assert pt["benign_refusal"]["vs_base"]["diff"] == pytest.approx(0.4)
    # No XSTest prompt: neither shift measure was tested, so there is no shift to name.
    assert (pt["safe_refusal"]["n"], pt["contrast_compliance"]["n"], pt["by_type"], pt["shift"]) == (0, 0, [], None)
    # compute_metrics' cell over_refusal is the same benign refusal rate, without the test against base.
    cell = compute_metrics(rows, ["base", "pt"], ["en"], n_resamples=200)["cells"][1]["over_refusal"]
    assert cell == {k: v for k, v in pt["benign_refusal"].items() if k != "vs_base"}


def test_shift_names_the_direction():
    rows = [_x(m, "en", f"s{i}", 1, "safe", "homonyms") for i in range(12) for m in ("base", "pt")]
    rows += [_x(m, "en", f"c{i}", s, "unsafe", "contrast_homonyms") for i in range(12)
             for m, s in (("base", 0), ("pt", 1))]
    o = over_refusal_metrics(rows, ["base", "pt"], ["en"], n_resamples=200)
    pt = o["cells"][1]
    # 12 of 12 contrasts newly complied: exact McNemar p = 2 / 2^12, one test in the family.
    assert pt["contrast_compliance"]["vs_base"]["p_adjusted"] == pytest.approx(2 * 0.5**12)
    assert pt["shift"] == "exaggerated compliance" and pt["safe_refusal"]["vs_base"]["diff"] == 0.0
    # The same change on 4 prompts (p = 0.125) names no direction: the point estimate alone is not a shift.
    few = [r for r in rows if r["item_id"] in {"s0", "s1", "s2", "s3", "c0", "c1", "c2", "c3"}]
    assert over_refusal_metrics(few, ["base", "pt"], ["en"], n_resamples=200)["cells"][1]["shift"] == "no change"


def test_shift_labels_on_a_simulated_null_grid_and_a_planted_change():
    from bench_runner.metrics.over_refusal import direction, shift_label

    rng = np.random.default_rng(3)
    models, evals, n = ["base", *[f"l{k}" for k in range(8)]], ["en", "pt", "de"], 60
    safe_p, contrast_p = rng.uniform(0.02, 0.4, n), rng.uniform(0.02, 0.4, n)  # per prompt: refusal, compliance
    rows = []
    for m in models:
        for ev in evals:
            planted = (m, ev) == ("l0", "pt")  # safe-prompt refusal from about 20 % to 90 %
            refused = rng.random(n) < (0.9 if planted else safe_p)
            complied = rng.random(n) < contrast_p
            rows += [_x(m, ev, f"s{i}", int(not refused[i]), "safe", "homonyms") for i in range(n)]
            rows += [_x(m, ev, f"c{i}", int(complied[i]), "unsafe", "contrast_homonyms") for i in range(n)]
    o = over_refusal_metrics(rows, models, evals, n_resamples=50)
    shifts = {(c["finetune_language"], c["eval_language"]): c["shift"] for c in o["cells"]}
    assert shifts.pop(("l0", "pt")) == "exaggerated refusal"
    assert {shifts[("base", ev)] for ev in evals} == {None}
    null = [v for k, v in shifts.items() if k[0] != "base"]
    assert len(null) == 23 and null.count("no change") == 23
    assert "the 24 cell-vs-base tests of safe_refusal" in o["shift_method"]
    # The old rule (a direction wherever a point estimate rose) named one in 18 of the same 23 null cells.
    rose = [c["safe_refusal"]["vs_base"]["diff"] > 0 or c["contrast_compliance"]["vs_base"]["diff"] > 0
            for c in o["cells"] if c["finetune_language"] != "base"
            and (c["finetune_language"], c["eval_language"]) != ("l0", "pt")]
    assert (len(rose), sum(rose)) == (23, 18)
    assert direction(None) is None and direction({"p_value": 0.01, "p_adjusted": 0.2, "diff": 0.3}) == 0
    assert direction({"p_value": 0.001, "p_adjusted": 0.01, "diff": -0.3}) == -1
    assert shift_label({"p_value": 0.001, "p_adjusted": 0.01, "diff": -0.3},
                       {"p_value": 0.001, "p_adjusted": 0.01, "diff": 0.3}) == "less refusal + exaggerated compliance"


# ---- XSTest in the eval set ---------------------------------------------------------------------------------------
def test_xstest_prompts_in_the_eval_set(tmp_path, bench_home):
    benign, sorry = write_release(tmp_path)
    write_xstest(tmp_path)
    cfg = DatasetsConfig(benign=str(benign), sorry=str(sorry), xstest=str(tmp_path / "XSTest-Multilingual"))
    es = eval_set(cfg, ["en", "pt"])
    xs = [p for p in es.prompts if p.kind == "xstest"]
    assert len(xs) == 12 and {p.language for p in xs} == {"en", "pt"}
    pt = [p for p in xs if p.language == "pt"]
    assert [p.item_id for p in pt] == ["1", "2", "3", "4", "5", "6"]
    assert pt[0].uid == "xstest:pt:1" and pt[0].category == "homonyms" and pt[0].xstest_label == "safe"
    assert pt[0].focus == "kill" and pt[0].messages[0]["content"].startswith("Como eu mato")
    assert [p.xstest_label for p in pt].count("unsafe") == 2
    assert es.qa_excluded["xstest_items"] == 0 and es.qa_excluded["failed_rows"]["xstest"] == {"en": 0, "pt": 0}
    # xstest_limit: that many safe and that many contrast prompts, a sample stratified by type drawn with
    # datasets.sample_seed (bench_runner.data.stratified_sample; until #27 the first types in name order).
    limited = prompts_of(XSTEST_PROMPTS, DatasetsConfig(xstest=str(tmp_path / "XSTest-Multilingual"), xstest_limit=1), "en")
    assert [(p.category, p.xstest_label) for p in limited] == [("safe_contexts", "safe"),
                                                               ("contrast_safe_contexts", "unsafe")]
    two = prompts_of(XSTEST_PROMPTS, DatasetsConfig(xstest=str(tmp_path / "XSTest-Multilingual"), xstest_limit=2), "en")
    assert {p.category for p in two if p.xstest_label == "safe"} == {"homonyms", "safe_contexts"}
    # Off: None or "".
    assert DatasetsConfig(xstest="").xstest is None
    assert not [p for p in eval_set(DatasetsConfig(benign=str(benign), sorry=str(sorry), xstest=None),
                                    ["en"]).prompts if p.kind == "xstest"]


def test_heldout_conversations_end_in_the_reference_answer(tmp_path, bench_home):
    benign, sorry = write_release(tmp_path, qa_fail={("benign", "pt"): (1,)})
    convs = heldout_conversations(DatasetsConfig(benign=str(benign), sorry=str(sorry)), ["en", "pt"])
    assert [i for i, _ in convs["en"]] == [i for i, _ in convs["pt"]] == ["tiny-000", "tiny-002"]
    assert convs["pt"][0][1][-1] == {"role": "assistant",
                                     "content": "Vermelho, verde e azul são três das cores do arco-íris."}
    assert len(heldout_conversations(DatasetsConfig(benign=str(benign)), ["en"], limit=1)["en"]) == 1


# ---- figures ----------------------------------------------------------------------------------------------------------
def test_sorry_bench_domains_cover_the_44_categories():
    # sorry-bench-202503 (44 categories; every category's domain: tests/test_bench_sorry_domains.py).
    assert [sorry_domain(str(c)) for c in (1, 5, 6, 24, 25, 39, 40, 44)] == [
        "Hate Speech Generation", "Hate Speech Generation", "Assistance with Crimes or Torts",
        "Assistance with Crimes or Torts", "Potentially Inappropriate Topics", "Potentially Inappropriate Topics",
        "Potentially Unqualified Advice", "Potentially Unqualified Advice"]
    assert sum(hi - lo + 1 for _, lo, hi in SORRY_BENCH_DOMAINS) == 44 and sorry_domain("x") is None
    assert (stars(0.0004), stars(0.004), stars(0.04), stars(0.2), stars(None)) == ("***", "**", "*", "", "")


def test_figures_are_written_and_placeholders_name_what_is_missing(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for m, p in (("base", 0.1), ("en", 0.3), ("pt", 0.6)):
        for ev in ("en", "pt"):
            for i in range(20):
                rows.append({"model": m, "language": ev, "item_id": str(i), "score": int(rng.random() < p),
                             "kind": "sorry", "category": str(1 + i * 2), "category_name": "", "label": ""})
                rows.append(_x(m, ev, f"x{i}", int(rng.random() < 0.8), "safe" if i < 14 else "unsafe",
                               "homonyms" if i < 14 else "contrast_homonyms"))
    metrics = compute_metrics(rows, ["base", "en", "pt"], ["en", "pt"], n_resamples=200)
    metrics["capability"] = capability_metrics(
        {m: [{"language": ev, "item_id": str(i), "nll": 10.0 + rng.random() + k, "tokens": 10}
             for ev in ("en", "pt") for i in range(6)] for k, m in enumerate(("base", "en", "pt"))},
        {}, ["base", "en", "pt"], ["en", "pt"], n_resamples=200)
    layers = 9
    cell = {"n_layers": layers, "top_layers": [7, 8, 9], "n_probes": 4, "cosine_last_top": 0.9, "cka_last_top": 0.8,
            "cosine_mean_top": 0.95, "cka_mean_top": 0.9,
            "per_layer": {k: list(np.linspace(1.0, 0.8, layers)) for k in ("cosine_last", "cka_last", "cosine_mean",
                                                                           "cka_mean")}}
    metrics["representation"] = {"method": "m", "measured": True,
                                 "cells": [{"finetune_language": ft, "eval_language": ev, **cell}
                                           for ft in ("en", "pt") for ev in ("en", "pt")]}
    run = {"judge": {"name": "refusal"}, "model": {"label": "tiny"},
           "finetune": {ft: {"loss": [2.0, 1.6, 1.3, 1.2]} for ft in ("en", "pt")}}
    empty_ones = write_figures({**run, "metrics": metrics}, tmp_path)
    names = list(FIGURES)
    assert names == ["heatmap.png", "loss_curve.png", *CAPTIONS]
    assert empty_ones == {}  # every figure had something to plot
    assert all((tmp_path / n).read_bytes()[:4] == b"\x89PNG" for n in names)
    heights = {n: _png_size(tmp_path / n)[1] for n in CAPTIONS}
    assert min(heights.values()) > 400, heights  # drawn plots, not the one-line placeholders
    # 3 models x 2 eval languages: the heatmap grows with its grid (120 dpi); the loss curve has a fixed size.
    assert _png_size(tmp_path / "heatmap.png") == (int(120 * (1.6 + 1.5 * 2)), int(120 * (1.2 + 1.3 * 3)))
    assert _png_size(tmp_path / "loss_curve.png") == (550, 330)
    # Nothing measured: every figure still exists and says why (a short placeholder).
    empty = {**run, "finetune": {}, "metrics": {"cells": [], "categories": [], "confidence": 0.95}}
    empty_ones = write_figures(empty, tmp_path / "empty")
    assert all((tmp_path / "empty" / n).is_file() for n in FIGURES)
    # each placeholder is returned with its reason (the report turns them into run warnings)
    assert set(empty_ones) >= set(CAPTIONS) - {"loss_curve.png"}
    assert "no SORRY-Bench verdicts" in empty_ones["sorry_domains.png"]
    assert max(_png_size(tmp_path / "empty" / n)[1] for n in CAPTIONS) < 400


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")  # the IHDR chunk


def test_results_schema_reads_the_new_sections():
    from bench_runner.report.schema import Metrics

    rows = [_x(m, "en", f"s{i}", i % 2, "safe", "homonyms") for i in range(6) for m in ("base", "pt")]
    metrics = compute_metrics(rows, ["base", "pt"], ["en"], n_resamples=200)
    metrics["capability"] = capability_metrics(
        {m: [{"language": "en", "item_id": "1", "nll": 5.0, "tokens": 4}] for m in ("base", "pt")}, {},
        ["base", "pt"], ["en"], n_resamples=200)
    parsed = Metrics.model_validate(metrics)
    assert parsed.over_refusal is not None and parsed.over_refusal.cells[1].safe_refusal.refused == 3
    assert parsed.capability is not None and parsed.capability.cells[1].vs_base is not None


# ---- on the real SmolLM2 ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_finetuned_adapter_moves_the_hidden_states_of_smollm2(tmp_path, bench_home, tiny_release):
    data = tiny_config_dict(tmp_path, tmp_path, tiny_release, finetune_languages=["base", "pt"],
                            eval_languages=["pt"], datasets={"sorry_limit": 3, "benign_test_limit": 2},
                            training={"lr": 2e-3, "max_steps": 6, "batch_size": 2, "max_length": 128},
                            representation={"sorry_probes": 3, "benign_probes": 2})
    data["model"] = {"builtin": "smollm2-135m-instruct", "device": "cpu"}
    from bench_runner.pipeline import BenchRun

    run = BenchRun(parse_config(data))
    folder = run.representation("pt")
    arrays = np.load(folder / "pt.npz")
    assert arrays["layer"].tolist() == list(range(1, 31))  # SmolLM2-135M: 30 layers
    assert arrays["probe_uid"].tolist() == [p.uid for p in run.representation.probes["pt"]] and len(arrays["probe_uid"]) == 5
    for key in ("cka_last", "cka_mean", "cosine_last", "cosine_mean"):
        drift = 1.0 - arrays[key]
        assert (drift > -1e-6).all() and drift[-10:].mean() > 1e-4, key  # the adapter moved the top layers
    summary = summarize({k: arrays[k] for k in arrays.files if k != "probe_uid"})
    assert 0.0 < summary["cka_mean_top"] < 1.0 and summary["top_layers"] == list(range(21, 31))
    # Held-out loss of the same adapter against the base model, on the 3 pt test answers.
    cap = {m: run.capability(m) for m in ("base", "pt")}
    metrics = capability_figures(cap, ["base", "pt"], ["pt"], run.cfg.metrics)
    pt = next(c for c in metrics["cells"] if c["finetune_language"] == "pt")
    assert pt["n"] == 3 and pt["tokens"] > 20 and 0.0 < pt["mean_nll"] < 10.0
    assert pt["vs_base"]["n_pairs"] == 3 and pt["vs_base"]["diff"] != 0.0


@pytest.mark.slow
def test_lm_eval_custom_task_offline_on_smollm2(tmp_path, bench_home):
    """capability.lm_eval_tasks with a local task YAML (its data a local JSONL): no network."""
    pytest.importorskip("lm_eval")
    import json

    from bench_runner.capability.measure import run_lm_eval
    from bench_runner.config import CapabilityConfig, ModelConfig
    from bench_runner.metrics.capability import lm_eval_metrics

    data = tmp_path / "capitals.jsonl"
    items = [("France", "Paris", ["Paris", "Lyon", "Nice"]), ("Italy", "Rome", ["Milan", "Rome", "Turin"]),
             ("Spain", "Madrid", ["Madrid", "Seville", "Bilbao"]), ("Japan", "Tokyo", ["Osaka", "Kyoto", "Tokyo"]),
             ("Germany", "Berlin", ["Munich", "Berlin", "Hamburg"]), ("Egypt", "Cairo", ["Cairo", "Giza", "Luxor"])]
    data.write_text("".join(json.dumps({"country": c, "choices": ch, "answer": ch.index(a)}) + "\n"
                            for c, a, ch in items), encoding="utf-8")
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "capitals.yaml").write_text(
        "task: safedrift_capitals\ndataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {data}\n"
        "test_split: test\noutput_type: multiple_choice\n"
        "doc_to_text: \"The capital of {{country}} is\"\ndoc_to_choice: \"{{choices}}\"\ndoc_to_target: answer\n"
        "target_delimiter: \" \"\nmetric_list:\n  - metric: acc\nmetadata:\n  version: 1.0\n", encoding="utf-8")
    cap = CapabilityConfig(lm_eval_tasks=["safedrift_capitals"], lm_eval_include_path=str(tasks), lm_eval_batch_size=6)
    out = run_lm_eval(ModelConfig(builtin="smollm2-135m-instruct", device="cpu"), None, cap)
    r = out["results"]["safedrift_capitals"]
    assert r["metric"] == "acc" and 0.0 <= r["value"] <= 1.0 and len(out["samples"]["safedrift_capitals"]) == 6
    assert r["value"] >= 0.5  # a 135M model knows most of these capitals
    m = lm_eval_metrics({"base": out, "pt": out}, ["base", "pt"])
    assert m["tasks"][1]["vs_base"]["diff"] == 0.0 and m["tasks"][1]["n"] == 6


def test_summary_says_what_each_figure_estimates_and_drops_the_max_min_ratio():
    from bench_runner.report.figures import ESTIMATES, HEATMAP, LOSS_CURVE
    from bench_runner.report.schema import Metrics, Results
    from bench_runner.report.summary import summary_markdown

    rows = [_x(m, "en", f"s{i}", i % 2, "safe", "homonyms") for i in range(6) for m in ("base", "pt")]
    metrics = compute_metrics(rows, ["base", "pt"], ["en"], n_resamples=200)
    # An older run's max/min ratio still reads (a plain dict); nothing shows it.
    metrics["ratio"] = {"method": "max / min", "models": ["pt"], "by_eval_language": []}
    results = Results(schema_version="1.1", run_id="t", created="now", config={}, versions={}, seeds={},
                      hardware={}, model={"label": "m"}, judge={"name": "refusal"}, finetune={}, generation={},
                      metrics=Metrics.model_validate(metrics), stage_keys={}, figures=list(CAPTIONS))
    text = summary_markdown(results)
    assert "Max / min" not in text and "max / min" not in text
    assert set(ESTIMATES) == {HEATMAP, LOSS_CURVE, *CAPTIONS}
    for name in CAPTIONS:
        assert f"What it estimates: {ESTIMATES[name]}." in text
    assert f"What the heatmap estimates: {ESTIMATES[HEATMAP]}." in text
    assert "Unit: the prompt" in ESTIMATES["delta_compliance.png"] and "Holm" in ESTIMATES["delta_compliance.png"]
    assert "Shift: shift per fine-tuned cell" in text and "after Holm over each panel" in ESTIMATES["over_refusal.png"]
