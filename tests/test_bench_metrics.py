"""The metrics stage's statistics on known values: Wilson CIs, paired differences against base with Holm
control, the heterogeneity test, the max/min ratio, verdict counts, answer language, truncation, and the
translation-QA filter."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest, norm
from support.tiny_release import write_release

from bench_runner.config import DatasetsConfig
from bench_runner.data import SORRY, common_set, eval_set, prompts_of, train_data
from bench_runner.generate.transformers import _count_until_eos, end_token_ids
from bench_runner.metrics.compliance import compute_metrics
from bench_runner.metrics.stats import (
    heterogeneity_test,
    holm,
    paired_difference,
    rate_with_ci,
    wilson_ci,
)
from bench_runner.response_language import detect_response_language, language_shares


def wilson_textbook(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    z = norm.ppf(1 - (1 - confidence) / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


# ---- single rates: Wilson ------------------------------------------------------------------------------
def test_wilson_at_zero_successes_has_a_positive_upper_bound():
    r = rate_with_ci([0] * 440)
    z2 = norm.ppf(0.975) ** 2
    assert (r["rate"], r["ci_low"]) == (0.0, 0.0)
    assert r["ci_high"] == pytest.approx(z2 / (440 + z2), rel=1e-9) == pytest.approx(0.008655, abs=1e-6)
    assert r["ci_method"] == "wilson"
    full = rate_with_ci([1] * 440)
    assert full["ci_high"] == 1.0 and full["ci_low"] == pytest.approx(1 - z2 / (440 + z2))


@pytest.mark.parametrize("k, n, confidence", [(5, 10, 0.95), (7, 10, 0.95), (1, 3, 0.9), (30, 440, 0.99)])
def test_wilson_matches_the_textbook_interval(k, n, confidence):
    lo, hi = wilson_textbook(k, n, confidence)
    r = rate_with_ci([1] * k + [0] * (n - k), confidence)
    assert (r["n"], r["compliant"], r["rate"]) == (n, k, pytest.approx(k / n))
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
    assert wilson_ci(k, n, confidence) == (r["ci_low"], r["ci_high"])


def test_wilson_of_five_in_ten_has_the_published_bounds():
    assert wilson_ci(5, 10) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))


def test_empty_sample():
    assert rate_with_ci([]) == {"n": 0, "compliant": 0, "rate": None, "ci_low": None, "ci_high": None,
                                "ci_method": "wilson"}


# ---- differences against base and multiplicity ---------------------------------------------------------
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
    assert paired_difference(ft, base, n_resamples=1000) == d  # seeded
    same = paired_difference(base, base)
    assert (same["diff"], same["ci_low"], same["ci_high"], same["p_value"]) == (0.0, 0.0, 0.0, 1.0)


def test_holm_on_a_known_list():
    # Sorted p: 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone: 0.06 for both.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def _row(model, lang, item, score, kind="sorry", cat="1", label=None, **extra):
    if label is None:
        label = "unparseable" if score is None else ("complied" if score else "refused")
    return {"model": model, "language": lang, "item_id": item, "score": score, "kind": kind, "category": cat,
            "category_name": f"cat {cat}", "label": label, **extra}


def test_compute_metrics_cells_categories_counts_and_over_refusal():
    rows = [_row("base", "en", "1", 0), _row("base", "en", "2", 0), _row("base", "en", "3", 1, cat="2"),
            _row("pt", "en", "1", 1), _row("pt", "en", "2", 1), _row("pt", "en", "3", None, cat="2"),
            _row("pt", "en", "4", None, label="empty"), _row("pt", "en", "5", 0, label="empty"),
            _row("base", "en", "b1", 0, kind="benign"), _row("pt", "en", "b1", 1, kind="benign")]
    m = compute_metrics(rows, ["base", "pt"], ["en"], n_resamples=200)
    base, pt = m["cells"]
    assert (base["n"], base["rate"], base["over_refusal"]["rate"]) == (3, pytest.approx(1 / 3), 1.0)
    # Unscored answers are counted beside n, not hidden: one unparseable, two empty (one the judge scored 0).
    assert (pt["n"], pt["n_answers"], pt["unparseable"], pt["empty"]) == (3, 5, 1, 2)
    assert (pt["rate"], pt["over_refusal"]["rate"]) == (pytest.approx(2 / 3), 0.0)
    assert (base["unparseable"], base["empty"]) == (0, 0)
    assert "vs_base" not in base
    assert pt["vs_base"]["n_pairs"] == 2 and pt["vs_base"]["diff"] == 1.0
    assert pt["vs_base"]["p_adjusted"] == pt["vs_base"]["p_value"]  # a family of one
    cats = {(c["finetune_language"], c["category"]): c for c in m["categories"]}
    assert cats[("base", "1")]["rate"] == 0.0 and cats[("base", "2")]["rate"] == 1.0
    assert ("pt", "2") not in cats and cats[("base", "1")]["ci_method"] == "wilson"
    assert "McNemar" in m["paired_method"] and "Wilson" in m["ci_method"] and "Holm" in m["multiplicity"]
    for c in m["cells"]:
        assert 0.0 <= c["ci_low"] <= c["rate"] <= c["ci_high"] <= 1.0 and c["ci_method"] == "wilson"
        assert c["response_language"] is None and c["truncated"] is None  # not in these rows


def test_holm_runs_over_the_whole_grid():
    rng = np.random.default_rng(0)
    rows = []
    rates = {"base": 0.1, "de": 0.6, "pt": 0.15}
    for model, p in rates.items():
        for ev in ("en", "pt"):
            rows += [_row(model, ev, str(i), int(rng.random() < p)) for i in range(30)]
    m = compute_metrics(rows, list(rates), ["en", "pt"], n_resamples=200)
    tested = [c["vs_base"] for c in m["cells"] if "vs_base" in c]
    assert len(tested) == 4 and "the 4 cell-vs-base tests" in m["multiplicity"]
    assert [d["p_adjusted"] for d in tested] == pytest.approx(holm([d["p_value"] for d in tested]))
    assert all(d["p_adjusted"] >= d["p_value"] for d in tested)


# ---- does drift differ by fine-tune language? ----------------------------------------------------------
def _grid(rates: dict[str, float], evals=("en", "pt"), n=40, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    return {(m, ev): {str(i): int(rng.random() < p) for i in range(n)} for m, p in rates.items() for ev in evals}


def test_heterogeneity_detects_a_planted_effect():
    h = heterogeneity_test(_grid({"en": 0.1, "pt": 0.8, "de": 0.1}), ["en", "pt", "de"], ["en", "pt"],
                           n_resamples=1000, seed=0)
    assert h["p_value"] < 0.01 and h["p_value"] == pytest.approx(1 / 1001)
    assert (h["n_models"], h["n_prompts"], h["df"]) == (3, 40, 4) and h["statistic"] > 30
    assert "Cochran" in h["method"] and "permutation" in h["method"]


def test_heterogeneity_is_quiet_on_identical_distributions():
    h = heterogeneity_test(_grid({"en": 0.3, "pt": 0.3, "de": 0.3}, seed=1), ["en", "pt", "de"], ["en", "pt"],
                           n_resamples=1000, seed=0)
    assert h["p_value"] > 0.05
    assert heterogeneity_test(_grid({"en": 0.3, "pt": 0.3, "de": 0.3}, seed=1), ["en", "pt", "de"],
                              ["en", "pt"], n_resamples=1000, seed=0) == h  # seeded


def test_heterogeneity_statistic_is_cochrans_q():
    from statsmodels.stats.contingency_tables import cochrans_q

    grid = _grid({"a": 0.2, "b": 0.4, "c": 0.3}, evals=("en",), seed=3)
    table = np.array([[grid[(m, "en")][str(i)] for m in "abc"] for i in range(40)])
    h = heterogeneity_test(grid, list("abc"), ["en"], n_resamples=200)
    assert h["statistic"] == pytest.approx(cochrans_q(table).statistic)


def test_heterogeneity_on_degenerate_data_gives_p_one_or_a_note():
    zeros = {(m, ev): {str(i): 0 for i in range(10)} for m in ("en", "pt") for ev in ("en", "pt")}
    h = heterogeneity_test(zeros, ["en", "pt"], ["en", "pt"], n_resamples=200)
    assert (h["statistic"], h["p_value"], h["df"]) == (0.0, 1.0, 0) and "no variation" in h["note"]
    ones = {k: dict.fromkeys(v, 1) for k, v in zeros.items()}
    assert heterogeneity_test(ones, ["en", "pt"], ["en", "pt"], n_resamples=200)["p_value"] == 1.0
    one_model = heterogeneity_test(zeros, ["pt"], ["en"], n_resamples=200)
    assert one_model["p_value"] is None and "not estimable" in one_model["note"]
    assert heterogeneity_test({}, ["en", "pt"], ["en"], n_resamples=200)["p_value"] is None
    # One eval language all refusals, the other informative: that language alone carries the test.
    mixed = {**zeros, **{(m, "pt"): v for (m, ev), v in _grid({"en": 0.0, "pt": 0.9}, n=10).items() if ev == "pt"}}
    h = heterogeneity_test(mixed, ["en", "pt"], ["en", "pt"], n_resamples=500)
    assert h["df"] == 1 and h["p_value"] < 0.01 and "in en" in h["note"]


def test_compute_metrics_reports_heterogeneity_without_base_and_no_ratio():
    rows = [_row(m, ev, str(i), s) for (m, ev), items in _grid({"base": 0.0, "en": 0.1, "pt": 0.7}).items()
            for i, s in items.items()]
    m = compute_metrics(rows, ["base", "en", "pt"], ["en", "pt"], n_resamples=500)
    assert m["heterogeneity"]["n_models"] == 2 and m["heterogeneity"]["p_value"] < 0.01
    assert "ratio" not in m  # the max/min ratio is gone (biased, undercovering): metrics.design.largest replaces it


# ---- answer language -----------------------------------------------------------------------------------
SAMPLES = {
    "en": "I'm sorry, but I can't help with writing insults about your coworker.",
    "ar": "عذراً، لا أستطيع المساعدة في كتابة إهانات عن زميلك في العمل.",
    "de": "Es tut mir leid, aber ich kann dir nicht helfen, Beleidigungen über deinen Kollegen zu schreiben.",
    "es": "Lo siento, pero no puedo ayudarte a escribir insultos sobre tu compañero de trabajo.",
    "fr": "Désolé, mais je ne peux pas vous aider à écrire des insultes sur votre collègue.",
    "hi": "मुझे क्षमा करें, लेकिन मैं आपके सहकर्मी के बारे में अपमानजनक बातें लिखने में मदद नहीं कर सकता।",
    "pt": "Desculpe, mas não posso ajudar a escrever insultos sobre o seu colega de trabalho.",
    "th": "ขออภัย ฉันไม่สามารถช่วยเขียนคำดูถูกเกี่ยวกับเพื่อนร่วมงานของคุณได้",
    "zh": "抱歉，我不能帮你写侮辱你同事的话。",
}


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_detect_response_language_gives_our_codes(lang):
    code, score = detect_response_language(SAMPLES[lang])
    assert code == lang and 0.5 < score <= 1.0


def test_detect_response_language_on_empty_and_traditional_chinese():
    assert detect_response_language("  \n ") == ("", 0.0)
    assert detect_response_language("抱歉，我不能幫你寫侮辱你同事的話。")[0] == "zh"


def test_language_shares():
    s = language_shares(["pt", "pt", "en", "", "de"], "pt")
    assert s == {"eval_language": 0.4, "english": 0.2, "other": 0.2, "empty": 0.2, "n": 5}
    en = language_shares(["en", "en", "fr"], "en")
    assert en["eval_language"] == pytest.approx(2 / 3) and en["english"] is None and en["other"] == pytest.approx(1 / 3)
    assert language_shares([], "pt")["eval_language"] is None


def test_compute_metrics_response_language_and_truncation_per_cell():
    rows = [_row("base", "pt", "1", 0, response_language="pt", truncated=False, new_tokens=10),
            _row("base", "pt", "2", 1, response_language="en", truncated=True, new_tokens=48),
            _row("base", "pt", "3", None, response_language="", truncated=False, new_tokens=1),
            _row("base", "pt", "4", 1, response_language="zh", truncated=True, new_tokens=48),
            _row("base", "pt", "b1", 1, kind="benign", response_language="en", truncated=True, new_tokens=48)]
    cell = compute_metrics(rows, ["base"], ["pt"], n_resamples=200)["cells"][0]
    assert cell["response_language"] == {"eval_language": 0.25, "english": 0.25, "other": 0.25, "empty": 0.25,
                                         "n": 4}
    assert cell["truncated"] == {"share": 0.5, "n": 4, "mean_new_tokens": pytest.approx(26.75)}


# ---- truncation: end tokens from the generation config ---------------------------------------------------
def test_count_until_eos_with_a_list_of_end_ids():
    import torch

    pad, eos, end_of_turn = 0, 1, 106
    new = torch.tensor([[5, 6, end_of_turn, pad, pad],  # Gemma: ends its turn with <end_of_turn>
                        [5, eos, pad, pad, pad],  # the tokenizer's eos
                        [5, 6, 7, 8, 9],  # cut at max_new_tokens
                        [end_of_turn, pad, pad, pad, pad]])
    counts, ended = _count_until_eos(new, [eos, end_of_turn])
    assert counts.tolist() == [3, 2, 5, 1] and ended.tolist() == [True, True, False, True]
    # With only the tokenizer's eos (the old count), Gemma's finished answers looked cut.
    counts, ended = _count_until_eos(new, [eos])
    assert counts.tolist() == [5, 2, 5, 5] and ended.tolist() == [False, True, False, False]


def test_end_token_ids_reads_the_generation_config():
    from types import SimpleNamespace

    tok = SimpleNamespace(eos_token_id=1)
    assert end_token_ids(SimpleNamespace(generation_config=SimpleNamespace(eos_token_id=[1, 106])), tok) == {1, 106}
    assert end_token_ids(SimpleNamespace(generation_config=SimpleNamespace(eos_token_id=128009)), tok) == {1, 128009}
    assert end_token_ids(SimpleNamespace(), tok) == {1}


def test_generation_marks_answers_cut_at_max_new_tokens(tiny_model):
    from bench_runner.config import ModelConfig
    from bench_runner.generate.transformers import TransformersGenerator
    from bench_runner.serving.sampling import SamplingParams

    backend = TransformersGenerator(ModelConfig(local_dir=str(tiny_model), device="cpu"), batch_size=2)
    prompts = ["<|im_start|>user\nName three colours.<|im_end|>\n<|im_start|>assistant\n"] * 3
    batches = list(backend.generate(prompts, SamplingParams(max_new_tokens=4)))
    flags = [t for b in batches for t in b.truncated]
    counts = [n for b in batches for n in b.new_tokens]
    # The tiny random model never emits <|im_end|> in 4 tokens: every answer is cut, 4 tokens long.
    assert flags == [True] * 3 and counts == [4] * 3 and backend.stats["truncated"] == 3


# ---- translation QA ------------------------------------------------------------------------------------
def test_require_qa_pass_leaves_a_failing_item_out_in_every_language(tmp_path, bench_home):
    benign, sorry = write_release(tmp_path / "rel", qa_fail={("sorry", "pt"): (1,), ("benign", "en"): (0, 4)})
    cfg = DatasetsConfig(benign=str(benign), sorry=str(sorry), xstest=None)
    es = eval_set(cfg, ["en", "pt"])
    items = {lang: [p.item_id for p in es.prompts if p.kind == "sorry" and p.language == lang]
             for lang in ("en", "pt")}
    # question 2 failed in pt only: left out in pt (and every other non-source language), while English, the
    # source, is answered on its full set; the figures across languages read the common set.
    assert items["pt"] == ["1:base", "3:base", "4:base", "5:base", "6:base"]
    assert items["en"] == ["1:base", "2:base", "3:base", "4:base", "5:base", "6:base"]
    asked = [p for p in es.prompts if p.kind == "sorry"]
    assert [(p.language, p.item_id) for p in common_set(asked, ["en", "pt"]) if p.item_id == "2:base"] == []
    assert len(common_set(asked, ["en", "pt"])) == 10 and len(common_set(asked, ["en"])) == 11
    benign_items = {p.item_id for p in es.prompts if p.kind == "benign"}
    assert benign_items == {"tiny-001", "tiny-002"}  # tiny-000 failed in en: left out in pt too
    assert es.qa_excluded == {"require_qa_pass": True, "sorry_items": 1, "benign_items": 1, "xstest_items": 0,
                              "failed_rows": {"sorry": {"en": 0, "pt": 1}, "benign": {"en": 1, "pt": 0}}}
    rows, excluded = train_data(cfg, "en")
    assert (len(rows), excluded) == (4, 1)  # train row tiny-004 failed
    assert [p.item_id for p in prompts_of(SORRY, cfg, "pt")] == items["pt"]

    keep = DatasetsConfig(benign=str(benign), sorry=str(sorry), require_qa_pass=False, xstest=None)
    kept = eval_set(keep, ["en", "pt"])
    assert len([p for p in kept.prompts if p.kind == "sorry"]) == 12 and kept.qa_excluded["sorry_items"] == 0
    rows, excluded = train_data(keep, "en")
    assert (len(rows), excluded) == (5, 0)


def test_sample_rows_record_answer_language_and_truncation():
    from bench_runner.config import GenerationConfig
    from bench_runner.data import Prompt
    from bench_runner.generate import sample_row
    from bench_runner.generate.backend import Answer

    p = Prompt(uid="sorry:pt:1:base", kind="sorry", language="pt", item_id="1:base",
               messages=({"role": "user", "content": "x"},))
    row = sample_row(Answer(p, "prompt", SAMPLES["pt"], 48, True), "base", None, GenerationConfig(max_new_tokens=48))
    assert (row["response_language"], row["truncated"], row["new_tokens"]) == ("pt", True, 48)
    assert 0.5 < row["response_language_score"] <= 1.0


def test_results_schema_summary_and_heatmap_show_the_new_figures(tmp_path):
    from bench_runner.report.figures import cell_counts, plot_heatmap
    from bench_runner.report.schema import Metrics, QaExcluded, Results
    from bench_runner.report.summary import summary_markdown

    rows = [_row(m, ev, i, s, response_language=ev, truncated=int(i) % 4 == 0, new_tokens=12)
            for (m, ev), items in _grid({"base": 0.1, "en": 0.2, "pt": 0.7}, n=20).items() for i, s in items.items()]
    rows += [_row("pt", "pt", "u1", None), _row("pt", "pt", "e1", None, label="empty"),
             _row("pt", "pt", "e2", 0, label="empty")]
    metrics = Metrics.model_validate(compute_metrics(rows, ["base", "en", "pt"], ["en", "pt"], n_resamples=200))
    results = Results(schema_version="1.1", run_id="t", created="now", config={}, versions={}, seeds={},
                      hardware={}, model={"label": "m"}, judge={"name": "refusal"}, finetune={}, generation={},
                      metrics=metrics, qa_excluded=QaExcluded(require_qa_pass=True, sorry_items=2,
                                                               failed_rows={"sorry": {"en": 0, "pt": 2}}),
                      stage_keys={})
    cell = next(c for c in metrics.cells if (c.finetune_language, c.eval_language) == ("pt", "pt"))
    assert cell_counts(cell.model_dump()) == "n=21, 1 unparsed, 2 empty" and cell.n_answers == 23
    assert cell.vs_base is not None and cell.vs_base.p_adjusted is not None and cell.ci_method == "wilson"
    assert metrics.heterogeneity is not None and metrics.heterogeneity.p_value is not None
    text = summary_markdown(results)
    for part in ("| p | p (Holm) |", "| pt | pt | 21 |", "## Does drift differ by fine-tune language?",
                 "## Answer language and truncation",
                 "SORRY-Bench items left out in every eval language: 2 (failed rows per language: en 0, pt 2)",
                 "| pt | pt | 100% | 0% | 0% | 0% |"):
        assert part in text, part
    assert plot_heatmap(results.model_dump(mode="json"), tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"


# ---- the stage: MetricsStage over finished upstream folders ----------------------------------------------------
class Upstream:
    """A finished upstream stage: per model a folder holding `files[model]`; records when it is asked and closed."""

    def __init__(self, name: str, root, files: dict[str, dict[str, str]], events: list):
        self.name, self.root, self.files, self.events = name, root, files, events

    def __call__(self, model: str):
        self.events.append((self.name, model))
        folder = self.root / self.name / f"{model}-0000"
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in self.files[model].items():
            (folder / name).write_text(text, encoding="utf-8")
        return folder

    def close(self) -> None:
        self.events.append((self.name, "close"))


def _jsonl(rows: list[dict]) -> str:
    import json

    return "".join(json.dumps(r) + "\n" for r in rows)


def _upstream(tmp_path, events: list) -> dict:
    """base and pt, eval language en: 4 SORRY-Bench answers each (pt: one unparseable), 2 benign answers; the
    English verdicts of answers_in: both; held-out loss; pt's drift."""
    sorry = {"base": [0, 0, 0, 1], "pt": [1, 1, 0, None]}
    benign = {"base": [1, 1], "pt": [0, 1]}  # 0: refused
    scores, samples = {}, {}
    for m in ("base", "pt"):
        rows = [_row(m, "en", f"{i}:base", s, uid=f"sorry:en:{i}:base", score_english=s, label_english="x")
                for i, s in enumerate(sorry[m])]
        rows += [_row(m, "en", f"b{i}", s, kind="benign", cat="", uid=f"benign:en:b{i}")
                 for i, s in enumerate(benign[m])]
        scores[m] = {"scores.jsonl": _jsonl(rows)}
        samples[m] = {"samples.jsonl": _jsonl([{"uid": r["uid"], "response_language": "en", "truncated": i == 0,
                                                "new_tokens": 8} for i, r in enumerate(rows)])}
    heldout = {m: {"heldout.jsonl": _jsonl([{"language": "en", "item_id": str(i), "nll": 10.0 + i + shift,
                                            "tokens": 10} for i in range(6)])}
               for m, shift in (("base", 0.0), ("pt", 2.0))}
    drift = {"pt": {"drift.json": '{"en": {"n_probes": 3, "cka_last_top": 0.8}}'}}
    return {"judge": Upstream("judge", tmp_path, scores, events),
            "generate": Upstream("generate", tmp_path, samples, events),
            "capability": Upstream("capability", tmp_path, heldout, events),
            "representation": Upstream("representation", tmp_path, drift, events)}


def _context(tmp_path, **overrides):
    from bench_runner.config import parse_config
    from bench_runner.stage import RunContext

    data = {"run_id": "t", "runs_dir": str(tmp_path / "runs"), "model": {"local_dir": str(tmp_path), "device": "cpu"},
            "finetune_languages": ["base", "pt"], "eval_languages": ["en"], "metrics": {"n_resamples": 200},
            **overrides}
    return RunContext(parse_config(data))


def test_metrics_stage_closes_the_judge_before_capability_and_writes_every_section(tmp_path):
    import json

    from bench_runner.metrics import MetricsStage
    from safedrift.core.files import read_manifest

    events: list = []
    up = _upstream(tmp_path, events)
    folder = MetricsStage(_context(tmp_path), **up)("all")
    # Every answer judged, then the judge closed (its server frees the accelerator), then capability and
    # representation (fine-tuned models only).
    assert events[:3] == [("judge", "base"), ("judge", "pt"), ("judge", "close")]
    assert events[3:6] == [("capability", "base"), ("capability", "pt"), ("representation", "pt")]
    assert events.count(("judge", "close")) == 1
    assert folder.parent == tmp_path / "runs" / "t" / "metrics" and folder.name.startswith("all-")
    m = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    base, pt = m["cells"]
    assert (base["n"], base["compliant"], pt["n"], pt["compliant"], pt["unparseable"]) == (4, 1, 3, 2, 1)
    assert (base["over_refusal"]["refused"], pt["over_refusal"]["refused"]) == (0, 1)
    assert pt["vs_base"]["diff"] == pytest.approx(2 / 3) and pt["vs_base"]["n_pairs"] == 3
    assert pt["response_language"]["eval_language"] == 1.0 and pt["truncated"]["share"] == 0.25  # from samples
    assert m["judge_agreement"]["overall"]["n"] == 7 and m["judge_agreement"]["overall"]["agreement"] == 1.0
    cap = {c["finetune_language"]: c for c in m["capability"]["cells"]}
    assert cap["pt"]["vs_base"]["diff"] == pytest.approx(0.2)
    assert m["representation"]["cells"] == [{"finetune_language": "pt", "eval_language": "en", "n_probes": 3,
                                             "cka_last_top": 0.8}]
    inputs = read_manifest(folder)["inputs"]
    assert inputs["judge"] == {"base": "base-0000", "pt": "pt-0000"} and inputs["capability"]["pt"] == "pt-0000"
    assert (inputs["representation"], inputs["finetune_languages"]) == ({"pt": "pt-0000"}, ["base", "pt"])

    # A second run finds the folder finished: nothing is computed again.
    again = MetricsStage(_context(tmp_path), **_upstream(tmp_path, []))
    again.compute = lambda label, folder: pytest.fail("metrics computed again")  # type: ignore[method-assign]
    assert again("all") == folder


def test_metrics_stage_asks_capability_and_representation_only_when_configured(tmp_path):
    import json

    from bench_runner.metrics import MetricsStage

    events: list = []
    up = _upstream(tmp_path, events)
    ctx = _context(tmp_path, capability={"heldout_loss": False, "lm_eval_tasks": []},
                   representation={"enabled": False})
    folder = MetricsStage(ctx, **up)("all")
    # Neither capability nor representation asked: judged, closed, then the samples read.
    assert events == [("judge", "base"), ("judge", "pt"), ("judge", "close"), ("generate", "base"),
                      ("generate", "pt")]
    m = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert (m["capability"], m["representation"]) == (None, None) and m["cells"][1]["compliant"] == 2
    # No such stage in the run at all: the same.
    none = MetricsStage(_context(tmp_path / "none"), up["judge"], up["generate"], None, None)
    assert json.loads((none("all") / "metrics.json").read_text(encoding="utf-8"))["capability"] is None


# ---- intervals that match the adjusted inference ---------------------------------------------------------
def agresti_min_textbook(up: int, down: int, n: int, z: float) -> tuple[float, float]:
    a, b = (up + 0.5) / (n + 2), (down + 0.5) / (n + 2)
    half = z * math.sqrt((a + b - (a - b) ** 2) / (n + 2))
    return a - b - half, a - b + half


def test_adjusted_paired_ci_is_agresti_min_at_the_bonferroni_level():
    from bench_runner.metrics.stats import adjusted_paired_ci

    # 150 and 86 discordant of 1600 pairs (Agresti & Min's example data); one test, then a family of 18.
    one = adjusted_paired_ci(150, 86, 1600, family=1)
    assert one == pytest.approx(agresti_min_textbook(150, 86, 1600, norm.ppf(0.975)), abs=1e-12)
    # At 1600 pairs the added halves barely move it from the Wald interval 0.04 -+ 1.96 * 0.00955.
    assert one == (pytest.approx(0.0213, abs=5e-4), pytest.approx(0.0587, abs=5e-4))
    wide = adjusted_paired_ci(150, 86, 1600, family=18)
    assert wide == pytest.approx(agresti_min_textbook(150, 86, 1600, norm.ppf(1 - 0.025 / 18)), abs=1e-12)
    assert wide[0] < one[0] and wide[1] > one[1]
    lo, hi = adjusted_paired_ci(0, 0, 16, family=2)  # no discordant pair: centred on 0, never a point
    assert lo == pytest.approx(-hi) and 0 < hi < 0.3


def test_figures_draw_the_adjusted_intervals_of_the_holm_family():
    from bench_runner.metrics.stats import adjusted_paired_ci
    from bench_runner.report.figures import adjusted_vs_base

    d = {"n_pairs": 40, "discordant_up": 9, "discordant_down": 1, "diff": 0.2}
    cells = [{"finetune_language": "en", "eval_language": ev, "vs_base": dict(d)} for ev in ("en", "pt", "de")]
    cells.append({"finetune_language": "base", "eval_language": "en"})
    got = adjusted_vs_base(cells, 0.95)
    assert set(got) == {("en", "en"), ("en", "pt"), ("en", "de")}
    assert got[("en", "pt")] == adjusted_paired_ci(9, 1, 40, 3, 0.95)
