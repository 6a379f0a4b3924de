"""Fixtures for the bench_runner tests: an isolated home, a tiny model and a tiny release."""

from __future__ import annotations

from pathlib import Path

import pytest

from .tiny_lm import build_tiny_lm
from .tiny_release import write_release
from .tiny_xstest import write_xstest


@pytest.fixture
def bench_home(isolated_home) -> Path:
    return isolated_home


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-llama"), "llama")


@pytest.fixture(scope="session")
def tiny_release(tmp_path_factory) -> tuple[Path, Path]:
    """(benign, sorry) release folders; XSTest-Multilingual is written beside them (tiny_xstest.py)."""
    root = tmp_path_factory.mktemp("release")
    write_xstest(root)
    return write_release(root)


def tiny_config_dict(tmp_path: Path, model_dir: Path, release: tuple[Path, Path], **overrides) -> dict:
    """A run that takes seconds: 2 fine-tune languages + base, 2 eval languages, a few prompts."""
    cfg = {
        "run_id": "tiny",
        "runs_dir": str(tmp_path / "runs"),
        "model": {"local_dir": str(model_dir), "device": "cpu"},
        "finetune_languages": ["base", "en", "pt"],
        "eval_languages": ["en", "pt"],
        "datasets": {"benign": str(release[0]), "sorry": str(release[1]), "benign_test_limit": 2,
                     # The tiny XSTest beside the other two when the release has one (the tiny_release fixture).
                     "xstest": str(xstest) if (xstest := release[0].parent / "XSTest-Multilingual").is_dir() else None},
        "lora": {"r": 4, "alpha": 8},
        "training": {"lr": 0.05, "max_steps": 4, "batch_size": 2, "max_length": 64},
        "generation": {"max_new_tokens": 6, "batch_size": 4},
        "metrics": {"n_resamples": 200},
        "tracking": {"comet": "off"},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg


@pytest.fixture(scope="session")
def local_ray():
    """One local two-CPU Ray cluster for the whole session: the executor joins it (ray.is_initialized) and leaves
    it running, so the tests that run Ray tasks start Ray once (a second start in one process on two busy cores can
    outlast Ray's own start-up timeout)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=True)
    yield ray
    ray.shutdown()
