"""Representational drift: debiased CKA against plain CKA, the bootstrap over probes, content-token pooling on a tiny
model with a planted low-rank change, stratified probes, and the English-vs-L aggregate."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from support.tiny_lm import CHATML, train_tokenizer
from support.tiny_release import BENIGN, SORRY

from bench_runner.data import Prompt, stratified_sample
from bench_runner.representation.aggregate import aggregate_drift, noise_floor
from bench_runner.representation.drift import HEADLINE, cell_drift, representation_metrics
from bench_runner.representation.similarity import (
    bootstrap_counts,
    debiased_cka,
    debiased_cka_from_grams,
    gram,
    linear_cka,
    unbiased_hsic,
)
from bench_runner.representation.states import content_spans, hidden_states, probe_tokens


# ---- debiased CKA ----------------------------------------------------------------------------------------------------
def test_debiased_cka_of_independent_features_is_near_zero_where_plain_cka_is_0955():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((96, 2048)), rng.standard_normal((96, 2048))
    assert linear_cka(x, y) == pytest.approx(0.955, abs=0.005)  # the bias of plain CKA at 96 probes x 2,048 dims
    assert abs(debiased_cka(x, y)) < 0.03
    # Over 20 independent pairs the debiased values centre on 0 (sd ~ 0.02); plain CKA never leaves 0.95.
    pairs = [(rng.standard_normal((96, 2048)), rng.standard_normal((96, 2048))) for _ in range(20)]
    assert abs(np.mean([debiased_cka(a, b) for a, b in pairs])) < 0.01
    assert min(linear_cka(a, b) for a, b in pairs) > 0.95


def test_debiased_cka_is_one_for_identical_states_and_invariant_to_rotation_scale_and_shift():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 30))
    q, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    assert debiased_cka(x, x) == pytest.approx(1.0, abs=1e-12)
    assert debiased_cka(x, 2.5 * x @ q + 3.0) == pytest.approx(1.0, abs=1e-9)
    noisy = x + rng.standard_normal(x.shape)
    assert debiased_cka(x, noisy) == pytest.approx(debiased_cka(x @ q, 0.3 * noisy), abs=1e-9)
    assert np.isnan(debiased_cka(x[:3], x[:3]))  # the unbiased HSIC needs 4 probes


def test_unbiased_hsic_matches_song_et_al_formula():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((12, 5)), rng.standard_normal((12, 7))
    k, l = x @ x.T, y @ y.T  # noqa: E741
    np.fill_diagonal(k, 0)
    np.fill_diagonal(l, 0)
    n, one = 12, np.ones(12)
    expected = (np.trace(k @ l) + (one @ k @ one) * (one @ l @ one) / ((n - 1) * (n - 2))
                - 2 / (n - 2) * one @ k @ l @ one) / (n * (n - 3))
    assert float(unbiased_hsic(k, l)) == pytest.approx(expected, rel=1e-12)


def test_bootstrap_counts_are_the_resample_with_duplicate_pairs_left_out():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((20, 6)), rng.standard_normal((20, 6))
    counts = bootstrap_counts(20, 3, seed=0, stream="en")
    assert counts.shape == (3, 20) and (counts.sum(axis=1) == 20).all()
    assert (bootstrap_counts(20, 3, seed=0, stream="en") == counts).all()  # the same draws for every model
    assert not (bootstrap_counts(20, 3, seed=0, stream="pt") == counts).all()
    idx = np.repeat(np.arange(20), counts[0].astype(int))
    same = idx[:, None] == idx[None, :]
    kb, lb = (x @ x.T)[np.ix_(idx, idx)], (y @ y.T)[np.ix_(idx, idx)]
    kb[same], lb[same] = 0.0, 0.0
    assert unbiased_hsic(gram(x), gram(y), counts)[0] == pytest.approx(float(unbiased_hsic(kb, lb)), rel=1e-10)


def test_bootstrap_ci_of_debiased_cka_covers_zero_for_independent_and_one_for_identical_features():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((96, 2048)), rng.standard_normal((96, 2048))
    reps = debiased_cka_from_grams(gram(x), gram(y), bootstrap_counts(96, 1000, 0, "en"))
    low, high = np.percentile(reps, [2.5, 97.5])
    assert low < 0 < high and high - low < 0.2
    same = debiased_cka_from_grams(gram(x), gram(x), bootstrap_counts(96, 50, 0, "en"))
    assert same == pytest.approx(np.ones(50), abs=1e-12)


# ---- probes and content tokens ---------------------------------------------------------------------------------------
def _prompt(i: int, category: str, kind: str = "sorry") -> Prompt:
    return Prompt(uid=f"{kind}:en:{i}", kind=kind, language="en", item_id=str(i),
                  messages=({"role": "user", "content": f"q{i}"},), category=category)


def test_probes_are_spread_over_every_category_before_any_repeats():
    prompts = [_prompt(i, str(c)) for i, c in enumerate([1] * 5 + [2] * 5 + [10] * 1 + [44] * 3)]
    picked = stratified_sample(prompts, 6, seed=0)
    # every category once before any twice; then the second turn spreads over the categories that have more
    assert len(picked) == 6 and {p.category for p in picked} == {"1", "2", "10", "44"}
    assert sorted(p.category for p in picked).count("10") == 1
    assert stratified_sample(prompts, 6, seed=0) == picked  # seeded: the same draw every run
    assert [p.item_id for p in picked] == sorted((p.item_id for p in picked), key=int)  # in eval-set order
    assert len(stratified_sample(prompts, None, seed=0)) == 14 and stratified_sample([], 4, seed=0) == []


def test_content_tokens_are_the_user_text_only():
    tok = train_tokenizer()
    msgs = [{"role": "user", "content": "Name three colours of a rainbow."}]
    text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert content_spans(text, [msgs[0]["content"]]) == [(len("<|im_start|>user\n"), len("<|im_start|>user\n") + 32)]
    probe = probe_tokens(tok, text, [msgs[0]["content"]], max_length=256)
    pieces = [tok.decode([i]) for i, c in zip(probe.ids, probe.content, strict=True) if c]
    assert "".join(pieces) == msgs[0]["content"]  # every content token, and nothing of the template
    assert not probe.content[0] and not probe.content[-1]  # BOS and the generation prompt are excluded
    cut = probe_tokens(tok, text, [msgs[0]["content"]], max_length=5)
    assert cut.ids == probe.ids[-5:] and cut.content == probe.content[-5:]
    with pytest.raises(ValueError, match="not in its rendered prompt"):
        content_spans(text, ["not there"])


# ---- a planted low-rank change on a tiny model -----------------------------------------------------------------------
SYSTEM = "{{ '<|im_start|>system\\nYou are a helpful assistant. Answer the user in their language, politely.<|im_end|>\\n' }}"


@pytest.fixture(scope="module")
def tiny_states():
    """A tiny Llama whose <|im_start|> token has a massive activation (x100, as SmolLM2's first token has ~150x the
    median norm), its probe states, and those of a copy with a planted rank-2 change to the first block's MLP."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    tok = train_tokenizer(SYSTEM + CHATML)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      pad_token_id=tok.pad_token_id)
    base = AutoModelForCausalLM.from_config(cfg).eval()
    with torch.no_grad():
        base.model.embed_tokens.weight[tok.convert_tokens_to_ids("<|im_start|>")] *= 100.0
    texts = [r[0] for rows in BENIGN.values() for r in rows] + [r[2] for rows in SORRY.values() for r in rows]
    probes = [probe_tokens(tok, tok.apply_chat_template([{"role": "user", "content": t}], tokenize=False,
                                                        add_generation_prompt=True), [t], 256) for t in texts]
    tuned = copy.deepcopy(base)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        w = tuned.model.layers[0].mlp.down_proj.weight
        w += torch.randn(w.shape[0], 2, generator=g) @ torch.randn(2, w.shape[1], generator=g) / w.shape[1] ** 0.5
    return base, tuned, probes, hidden_states(base, probes, 8), hidden_states(tuned, probes, 8)


def test_content_token_pooling_detects_a_planted_change_that_mean_pooling_misses(tiny_states):
    _, _, probes, base, tuned = tiny_states
    assert len(probes) == 28 and base["content"].shape == (3, 28, 64) and base["final_norm_last"].shape == (28, 64)
    _, same = cell_drift(base, base, n_resamples=200, confidence=0.95, seed=0, stream="en")
    assert same[HEADLINE] == pytest.approx(1.0, abs=1e-9) and same["ci"][HEADLINE] == pytest.approx([1.0, 1.0])
    arrays, s = cell_drift(base, tuned, n_resamples=500, confidence=0.95, seed=0, stream="en")
    content_drift, mean_drift = 1 - s["dcka_content_top"], 1 - s["dcka_mean_top"]
    assert content_drift > 0.3 and 1 - s["ci"][HEADLINE][1] > 0.02  # detected: the CI (28 probes) excludes 0
    assert mean_drift < 0.01 and 1 - s["cka_mean_top"] < 0.01 and 1 - s["cosine_mean_top"] < 0.01  # the old estimator
    assert content_drift > 50 * mean_drift
    assert 1 - s["dcka_last_top"] > 0.3 and set(s["final_norm"]) >= {"dcka_content", "cosine_last"}
    assert arrays["dcka_content"].shape == (3,) and "bootstrap" in s and len(s["bootstrap"][HEADLINE]) == 500


def test_layers_are_raw_residual_streams_and_the_final_norm_is_apart(tiny_states):
    import torch

    base_model, _, probes, base, _ = tiny_states
    one = hidden_states(base_model, probes[:1], 1)
    ids = torch.tensor([probes[0].ids])
    with torch.no_grad():
        out = base_model(input_ids=ids, output_hidden_states=True)
        raw_last = out.hidden_states[-1]  # what transformers returns: the final norm's output
        # The raw stream after the last block, recomputed: the final norm of it is what transformers returned.
        assert torch.allclose(base_model.model.norm(torch.tensor(one["last"][-1][None, None])),
                              raw_last[:, -1:], atol=1e-4)
    assert np.allclose(one["final_norm_last"][0], raw_last[0, -1].numpy(), atol=1e-5)
    assert np.allclose(one["last"][1][0], out.hidden_states[2][0, -1].numpy(), atol=1e-5)  # block 2's raw output
    assert not np.allclose(one["last"][-1], one["final_norm_last"], atol=1e-2)


def test_a_peft_wrapped_model_gives_the_same_states(tiny_states):
    from peft import LoraConfig, get_peft_model

    base_model, _, probes, base, _ = tiny_states
    wrapped = get_peft_model(copy.deepcopy(base_model), LoraConfig(r=2, target_modules=["q_proj"])).eval()
    again = hidden_states(wrapped, probes, 8)  # LoRA B starts at 0: nothing moves
    assert all(np.allclose(again[k], base[k], atol=1e-5) for k in base)


# ---- per fine-tune language, and English vs L ------------------------------------------------------------------------
def _cells(drifts: dict[str, float], evals=("en", "pt"), n=60, b=400, sd=0.1, seed=0) -> dict:
    """Cells whose per-probe contributions to the headline are drawn around 1 - drift (the same probe draws for
    every model, as the stage makes them)."""
    rng = np.random.default_rng(seed)
    cells = {}
    for ev in evals:
        counts = bootstrap_counts(n, b, 0, ev)
        noise = rng.standard_normal(n) * sd  # probe difficulty, shared by every model
        for ft, d in drifts.items():
            per_probe = 1 - d + noise + rng.standard_normal(n) * sd / 4
            cells[(ft, ev)] = {HEADLINE: float(per_probe.mean()), "confidence": 0.95,
                               "bootstrap": {HEADLINE: list(counts @ per_probe / n)}}
    return cells


def test_english_drifts_more_than_a_language_with_a_planted_difference_and_not_without():
    out = aggregate_drift(_cells({"en": 0.20, "pt": 0.10, "de": 0.199}))
    agg = {a["finetune_language"]: a for a in out["aggregate"]}
    assert agg["en"]["drift"] == pytest.approx(0.20, abs=0.02) and agg["en"]["ci_low"] < agg["en"]["drift"] < agg["en"]["ci_high"]
    vs = {t["language"]: t for t in out["english_vs"]}
    assert vs["pt"]["english_drifts_more"] and vs["pt"]["ci_low"] > 0.05 and vs["pt"]["p_adjusted"] < 0.01
    assert not vs["de"]["english_drifts_more"] and vs["de"]["ci_low"] < 0 < vs["de"]["ci_high"]
    assert vs["de"]["p_adjusted"] > 0.05
    assert "noise_floor" not in out  # representation_metrics adds it, with or without replicates


def test_a_language_with_two_seeds_is_one_aggregate_and_its_seeds_give_the_floor():
    cells = _cells({"en": 0.20, "en-seed1": 0.22, "pt": 0.10})
    for (ft, _), c in cells.items():
        c["adapter"] = {"language": ft.split("-")[0], "seed": 1 if "seed" in ft else 0}
        if ft == "en-seed1":
            c["seed_floor"] = {"reference": "en", HEADLINE: 0.95, "per_layer": {"dcka_content": [0.99, 0.95]}}
    out = aggregate_drift(cells)
    assert [(a["finetune_language"], a["adapters"]) for a in out["aggregate"]] == [("en", ["en", "en-seed1"]),
                                                                                    ("pt", ["pt"])]
    assert out["aggregate"][0]["drift"] == pytest.approx(0.21, abs=0.02) and out["english_vs"][0]["language"] == "pt"
    floor = noise_floor(cells)
    assert floor == {"drift": pytest.approx(0.05), "reason": None, "pairs": 2,
                     "drift_per_layer": {"dcka_content": [pytest.approx(0.01), pytest.approx(0.05)]}}
    assert noise_floor(_cells({"en": 0.2}))["drift"] is None


def test_english_vs_l_keeps_its_type_one_error_under_no_difference():
    # 100 null grids (en and pt drift alike): the 95% paired CI excludes 0 in about 5% of them.
    hits = [any(t["english_drifts_more"] or t["ci_high"] < 0 for t in aggregate_drift(
        _cells({"en": 0.15, "pt": 0.15}, b=200, seed=s))["english_vs"]) for s in range(100)]
    assert 0.0 < np.mean(hits) < 0.12


def test_metrics_keep_the_bootstrap_replicates_out_of_the_cells():
    cells = _cells({"en": 0.2, "pt": 0.1})
    for key in cells:
        cells[key].update({"n_layers": 3, "top_layers": [3], "n_probes": 60, "per_layer": {}})
    m = representation_metrics(cells)
    assert m["measured"] and len(m["cells"]) == 4 and all("bootstrap" not in c for c in m["cells"])
    assert [a["finetune_language"] for a in m["aggregate"]] == ["en", "pt"] and m["english_vs"][0]["language"] == "pt"
    old = representation_metrics({("pt", "en"): {"n_probes": 3, "cka_last_top": 0.8}})  # a cell without replicates
    assert "aggregate" not in old and old["cells"][0]["cka_last_top"] == 0.8
    assert old["noise_floor"]["drift"] is None and "training.seeds" in old["noise_floor"]["reason"]


# ---- the stage on the tiny model ---------------------------------------------------------------------------------
def test_the_stage_writes_debiased_cka_per_layer_and_the_seed_noise_floor(tmp_path, bench_home, tiny_model,
                                                                          tiny_release):
    from support.fixtures import tiny_config_dict

    from bench_runner.config import parse_config
    from bench_runner.metrics import representation_figures
    from bench_runner.pipeline import BenchRun

    data = tiny_config_dict(tmp_path, tiny_model, tiny_release, finetune_languages=["base", "en", "pt"],
                            training={"seeds": [0, 1]}, representation={"sorry_probes": 4, "benign_probes": 2})
    run = BenchRun(parse_config(data))
    probes = run.representation.probes["en"]
    assert [p.kind for p in probes] == ["sorry"] * 4 + ["benign"] * 2
    assert len({p.category for p in probes[:4]}) == 4  # four categories, not the first prompts of one
    folders = {m: run.representation(m) for m in run.ctx.finetuned}
    assert list(folders) == ["en", "en-seed1", "pt", "pt-seed1"]
    arrays = np.load(folders["pt"] / "en.npz")
    assert arrays["dcka_content"].shape == (2,) and arrays["cosine_content_per_probe"].shape == (2, 6)
    m = representation_figures(folders, ["en", "pt"])
    cell = m["cells"][0]
    assert cell["n_probes"] == 6 and set(cell["final_norm"]) >= {"dcka_content", "cka_mean", "cosine_last"}
    assert cell["dcka_content_top"] < 1.0 and cell["per_layer"]["dcka_content"][-1] == cell["dcka_content_top"]
    # 6 probes: too few for a bootstrap of debiased CKA, so no CI and no aggregate (rather than a degenerate one).
    assert "ci" not in cell and "aggregate" not in m
    # The replicate adapters are compared with their language's first seed: the noise floor.
    seeded = {(c["finetune_language"], c["eval_language"]): c for c in m["cells"]}
    assert seeded[("en-seed1", "pt")]["adapter"] == {"language": "en", "seed": 1} and "seed_floor" not in cell
    floor = seeded[("en-seed1", "pt")]["seed_floor"]
    assert floor["reference"] == "en" and floor["per_layer"]["dcka_content"][-1] == floor["dcka_content_top"]
    assert m["noise_floor"]["pairs"] == 4 and m["noise_floor"]["reason"] is None
    expected = 1 - np.mean([c["seed_floor"]["dcka_content_top"] for c in m["cells"] if "seed_floor" in c])
    assert m["noise_floor"]["drift"] == pytest.approx(expected)
    assert len(m["noise_floor"]["drift_per_layer"]["dcka_content"]) == 2


def test_bootstrap_ci_of_debiased_cka_is_calibrated_on_simulated_representations():
    """Coverage of the percentile CI over probes for a known population debiased CKA (anisotropic features, a
    linear map plus noise): conservative (~0.98-1.0 at 24-96 probes in a longer run), never below 0.9."""
    rng = np.random.default_rng(5)
    d = 128
    scales = np.exp(-np.arange(d) / 20)
    a = np.eye(d) + 0.8 * rng.standard_normal((d, d)) / np.sqrt(d)

    def draw(n):
        x = rng.standard_normal((n, d)) * scales
        return x, x @ a + 0.3 * rng.standard_normal((n, d)) * scales

    truth = debiased_cka(*draw(2000))
    covered = []
    for s in range(60):
        x, y = draw(32)
        low, high = np.nanpercentile(debiased_cka_from_grams(gram(x), gram(y), bootstrap_counts(32, 300, s, "en")),
                                     [2.5, 97.5])
        covered.append(low <= truth <= high)
    assert np.mean(covered) >= 0.9
