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


def test_without_cuda_it_says_so(gpu_stages, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert gpu_stages.main([]) == 2
    assert "no CUDA device found" in capsys.readouterr().err
