"""Fixtures for the bench_runner tests: an isolated home, a tiny model and a tiny release."""

from __future__ import annotations

from pathlib import Path

import pytest

from .tiny_lm import build_tiny_lm
from .tiny_release import write_release


@pytest.fixture
def bench_home(tmp_path, monkeypatch) -> Path:
    """HOME, XDG and Hugging Face caches in tmp; Hub offline; no token."""
    home = tmp_path / "home"
    for var, sub in (("HOME", ""), ("XDG_CACHE_HOME", ".cache"), ("XDG_CONFIG_HOME", ".config"),
                     ("XDG_DATA_HOME", ".local/share"), ("HF_HOME", ".cache/huggingface")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    import datasets.config

    # datasets reads its cache location at import time; point the live value at tmp.
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", home / "datasets")
    return home


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-llama"), "llama")


@pytest.fixture(scope="session")
def tiny_release(tmp_path_factory) -> tuple[Path, Path]:
    return write_release(tmp_path_factory.mktemp("release"))


def tiny_config_dict(tmp_path: Path, model_dir: Path, release: tuple[Path, Path], **overrides) -> dict:
    """A run that takes seconds: 2 fine-tune languages + base, 2 eval languages, a few prompts."""
    cfg = {
        "run_id": "tiny",
        "runs_dir": str(tmp_path / "runs"),
        "model": {"local_dir": str(model_dir), "device": "cpu"},
        "finetune_languages": ["base", "en", "pt"],
        "eval_languages": ["en", "pt"],
        "datasets": {"benign": str(release[0]), "sorry": str(release[1]), "benign_test_limit": 2},
        "lora": {"r": 4, "alpha": 8},
        "training": {"lr": 0.05, "max_steps": 4, "batch_size": 2, "max_length": 64},
        "generation": {"max_new_tokens": 6, "batch_size": 4},
        "metrics": {"n_resamples": 200},
        "comet": "off",
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg
