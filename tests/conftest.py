"""Shared fixtures: an isolated home for libraries that write under it, and the CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The benchmark runner's fixtures (bench_home, tiny_model, tiny_release).
pytest_plugins = ["support.fixtures"]

# Tests that build a real release or run a command in a subprocess take seconds to minutes each: they are
# `slow`, so `make test-fast` (-m "not slow") skips them in the edit loop. CI runs everything.
SLOW_FIXTURES = {"sample_release", "isolated_env"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def test_cache():
    """The package's cache (safedrift.core.locations.cache_dir: SmolLM2, dequantized models, file hashes) for
    the whole session, subprocesses included: $SAFEDRIFT_CACHE when the caller set one, else the checkout's
    gitignored .cache/models, kept between sessions so the model is fetched once; never the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SAFEDRIFT_CACHE", os.environ.get("SAFEDRIFT_CACHE") or str(REPO / ".cache" / "models"))
        yield Path(os.environ["SAFEDRIFT_CACHE"])


# What a test must not touch: the user's home, caches and tokens, the Hub, the Argos index.
UNSET = ("HF_TOKEN", "HF_OIDC_RESOURCE", "HF_HUB_CACHE", "HF_DATASETS_CACHE", "COMET_API_KEY",
         "ARGOS_PACKAGE_INDEX")


def isolation_vars(home: Path) -> dict[str, str]:
    """HOME/XDG/Hugging Face dirs under `home`, the Hub offline: the one definition of an isolated test."""
    return {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "HF_HOME": str(home / ".cache/huggingface"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }


def isolate(mp: pytest.MonkeyPatch, home: Path) -> Path:
    """Isolate this process: the variables above, and the library paths read at import time."""
    import datasets.config
    import huggingface_hub.constants as hf_constants

    for var, value in isolation_vars(home).items():
        mp.setenv(var, value)
    for var in UNSET:
        mp.delenv(var, raising=False)
    hf = home / ".cache/huggingface"
    mp.setattr(datasets.config, "HF_DATASETS_CACHE", hf / "datasets")
    mp.setattr(hf_constants, "HF_TOKEN_PATH", str(hf / "token"))
    mp.setattr(hf_constants, "HF_STORED_TOKENS_PATH", str(hf / "stored_tokens"))
    mp.setattr(hf_constants, "HF_HUB_CACHE", str(hf / "hub"))
    return home


@pytest.fixture
def isolated_home(tmp_path, monkeypatch) -> Path:
    """An isolated home for in-process code (argostranslate, datasets and huggingface_hub write under it)."""
    return isolate(monkeypatch, tmp_path / "home")


@pytest.fixture(scope="session")
def isolated_env(tmp_path_factory) -> dict[str, str]:
    """The same isolation as an environment for subprocesses (the CLI tests)."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(isolation_vars(tmp_path_factory.mktemp("home")))
    return env


@pytest.fixture(scope="session")
def sample_release(tmp_path_factory, isolated_env):
    """`safedrift release` on the embedded default, built once per session: (root, process).

    root/work is the work dir and root/release the release; tests read them (a rebuild into them must
    leave them byte-identical)."""
    root = tmp_path_factory.mktemp("sample-release")
    proc = run_cli(["safedrift", "release", "configs/release/sample.yaml",
                    "--work-dir", str(root / "work"), "--output-dir", str(root / "release")], isolated_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, proc


def run_cli(args: list[str], env: dict[str, str], cwd: Path = REPO, timeout: int = 900):
    """Run `python -m <args>` from the repo root and capture its output."""
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
