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


@pytest.fixture(scope="session")
def isolated_env(tmp_path_factory) -> dict[str, str]:
    """Environment for subprocesses: HOME/XDG dirs in a temp dir, offline Hub, no stored token."""
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        HF_HOME=str(home / ".cache/huggingface"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    env.pop("HF_TOKEN", None)
    return env


@pytest.fixture
def isolated_home(tmp_path, monkeypatch) -> Path:
    """HOME / XDG_* in a temp dir for in-process code: importing argostranslate creates folders there."""
    for var, sub in (("HOME", "home"), ("XDG_CACHE_HOME", "cache"), ("XDG_DATA_HOME", "data"),
                     ("XDG_CONFIG_HOME", "config")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.delenv("ARGOS_PACKAGE_INDEX", raising=False)
    return tmp_path / "home"


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
