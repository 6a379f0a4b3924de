"""Release versions: validated in the config, recorded in cards and QA reports; rebuilds are byte-identical."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from huggingface_hub import DatasetCard

from cards.config import load_release_config
from safedrift.core.errors import ConfigError
from safedrift.core.files import sha256_file

SAMPLE = Path("configs/release/sample.yaml")


def _config(tmp: Path, version_line: str) -> Path:
    text = SAMPLE.read_text().replace('version: "0.1.0"', version_line)
    assert version_line in text
    path = tmp / "versioned.yaml"
    path.write_text(text)
    return path


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory, isolated_env):
    """The sample built twice from the same inputs, in unrelated folders, with a date version."""
    config = _config(tmp_path_factory.mktemp("config"), "version: 2025-06-01")  # unquoted: YAML reads a date
    roots = []
    for name in ("first", "second"):
        root = tmp_path_factory.mktemp(name)
        proc = run_cli(["safedrift", "release", str(config.resolve()), "--work-dir", str(root / "work"),
                        "--output-dir", str(root / "out")], isolated_env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        roots.append(root)
    return roots


def test_rebuild_from_same_inputs_is_byte_identical(two_releases):
    first, second = two_releases
    a, b = _hashes(first / "out"), _hashes(second / "out")
    assert {"Multilingual-Benign-Tune/README.md", "SORRY-Bench-Multilingual/README.md", "XSTest-Multilingual/README.md",
            "Multilingual-Benign-Tune/qa/report.json", "Multilingual-Benign-Tune/data/pt/train-00000-of-00001.parquet",
            "SORRY-Bench-Multilingual/data/pt/test-00000-of-00001.parquet",
            "XSTest-Multilingual/data/pt/test-00000-of-00001.parquet"} <= set(a)
    assert a == b
    assert sha256_file(first / "work" / "qa" / "report.json") == sha256_file(second / "work" / "qa" / "report.json")
    for root in (first, second):
        texts = [p for p in (root / "out").rglob("*") if p.is_file() and p.suffix in (".md", ".json", ".html")]
        assert len(texts) >= 9  # each dataset's card, qa/report.json and qa/report.md at least
        for p in texts:
            assert str(root) not in p.read_text(encoding="utf-8"), p


def test_version_recorded_in_card_and_reports(two_releases):
    root = two_releases[0]
    assert json.loads((root / "work" / "qa" / "report.json").read_text())["version"] == "2025-06-01"
    for name in ("Multilingual-Benign-Tune", "SORRY-Bench-Multilingual", "XSTest-Multilingual"):
        card = DatasetCard.load(root / "out" / name / "README.md")
        assert card.data.version == "2025-06-01"
        assert "**Version 2025-06-01.**" in card.text and "year         = {2025}" in card.text
        assert json.loads((root / "out" / name / "qa" / "report.json").read_text())["version"] == "2025-06-01"


@pytest.mark.parametrize("line", ['version: "1.0"', "version: 1.0", 'version: "v1.0.0"', 'version: "2025-13-01"',
                                  'version: "01.2.3"', 'version: "latest"'])
def test_bad_version_is_rejected(tmp_path, line):
    with pytest.raises(ConfigError, match=r"versioned\.yaml: version: .* is neither a semantic version "
                                          r"\(MAJOR\.MINOR\.PATCH"):
        load_release_config(_config(tmp_path, line))


@pytest.mark.parametrize("line,expected", [('version: "1.2.3"', "1.2.3"), ('version: "2.0.0-rc.1+build.5"',
                                           "2.0.0-rc.1+build.5"), ("version: 2024-02-29", "2024-02-29")])
def test_good_versions_are_kept(tmp_path, line, expected):
    assert load_release_config(_config(tmp_path, line)).version == expected


def test_cli_refuses_a_bad_version_in_one_line(tmp_path, isolated_env):
    proc = run_cli(["safedrift", "release", str(_config(tmp_path, "version: 1.0")),
                    "--work-dir", str(tmp_path / "work"), "--output-dir", str(tmp_path / "out")], isolated_env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "quote it in the YAML" in proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "work").exists()
