"""`python -m validation validate FOLDER`: QA and the release gate over an existing release, read-only."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import run_cli
from support.tiny_release import write_release
from support.tiny_xstest import write_xstest

from safedrift.core.files import sha256_file
from safedrift.core.specs import BENIGN, SORRY_BENCH, to_table

BENIGN_SCHEMA, SORRY_BENCH_SCHEMA = BENIGN.schema, SORRY_BENCH.schema


def _typed_release(root: Path, languages=("en", "pt")) -> tuple[Path, Path, Path]:
    """The tiny release (three datasets), rewritten with the published schemas (the gate checks every
    column's type)."""
    benign, sorry = write_release(root, languages)
    for folder, schema in ((benign, BENIGN_SCHEMA), (sorry, SORRY_BENCH_SCHEMA)):
        for path in folder.glob("data/*/*.parquet"):
            rows = [dict(r, qa_flags=[]) for r in pq.read_table(path).to_pylist()]
            pq.write_table(to_table(rows, schema), path)
    return benign, sorry, write_xstest(root, languages)


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def validated(tmp_path_factory, isolated_env):
    root = tmp_path_factory.mktemp("validate")
    release = root / "release"
    _typed_release(release)
    before = _hashes(release)
    out = root / "out"
    proc = run_cli(["validation", "validate", str(release), "--out", str(out)], isolated_env)
    return release, before, out, proc


def test_validate_scores_an_existing_release_without_changing_it(validated):
    release, before, out, proc = validated
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _hashes(release) == before
    report = json.loads((out / "report.json").read_text())
    assert set(report["validated"]) == {"Multilingual-Benign-Tune", "SORRY-Bench-Multilingual", "XSTest-Multilingual"}
    pt = report["datasets"]["benign"]["pt"]
    # Hand-written Portuguese, back-translated by bergamot, scored against the English rows.
    assert pt["n"] == 8 and pt["corpus_chrf"] > 50
    assert "tok:13a" in pt["corpus_bleu_signature"]
    assert report["datasets"]["sorry_bench"]["pt"]["lang_id_agreement"] >= 0.8
    xs = report["datasets"]["xstest"]["pt"]
    assert xs["n"] == 6 and xs["corpus_chrf"] > 50 and xs["lang_id_agreement"] >= 0.8
    # The tiny release's published QA columns are placeholders (all pass); they are reported beside ours.
    assert pt["published_pass_rate"] == 1.0
    assert report["gate"]["success"] and report["gate"]["expectations"] > 20
    assert (out / "data_docs" / "SORRY-Bench-Multilingual" / "index.html").is_file()
    assert (out / "data_docs" / "XSTest-Multilingual" / "index.html").is_file()
    assert "| pt (Portuguese) | 8 |" in (out / "report.md").read_text()
    assert "gate passed" in proc.stdout


def test_validate_rescoring_catches_an_untranslated_copy(tmp_path, isolated_env):
    release = tmp_path / "release"
    benign, _, _ = _typed_release(release)
    path = next((benign / "data" / "pt").glob("train-*.parquet"))
    en_rows = {r["id"]: r for p in (benign / "data" / "en").glob("*.parquet") for r in pq.read_table(p).to_pylist()}
    rows = pq.read_table(path).to_pylist()
    bad_id = rows[0]["id"]
    rows[0].update({k: en_rows[bad_id][k] for k in ("instruction", "input", "output", "messages")})
    pq.write_table(to_table(rows, BENIGN_SCHEMA), path)
    proc = run_cli(["validation", "validate", str(benign), "--out", str(tmp_path / "out")], isolated_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    pt = report["datasets"]["benign"]["pt"]
    assert pt["failed_checks"].get("untranslated") == 1
    assert pt["pass_rate"] == pytest.approx(7 / 8, abs=1e-4)
    assert pt["worst"][0]["id"] == bad_id


def test_validate_gate_failure_exits_nonzero_and_keeps_the_report(tmp_path, isolated_env):
    release = tmp_path / "release"
    _, sorry, _ = _typed_release(release)
    path = sorry / "data" / "pt" / "test-00000-of-00001.parquet"
    rows = pq.read_table(path).to_pylist()
    rows[1]["question_id"] = rows[0]["question_id"]  # a duplicate id
    pq.write_table(to_table(rows, SORRY_BENCH_SCHEMA), path)
    proc = run_cli(["validation", "validate", str(sorry), "--out", str(tmp_path / "out")], isolated_env)
    assert proc.returncode == 2
    assert "SORRY-Bench-Multilingual/pt" in proc.stderr and "question_id" in proc.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["gate"]["success"] is False and report["gate"]["failures"]


def test_validate_without_a_back_translation_engine_records_why(tmp_path, isolated_env):
    # German has no offline engine here (no argos package in the isolated home): the back-translation
    # metrics are skipped with the reason, the other scorers and the gate still run.
    release = tmp_path / "release"
    benign, _ = write_release(release, ("en", "pt"))
    de = benign / "data" / "de"
    de.mkdir()
    for path in (benign / "data" / "pt").glob("*.parquet"):
        rows = [dict(r, language="de", qa_flags=[]) for r in pq.read_table(path).to_pylist()]
        pq.write_table(to_table(rows, BENIGN_SCHEMA), de / path.name)
    for path in (benign / "data" / "en").glob("*.parquet"):
        pq.write_table(to_table([dict(r, qa_flags=[]) for r in pq.read_table(path).to_pylist()], BENIGN_SCHEMA),
                       path)
    import shutil

    shutil.rmtree(benign / "data" / "pt")
    proc = run_cli(["validation", "validate", str(benign), "--out", str(tmp_path / "out")], isolated_env)
    assert (tmp_path / "out" / "report.json").is_file(), proc.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    de_report = report["datasets"]["benign"]["de"]
    assert "no engine translates de->en" in de_report["backtranslation_skipped"]
    assert "corpus_chrf" not in de_report
    # Portuguese text published as German: language ID names Portuguese, and the gate blocks it.
    assert de_report["lang_id_agreement"] < 0.5
    assert proc.returncode == 2 and "Multilingual-Benign-Tune/de" in proc.stderr


def test_validate_rejects_a_folder_that_is_not_a_release(tmp_path, isolated_env):
    (tmp_path / "empty").mkdir()
    proc = run_cli(["validation", "validate", str(tmp_path / "empty"), "--out", str(tmp_path / "out")],
                   isolated_env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error:")
    assert "holds no release folder" in proc.stderr
