"""The great-expectations release gate: passes a clean release, blocks each planted defect by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_cli
from support.tiny_release import benign_rows, sorry_rows
from support.tiny_xstest import xstest_rows

from cards.config import load_release_config
from safedrift.core.errors import DataError
from safedrift.core.files import atomic_write_parquet
from safedrift.core.specs import BENIGN as BENIGN_SPEC
from safedrift.core.specs import SORRY_BENCH as SORRY_SPEC
from safedrift.core.specs import XSTEST as XSTEST_SPEC
from safedrift.core.specs import to_table
from validation.gate import GateError, check_gate, run_gate

N_TEST = 3  # first rows of the tiny benign data form the test split
BENIGN, SORRY_BENCH, XSTEST = BENIGN_SPEC.key, SORRY_SPEC.key, XSTEST_SPEC.key
BENIGN_SCHEMA, SORRY_BENCH_SCHEMA = BENIGN_SPEC.schema, SORRY_SPEC.schema
NAMES = ("Multilingual-Benign-Tune", "SORRY-Bench-Multilingual", "XSTest-Multilingual")


@pytest.fixture(scope="module")
def cfg():
    return load_release_config(REPO / "configs/release/sample.yaml")


def write_folders(root: Path, languages=("en", "pt"), rows=None, tables=None) -> dict[str, Path]:
    """A Hub-layout release from tests/support/tiny_release.py's rows, written with the specs' schemas.

    `rows(dataset, lang, rows) -> rows` plants a defect in the rows; `tables(dataset, lang, rows) ->
    pyarrow.Table | None` replaces the schema-typed table (wrong types, missing columns).
    """
    folders = {BENIGN: root / "Multilingual-Benign-Tune", SORRY_BENCH: root / "SORRY-Bench-Multilingual",
               XSTEST: root / "XSTest-Multilingual"}
    for lang in languages:
        for dataset, make, schema in ((BENIGN, benign_rows, BENIGN_SCHEMA),
                                      (SORRY_BENCH, sorry_rows, SORRY_BENCH_SCHEMA),
                                      (XSTEST, xstest_rows, XSTEST_SPEC.schema)):
            data = make(lang)
            if rows is not None:
                data = rows(dataset, lang, data)
            splits = {"test": data[:N_TEST], "train": data[N_TEST:]} if dataset == BENIGN else {"test": data}
            for split, split_rows in splits.items():
                table = tables(dataset, lang, split_rows) if tables is not None else None
                table = table if table is not None else to_table(split_rows, schema)
                atomic_write_parquet(folders[dataset] / "data" / lang / f"{split}-00000-of-00001.parquet", table)
    return folders


def gate_lines(tmp_path, cfg, languages=("en", "pt"), **kwargs) -> list[str]:
    folders = write_folders(tmp_path, **kwargs)
    result = run_gate(folders, list(languages), cfg)
    assert result.success is (not result.failures)
    return result.lines()


def test_clean_release_passes_and_writes_deterministic_docs(tmp_path, cfg, monkeypatch):
    folders = write_folders(tmp_path / "release")
    docs = {d: tmp_path / "docs1" / d for d in folders}
    result = run_gate(folders, ["en", "pt"], cfg, docs)
    assert result.success and result.lines() == []
    assert result.expectations > 40
    index = docs[SORRY_BENCH] / "index.html"
    assert result.docs[SORRY_BENCH] == index
    html = index.read_text(encoding="utf-8")
    assert "SORRY-Bench-Multilingual" in html and "pt" in html
    pages = sorted(p.relative_to(docs[BENIGN]).as_posix() for p in docs[BENIGN].rglob("*.html"))
    assert any(p.startswith("validations/Multilingual-Benign-Tune/pt/rows/") for p in pages)
    # The unused bundled GIFs and fonts are not shipped.
    assert [p.name for p in (docs[BENIGN] / "static").rglob("*") if p.is_file()] == ["favicon.ico"]
    # Same inputs, same bytes: a rebuilt release must not change because of its data docs. The second
    # run gets relative paths, as `make release` gives it (output_dir: release).
    monkeypatch.chdir(tmp_path)
    again = {d: Path("docs2") / d for d in folders}
    run_gate(folders, ["en", "pt"], cfg, again)
    for d in folders:
        first = {p.relative_to(docs[d]): p.read_bytes() for p in docs[d].rglob("*") if p.is_file()}
        second = {p.relative_to(again[d]): p.read_bytes() for p in again[d].rglob("*") if p.is_file()}
        assert first == second


def _in(dataset_, lang_, change):
    """A rows hook that applies `change(rows)` to one dataset/language only."""
    def hook(dataset, lang, rows):
        return change([dict(r) for r in rows]) if (dataset, lang) == (dataset_, lang_) else rows
    return hook


def _set(i, **values):
    def change(rows):
        rows[i].update(values)
        return rows
    return change


def _lang_id(rows, wrong=5):
    for r in rows[:wrong]:
        r["lang_id"] = "es"
    return rows


DEFECTS = {
    "duplicate id": (_in(BENIGN, "pt", _set(4, id="tiny-003")),
                     "Multilingual-Benign-Tune/pt: column `id`: duplicate ids (tiny-003)"),
    "id missing in one language": (_in(BENIGN, "pt", lambda rows: rows[:-1]),
                                   "Multilingual-Benign-Tune/pt: column `id`: 1 ids (split/id) differ from en "
                                   "(missing train/tiny-007)"),
    "null instruction": (_in(BENIGN, "pt", _set(5, instruction=None)),
                         "Multilingual-Benign-Tune/pt: column `instruction`: 1 null value in a required field"),
    "null turns": (_in(SORRY_BENCH, "pt", _set(0, turns=None)),
                   "SORRY-Bench-Multilingual/pt: column `turns`: 1 null value in a required field"),
    "wrong language value": (_in(SORRY_BENCH, "pt", _set(2, language="en")),
                             "SORRY-Bench-Multilingual/pt: column `language`: 1 row not 'pt' (en)"),
    "lang_id mostly wrong": (_in(BENIGN, "pt", _lang_id),
                             "Multilingual-Benign-Tune/pt: column `lang_id`: only 38% of rows are detected as "
                             "'pt' (at least 90% required; also seen: es)"),
    "bt_chrf out of range": (_in(BENIGN, "pt", _set(6, bt_chrf=130.0)),
                             "Multilingual-Benign-Tune/pt: column `bt_chrf`: 1 value outside 0..100 (130.0)"),
    "lang_id_score out of range": (_in(SORRY_BENCH, "pt", _set(1, lang_id_score=1.5)),
                                   "SORRY-Bench-Multilingual/pt: column `lang_id_score`: 1 value outside 0..1 (1.5)"),
    "comet far out of range": (_in(SORRY_BENCH, "pt", _set(1, comet=40.0)),
                               "SORRY-Bench-Multilingual/pt: column `comet`: 1 value outside -2..2 (40.0)"),
    "category counts differ": (_in(SORRY_BENCH, "pt", _set(3, category="5")),
                               "SORRY-Bench-Multilingual/pt: column `category`: value counts differ from en "
                               "(5: 2 vs 1 in en, 7: 1 vs 2 in en)"),
    "xstest type counts differ": (_in(XSTEST, "pt", _set(0, type="definitions")),
                                  "XSTest-Multilingual/pt: column `type`: value counts differ from en "
                                  "(definitions: 2 vs 1 in en, homonyms: 1 vs 2 in en)"),
    "xstest null prompt": (_in(XSTEST, "pt", _set(2, prompt=None)),
                           "XSTest-Multilingual/pt: column `prompt`: 1 null value in a required field"),
    "xstest null label": (_in(XSTEST, "pt", _set(4, label=None)),
                          "XSTest-Multilingual/pt: column `label`: 1 null value in a required field"),
    "xstest duplicate id": (_in(XSTEST, "pt", _set(1, id=1)),
                            "XSTest-Multilingual/pt: column `id`: duplicate ids (1)"),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_gate_blocks_planted_defect(tmp_path, cfg, defect):
    hook, expected = DEFECTS[defect]
    lines = gate_lines(tmp_path, cfg, rows=hook)
    assert expected in lines, lines
    # Only the planted language fails: the message names where the defect is.
    assert all(line.split(":")[0].endswith("/pt") for line in lines), lines


def test_spec_nullable_columns_may_be_null(tmp_path, cfg):
    # XSTest's focus and note are optional in the source; every other published column is required.
    def no_focus(dataset, lang, rows):
        return [dict(r, focus=None, note=None) for r in rows] if dataset == XSTEST else rows

    assert XSTEST_SPEC.nullable == ("focus", "note")
    assert gate_lines(tmp_path, cfg, rows=no_focus) == []


def test_gate_blocks_wrong_column_type_and_missing_column(tmp_path, cfg):
    import pyarrow as pa

    def tables(dataset, lang, rows):
        if lang != "pt" or dataset == XSTEST:
            return None
        if dataset == SORRY_BENCH:  # question_id written as text
            schema = pa.schema([f.with_type(pa.string()) if f.name == "question_id" else f
                                for f in SORRY_BENCH_SCHEMA])
            return pa.Table.from_pylist([dict(r, question_id=str(r["question_id"])) for r in rows], schema=schema)
        return to_table(rows, BENIGN_SCHEMA).drop_columns(["comet"])  # a column left out

    lines = gate_lines(tmp_path, cfg, tables=tables)
    assert ("SORRY-Bench-Multilingual/pt: columns differ from the dataset spec: `question_id: string` "
            "(expected `question_id: int64`)") in lines, lines
    assert "Multilingual-Benign-Tune/pt: columns missing (the dataset spec): `comet: double`" in lines, lines
    # One message per defect: the row-level column list check does not repeat the schema's finding.
    assert len([x for x in lines if x.startswith("Multilingual-Benign-Tune/pt")]) == 1, lines


def test_gate_checks_languages_and_splits_against_the_config(tmp_path, cfg):
    folders = write_folders(tmp_path)
    extra = folders[SORRY_BENCH] / "data" / "pt" / "validation-00000-of-00001.parquet"
    atomic_write_parquet(extra, to_table(sorry_rows("pt"), SORRY_BENCH_SCHEMA))
    lines = run_gate(folders, ["en", "pt", "de"], cfg).lines()
    assert ("Multilingual-Benign-Tune: data/<language>/ folders differ from the config languages "
            "(no data for de)") in lines
    assert "SORRY-Bench-Multilingual: split `validation` is not one of test" in lines


def test_source_language_is_exempt_from_language_id(tmp_path, cfg):
    # English rows are the untranslated source: a detector's mistakes there are no translation defect.
    lines = gate_lines(tmp_path, cfg, rows=_in(BENIGN, "en", _lang_id))
    assert lines == []


def test_lang_id_agreement_threshold_comes_from_the_config(tmp_path, cfg):
    lenient = cfg.model_copy(update={"qa": cfg.qa.model_copy(
        update={"gate": cfg.qa.gate.model_copy(update={"lang_id_agreement": 0.3})})})
    assert gate_lines(tmp_path, lenient, rows=_in(BENIGN, "pt", _lang_id)) == []


def test_check_gate_raises_one_line_per_failure(tmp_path, cfg):
    folders = write_folders(tmp_path / "release", rows=_in(BENIGN, "pt", _set(0, bt_bleu=-1.0, language="de")))
    docs = {d: tmp_path / "staged" / d / "qa" / "data_docs" for d in folders}
    with pytest.raises(GateError) as info:
        check_gate(folders, ["en", "pt"], cfg, docs, failure_docs_dir=tmp_path / "work" / "gate" / "data_docs")
    assert isinstance(info.value, DataError)
    lines = str(info.value).splitlines()
    assert lines[0].startswith("the release gate failed (2 failing expectations); nothing was published.")
    assert lines[1:] == [
        "  - Multilingual-Benign-Tune/pt: column `language`: 1 row not 'pt' (de)",
        "  - Multilingual-Benign-Tune/pt: column `bt_bleu`: 1 value outside 0..100 (-1.0)",
    ]
    # The docs of a failed gate are kept in the work dir (the staged folders are about to be removed).
    assert (tmp_path / "work" / "gate" / "data_docs" / "Multilingual-Benign-Tune" / "index.html").is_file()


# ------------------------------------------------------------------------------------------ end to end


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def released(tmp_path_factory, isolated_env):
    """The sample release built once, through a config file so `safedrift publish` can rerun on it."""
    root = tmp_path_factory.mktemp("gate-release")
    raw = yaml.safe_load((REPO / "configs/release/sample.yaml").read_text(encoding="utf-8"))
    raw.update(work_dir=str(root / "work"), output_dir=str(root / "release"))
    config = root / "sample.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    proc = run_cli(["safedrift", "release", str(config)], isolated_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, config


def test_release_ships_data_docs(released):
    root, _ = released
    for name in NAMES:
        index = root / "release" / name / "qa" / "data_docs" / "index.html"
        assert index.is_file()
        assert name in index.read_text(encoding="utf-8")
    manifest = json.loads((root / "work" / "release" / "SORRY-Bench-Multilingual.manifest.json").read_text())
    assert "qa/data_docs/index.html" in manifest["files"]


def test_publish_with_planted_defect_fails_and_keeps_release(released, isolated_env):
    root, config = released
    before = {name: _snapshot(root / "release" / name) for name in NAMES}
    qa_rows = root / "work" / "qa" / "sorry_bench" / "pt.jsonl"
    original = qa_rows.read_text(encoding="utf-8")
    rows = [json.loads(line) for line in original.splitlines()]
    by_id = {r["question_id"]: r for r in rows}
    by_id[1]["category"] = "2"  # two prompts of category 2 in Portuguese, one in English
    by_id[3]["bt_chrf"] = 150.0
    qa_rows.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    try:
        proc = run_cli(["safedrift", "publish", str(config)], isolated_env)
    finally:
        qa_rows.write_text(original, encoding="utf-8")
    assert proc.returncode == 2, proc.stderr[-3000:]
    err = proc.stderr
    assert "error: the release gate failed (2 failing expectations); nothing was published." in err
    assert "SORRY-Bench-Multilingual/pt: column `category`: value counts differ from en (1: 0 vs 1 in en, " \
           "2: 2 vs 1 in en)" in err
    assert "SORRY-Bench-Multilingual/pt: column `bt_chrf`: 1 value outside 0..100 (150.0)" in err
    for name, files in before.items():
        assert _snapshot(root / "release" / name) == files
    assert not [p for p in (root / "release").iterdir() if p.name.startswith(".")]  # no staging left

    # The clean rows publish again, byte-identical to the first release (data docs included).
    proc = run_cli(["safedrift", "publish", str(config)], isolated_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name, files in before.items():
        assert _snapshot(root / "release" / name) == files
    assert not (root / "work" / "gate" / "data_docs").exists()
