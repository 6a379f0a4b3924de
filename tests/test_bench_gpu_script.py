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
    # The TRL fine-tune path plain and packed (Liger needs CUDA), each against the plain peft loop, then generate.
    assert [(r[0], r[1]) for r in table] == [(m, s) for m in gpu_stages.SHAPES
                                             for s in ("finetune", "ft+packing", "generate")]
    for row in table:
        ours, base, ratio = float(row[2]), float(row[3]), float(row[4])
        assert ours > 0 and base > 0 and ratio == pytest.approx(ours / base, abs=0.01, rel=0.05)
    for model in gpu_stages.SHAPES:  # one plain-loop baseline per model, shared by its fine-tune rows
        assert len({r[3] for r in table if r[0] == model and r[1] != "generate"}) == 1
    assert "liger rows skipped: no CUDA device (Liger's kernels are Triton)" in lines
    judge = [line.split() for line in lines if line.startswith("judge forward rate ")]
    assert [j[3] for j in judge] == [f"{m}:" for m in gpu_stages.SHAPES]
    assert all(float(j[4]) > 0 and float(j[10]) > 0 for j in judge)
    assert any("9 fine-tune languages x 3 seeds" in line and "base + 27 adapters" in line for line in lines)
    grid = [line.split() for line in lines if line.startswith("grid estimate ")]
    assert [g[2] for g in grid] == [f"{m}:" for m in gpu_stages.SHAPES]
    for g in grid:  # finetune X h + generate Y h + judge Z h = T GPU-hours
        parts = [float(g[i]) for i in (4, 8, 12, 15)]
        assert all(x > 0 for x in parts) and parts[3] == pytest.approx(sum(parts[:3]), rel=1e-3, abs=0.02)
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


def test_the_grid_estimate_adds_up_the_paper_grid(gpu_stages):
    """9 languages x 3 seeds = 27 fine-tunes of 2000 x 300 tokens at 1000 tok/s; 28 models x 9 languages x 990
    answers of 256 tokens at 2000 tok/s; judging (256 + 600 tokens an answer) at a forward rate of 7240 tok/s on a
    model of a tenth of the 7.24B judge's parameters (so 724 tok/s for the judge)."""
    args = gpu_stages.argparse.Namespace(grid_languages=9, grid_seeds=3, grid_train_rows=2000, grid_epochs=1.0,
                                         grid_tokens_per_row=300, grid_prompts=990, grid_new_tokens=256,
                                         grid_judge_prompt_tokens=600, grid_judge_params=7.24e9)
    assert gpu_stages.judge_rate(args, 7240.0, int(7.24e8)) == pytest.approx(724.0)
    hours = gpu_stages.grid_hours(args, 1000.0, 2000.0, 7240.0, int(7.24e8))
    assert hours["finetune"] == pytest.approx(27 * 2000 * 300 / 1000 / 3600)
    assert hours["generate"] == pytest.approx(28 * 9 * 990 * 256 / 2000 / 3600)
    assert hours["judge"] == pytest.approx(28 * 9 * 990 * 856 / 724 / 3600)
    assert hours["total"] == pytest.approx(hours["finetune"] + hours["generate"] + hours["judge"])


def test_the_wheelhouse_lists_everything_beyond_the_preinstalled_four(gpu_stages, tmp_path):
    """Every requirement of trl and datasets (and the config's pydantic and pyarrow) that torch, transformers,
    peft and accelerate do not bring is in benchmarks/wheelhouse*.txt, pinned to the version tested here; the
    script installs them from the folder alone."""
    import importlib.metadata as md
    import re

    def closure(names) -> set[str]:
        seen: set[str] = set()
        todo = list(names)
        while todo:
            name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
            if name in seen:
                continue
            seen.add(name)
            try:
                requires = md.requires(name) or []
            except md.PackageNotFoundError:
                continue  # a platform-only requirement not installed here (e.g. tzdata)
            todo += [re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0] for r in requires if "extra ==" not in r]
        return seen

    listed = {}
    for name in ("wheelhouse.txt", "wheelhouse-compiled.txt"):
        for line in (SCRIPT.parent / name).read_text().splitlines():
            if line and not line.startswith("#"):
                dist, version = line.split("==")
                listed[dist] = version
    preinstalled = closure(["torch", "transformers", "peft", "accelerate"])
    needed = closure(["trl", "datasets", "pydantic", "pyarrow"]) - preinstalled - {"tzdata"}  # tzdata: Windows
    assert needed <= set(listed), sorted(needed - set(listed))
    assert {dist: md.version(dist) for dist in listed} == listed
    assert gpu_stages.wheelhouse_install(tmp_path)[3:] == [
        "install", "--no-index", "--find-links", str(tmp_path), "-r", str(SCRIPT.parent / "wheelhouse.txt")]
    (tmp_path / "pyarrow-26.0.1-cp311-cp311-manylinux_2_28_x86_64.whl").touch()
    assert gpu_stages.wheelhouse_install(tmp_path)[-2:] == ["-r", str(SCRIPT.parent / "wheelhouse-compiled.txt")]
