"""The import contracts (.importlinter) cover every module of the runner, and an import against the house's
direction breaks one: a later stage planted in the core, in an earlier bench stage, or in a shared piece."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("safedrift", "builders", "validation", "cards", "bench_runner")


def _contracts() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(REPO / ".importlinter")
    return parser


def _named(parser: configparser.ConfigParser) -> set[str]:
    """Every module a contract names, as a dotted path (layers inside a container made absolute)."""
    names: set[str] = set()
    for section in parser.sections():
        contract = parser[section]
        containers = contract.get("containers", "").split()
        for key in ("layers", "source_modules", "forbidden_modules", "ancestors"):
            for line in contract.get(key, "").splitlines():
                for name in (x.strip() for x in line.split("|")):
                    if name:
                        names.update(f"{c}.{name}" for c in containers) if containers else names.add(name)
    return names


def test_every_module_of_the_runner_and_the_core_is_under_a_contract():
    named = _named(_contracts())
    runner = {f"bench_runner.{p.stem}" for p in (REPO / "bench_runner").iterdir()
              if (p.suffix == ".py" or (p / "__init__.py").is_file()) and p.stem not in ("__init__", "__main__")}
    assert runner, "bench_runner has modules"
    assert sorted(runner - named) == []
    # The core is stated by package: a new core module is covered without naming it.
    assert "safedrift.core" in named
    assert "safedrift.config" not in named and "safedrift.errors" not in named


def _lint(tmp_path: Path, plant: tuple[str, str]) -> subprocess.CompletedProcess:
    """lint-imports on a copy of the packages with one import line added to one file."""
    for pkg in PACKAGES:
        shutil.copytree(REPO / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / ".importlinter", tmp_path / ".importlinter")
    target, line = plant
    path = tmp_path / target
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)}, timeout=300)


@pytest.mark.slow
def test_the_unchanged_tree_keeps_every_contract(tmp_path):
    proc = _lint(tmp_path, ("bench_runner/stage.py", "# nothing planted"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 6 kept, 0 broken." in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize(("target", "line", "contract"), [
    ("safedrift/core/errors.py", "import builders.translate  # noqa", "The core (safedrift.core, the whole package)"),
    ("bench_runner/generate/backend.py", "import bench_runner.report  # noqa",
     "Inside the runner each stage package imports only earlier stages"),
    ("bench_runner/finetune/trainer.py", "import bench_runner.judge  # noqa",
     "Inside the runner each stage package imports only earlier stages"),
    ("bench_runner/data.py", "import bench_runner.metrics  # noqa", "The runner's shared pieces import no stage"),
])
def test_a_planted_import_against_the_direction_breaks_a_contract(tmp_path, target, line, contract):
    proc = _lint(tmp_path, (target, line))
    assert proc.returncode != 0
    assert f"{contract}" in proc.stdout
    assert "BROKEN" in proc.stdout
