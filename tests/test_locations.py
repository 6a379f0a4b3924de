"""safedrift.core.locations: the one place that knows where the shipped files, the user cache, the checkout and
the side venvs are. (Shipped configs by name and sample data from an empty folder: tests/test_configs.py;
the installed wheel itself: `make wheel-check`.)"""

from __future__ import annotations

import os
from pathlib import Path

from conftest import REPO

from safedrift.core import locations
from safedrift.core.locations import cache_dir, sample_data, side_venv_python, source_checkout


def test_the_cache_is_safedrift_cache_else_the_users_xdg_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SAFEDRIFT_CACHE", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("SAFEDRIFT_CACHE")
    assert cache_dir() == tmp_path / "xdg" / "safedrift"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "safedrift"


def test_the_session_cache_is_not_the_users(test_cache):
    # tests/conftest.py points the package's cache away from ~/.cache/safedrift for the whole session
    assert cache_dir() == test_cache != Path.home() / ".cache" / "safedrift"


def test_a_checkout_is_found_and_the_shipped_files_are_its_own():
    assert source_checkout() == REPO
    assert sample_data().resolve() == (REPO / "data" / "sample").resolve()
    assert sorted(p.name for p in sample_data().iterdir()) == sorted(p.name for p in (REPO / "data/sample").iterdir())


def test_an_installed_package_has_no_checkout(monkeypatch, tmp_path):
    # what a wheel looks like: the package folder in site-packages, no pyproject.toml beside it
    monkeypatch.setattr(locations, "PACKAGE", tmp_path / "site-packages" / "safedrift")
    monkeypatch.chdir(tmp_path)
    assert source_checkout() is None
    assert side_venv_python(".venv-comet/bin/python") == tmp_path / ".venv-comet/bin/python"


def test_a_side_venv_is_taken_from_the_working_folder_then_the_checkout(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert side_venv_python(".venv-comet/bin/python") == REPO / ".venv-comet/bin/python"
    (tmp_path / ".venv-comet/bin").mkdir(parents=True)
    (tmp_path / ".venv-comet/bin/python").write_text("")
    assert side_venv_python(".venv-comet/bin/python") == tmp_path / ".venv-comet/bin/python"
    # abspath, not resolve(): a venv's python is a symlink into the base interpreter
    os.symlink(tmp_path / ".venv-comet/bin/python", tmp_path / "link")
    assert side_venv_python(str(tmp_path / "link")) == tmp_path / "link"
