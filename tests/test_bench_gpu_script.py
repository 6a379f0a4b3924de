"""benchmarks/gpu_stages.py: its CPU smoke path runs and prints one ratio per model and stage."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_stages.py"


@pytest.fixture(scope="module")
def gpu_stages():
    spec = importlib.util.spec_from_file_location("gpu_stages", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_prints_ratios_for_every_model(gpu_stages, capsys):
    assert gpu_stages.main(["--smoke"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = [line.split() for line in lines if line.split()[:1] and line.split()[0] in gpu_stages.SHAPES]
    assert [(r[0], r[1]) for r in table] == [(m, s) for m in gpu_stages.SHAPES for s in ("finetune", "generate")]
    for row in table:
        ours, base, ratio = float(row[2]), float(row[3]), float(row[4])
        assert ours > 0 and base > 0 and ratio == pytest.approx(ours / base, abs=0.01, rel=0.05)
    # The vLLM rows need a GPU: on CPU the smoke run says why they are missing, above the table, and the
    # last line stays a ratio.
    assert lines[-1].split() == table[-1]
    skipped = [line for line in lines if line.startswith("vllm rows skipped: ")]
    assert skipped == ["vllm rows skipped: no CUDA device (vLLM's CPU build is checked by tests/test_bench_vllm.py; "
                       "--vllm-cpu runs it here)"]


def test_the_vllm_section_saves_a_model_and_adapters_vllm_and_peft_load(gpu_stages, tmp_path):
    import json

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    family, shape = gpu_stages.SHAPES["qwen3-0.6b"]
    shape = {**shape, **gpu_stages.VLLM_SMOKE}
    model_dir, adapters = gpu_stages.save_random_model(family, shape, tmp_path, ["en", "pt"], torch.float32)
    assert sorted(adapters) == ["en", "pt"]
    tok = AutoTokenizer.from_pretrained(model_dir)
    assert len(tok) == shape["vocab_size"]  # every id the random model can emit decodes to a word
    assert json.loads((adapters["pt"] / "adapter_config.json").read_text())["r"] == 16
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    ids = tok("w1 w2 w3", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        base = model(ids).logits
        en = PeftModel.from_pretrained(model, str(adapters["en"]))
        tuned = en(ids).logits
    assert not torch.allclose(base, tuned)  # random LoRA weights, not peft's no-op start


def test_without_cuda_it_says_so(gpu_stages, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert gpu_stages.main([]) == 2
    assert "no CUDA device found" in capsys.readouterr().err
