"""End to end: `python -m builders release` on the embedded default, read back with load_dataset."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from conftest import run_cli
from huggingface_hub import DatasetCard

BENIGN_COLUMNS = {"id", "source", "language", "instruction", "input", "output", "messages", "bt_chrf",
                  "bt_bleu", "comet", "lang_id", "lang_id_score", "qa_pass", "qa_flags", "translator"}
SORRY_COLUMNS = {"question_id", "category", "category_name", "prompt_style", "turns", "language", "bt_chrf",
                 "bt_bleu", "comet", "lang_id", "lang_id_score", "qa_pass", "qa_flags", "translator"}
XSTEST_COLUMNS = {"id", "prompt", "type", "label", "focus", "note", "language", "bt_chrf", "bt_bleu", "comet",
                  "lang_id", "lang_id_score", "qa_pass", "qa_flags", "translator"}


def test_release_prints_where_it_is(sample_release):
    root, proc = sample_release
    assert f"Multilingual-Benign-Tune: {root / 'release' / 'Multilingual-Benign-Tune'}" in proc.stdout
    assert f"SORRY-Bench-Multilingual: {root / 'release' / 'SORRY-Bench-Multilingual'}" in proc.stdout
    assert f"XSTest-Multilingual: {root / 'release' / 'XSTest-Multilingual'}" in proc.stdout
    assert sorted(p.name for p in (root / "release").iterdir()) == [
        "Multilingual-Benign-Tune", "SORRY-Bench-Multilingual", "XSTest-Multilingual"]


def test_load_dataset_benign(sample_release):
    from datasets import load_dataset

    root, _ = sample_release
    folder = root / "release" / "Multilingual-Benign-Tune"
    pt = load_dataset(str(folder), "pt", cache_dir=str(root / "hf"))
    en = load_dataset(str(folder), "en", cache_dir=str(root / "hf"))
    assert set(pt) == {"train", "test"}
    assert set(pt["train"].column_names) == BENIGN_COLUMNS
    # ids identical across languages, split for split
    for split in ("train", "test"):
        assert sorted(pt[split]["id"]) == sorted(en[split]["id"])
    n = len(pt["train"]) + len(pt["test"])
    assert n >= 64
    assert len(pt["test"]) == pytest.approx(0.2 * n, abs=1)
    row = pt["train"][0]
    assert row["language"] == "pt"
    assert row["translator"].startswith("bergamot/")
    assert row["messages"][0]["role"] == "user" and row["messages"][1]["role"] == "assistant"
    assert row["messages"][1]["content"] == row["output"]
    assert en["train"][0]["translator"] == "original"
    assert all(x == 100.0 for x in en["train"]["bt_chrf"])
    # Portuguese rows are detected as Portuguese and mostly pass QA
    assert sum(lid == "pt" for lid in pt["train"]["lang_id"]) / len(pt["train"]) > 0.9
    assert sum(pt["train"]["qa_pass"]) / len(pt["train"]) > 0.8


def test_load_dataset_sorry_bench(sample_release):
    from datasets import load_dataset

    root, _ = sample_release
    folder = root / "release" / "SORRY-Bench-Multilingual"
    ds = load_dataset(str(folder), "pt", cache_dir=str(root / "hf"))
    assert set(ds) == {"test"}
    assert set(ds["test"].column_names) == SORRY_COLUMNS
    assert len(ds["test"]) == 44
    assert sorted(ds["test"]["category"], key=int) == [str(i) for i in range(1, 45)]
    assert all(len(t) == 1 and t[0] for t in ds["test"]["turns"])
    en = load_dataset(str(folder), "en", cache_dir=str(root / "hf"))["test"]
    assert ds["test"]["question_id"] == en["question_id"]
    assert ds["test"]["turns"] != en["turns"]


def test_load_dataset_xstest(sample_release):
    from collections import Counter

    from datasets import load_dataset

    root, _ = sample_release
    folder = root / "release" / "XSTest-Multilingual"
    pt = load_dataset(str(folder), "pt", cache_dir=str(root / "hf"))
    en = load_dataset(str(folder), "en", cache_dir=str(root / "hf"))["test"]
    assert set(pt) == {"test"}
    pt = pt["test"]
    assert set(pt.column_names) == XSTEST_COLUMNS
    assert pt.features["id"].dtype == "int64"
    assert pt["id"] == en["id"] == list(range(1, 71))
    # the same type (and so label) per id, so per-type counts equal English's
    assert pt["type"] == en["type"] and pt["label"] == en["label"]
    assert Counter(pt["type"]) == Counter(en["type"]) and len(Counter(pt["type"])) == 18
    assert Counter(pt["label"]) == {"safe": 46, "unsafe": 24}
    # focus and note stay in English; note is null where the sample has none
    assert pt["focus"] == en["focus"] and pt["note"] == en["note"] and pt["note"].count(None) == 60
    assert all(p != e for p, e in zip(pt["prompt"], en["prompt"], strict=True))
    assert len(set(pt["translator"])) == 1 and pt["translator"][0].startswith("bergamot/")
    assert set(pt["language"]) == {"pt"} and en["translator"] == ["original"] * 70
    assert sum(lid == "pt" for lid in pt["lang_id"]) / len(pt) >= 0.9
    assert sum(pt["qa_pass"]) / len(pt) >= 0.9


def test_xstest_card_names_its_licence_and_origin(sample_release):
    from cards.card import validate_card

    root, _ = sample_release
    folder = root / "release" / "XSTest-Multilingual"
    card = DatasetCard.load(folder / "README.md")
    validate_card(card, folder)
    # built from our sample: our licence, an original dataset; XSTest is cited for its schema and types
    assert card.data.license == "apache-2.0" and card.data.source_datasets == ["original"]
    assert "extra_gated_prompt" not in card.data.to_dict()
    assert "| `sample` | `apache-2.0` — Apache 2.0 (sample data written by the safedrift authors) | 70 |" in card.text
    assert "@inproceedings{rottger2024xstest" in card.text
    assert "Published: 70 prompts (46 safe prompts, 24 unsafe contrasts), all in the `test` split." in card.text
    # built without an org: a local card (loads from the folder), no <org> placeholder left
    assert 'load_dataset("./XSTest-Multilingual", "pt")' in card.text and "<org>" not in card.text


def test_cards_round_trip_with_configs_and_gating(sample_release):
    from datasets.utils.metadata import MetadataConfigs

    root, _ = sample_release
    benign = DatasetCard.load(root / "release" / "Multilingual-Benign-Tune" / "README.md")
    sorry = DatasetCard.load(root / "release" / "SORRY-Bench-Multilingual" / "README.md")
    xstest = DatasetCard.load(root / "release" / "XSTest-Multilingual" / "README.md")
    for card in (benign, sorry, xstest):
        configs = MetadataConfigs.from_dataset_card_data(card.data)
        assert set(configs) == {"en", "pt"}
        assert card.data.language == ["en", "pt"]
        assert card.data.multilinguality == "translation"
    # The sample's SORRY-Bench-schema rows are our demo prompts: our licence, and gated all the same.
    assert "extra_gated_prompt" in sorry.data.to_dict() and sorry.data.license == "apache-2.0"
    assert "extra_gated_prompt" not in benign.data.to_dict() and "extra_gated_prompt" not in xstest.data.to_dict()
    assert "| pt (Portuguese) |" in benign.text


def test_qa_report_and_signature(sample_release):
    root, _ = sample_release
    report = json.loads((root / "release" / "Multilingual-Benign-Tune" / "qa" / "report.json").read_text())
    pt = report["languages"]["pt"]
    assert pt["n"] >= 64
    assert pt["corpus_chrf_signature"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:")
    assert "tok:13a" in pt["corpus_bleu_signature"]
    assert 40 < pt["corpus_chrf"] <= 100
    assert len(pt["worst"]) == 5


def test_rebuild_is_byte_identical_and_translates_nothing(sample_release, isolated_env):
    root, _ = sample_release
    before = {p: p.read_bytes() for p in (root / "release").rglob("*.parquet")}
    proc = run_cli(["safedrift", "release", "configs/release/sample.yaml",
                    "--work-dir", str(root / "work"), "--output-dir", str(root / "release")], isolated_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = {p: p.read_bytes() for p in (root / "release").rglob("*.parquet")}
    assert before == after
    manifest = json.loads((root / "work" / "translated" / "manifest.json").read_text())
    translated = {key: (stats["forward"]["translated"], stats["back"]["translated"])
                  for key, stats in manifest["translation"].items() if stats["translator"] != "original"}
    # every translated dataset came from the translation memory: nothing went through an engine again
    assert translated == {"benign/pt": (0, 0), "sorry_bench/pt": (0, 0), "xstest/pt": (0, 0)}


def test_parquet_schema_types(sample_release):
    root, _ = sample_release
    files = sorted((root / "release" / "Multilingual-Benign-Tune" / "data" / "pt").glob("*.parquet"))
    assert [f.name for f in files] == ["test-00000-of-00001.parquet", "train-00000-of-00001.parquet"]
    schema = pq.read_schema(files[0])
    assert str(schema.field("messages").type) == "list<element: struct<role: string, content: string>>"
    assert str(schema.field("qa_pass").type) == "bool"



def test_chrf_threshold_separates_right_from_wrong_translations(sample_release):
    """Why qa.chrf defaults to 35: on the sample, bergamot's back-translations all score above 60 against
    their own source (measured minimum 61.6), while pairing each with the next row's source (a shuffled
    translation) scores at most 29.1."""
    from validation.metrics import sentence_scores
    from validation.qa import read_qa

    root, _ = sample_release
    rows = read_qa(root / "work", "benign", "pt")

    def text(r, prefix):
        return "\n".join(x for x in (r[prefix + "instruction"], r[prefix + "input"], r[prefix + "output"]) if x)

    # bt_chrf is the row's worst field; the threshold claim is about the whole row (bt_chrf_row).
    aligned = [r["bt_chrf_row"] for r in rows]
    shuffled = [sentence_scores(text(r, "bt_"), text(rows[(i + 1) % len(rows)], "src_"))[0]
                for i, r in enumerate(rows)]
    assert min(aligned) > 50
    assert max(shuffled) < 35


def test_bench_runner_reads_the_real_release(sample_release):
    """The benchmark runner's loaders on the release that `builders` wrote (not a hand-made fixture)."""
    from bench_runner.config import DatasetsConfig
    from bench_runner.data import BENIGN_PROMPTS, SORRY, prompts_of, train_data
    from validation.qa import read_qa

    root, _ = sample_release
    cfg = DatasetsConfig(benign=str(root / "release" / "Multilingual-Benign-Tune"),
                         sorry=str(root / "release" / "SORRY-Bench-Multilingual"), prompt_styles=["base"])
    convs = train_data(cfg, "pt")[0]
    # datasets.require_qa_pass (default): rows that failed QA in pt are left out of training.
    failed = {r["id"] for r in read_qa(root / "work", "benign", "pt") if not r["qa_pass"] and r["split"] == "train"}
    assert len(convs) == 61 - len(failed) and all(c[-1]["role"] == "assistant" for c in convs)
    sorry = prompts_of(SORRY, cfg, "pt")
    assert len(sorry) == 44 and {p.category for p in sorry} == {str(i) for i in range(1, 45)}
    pt_benign, en_benign = prompts_of(BENIGN_PROMPTS, cfg, "pt"), prompts_of(BENIGN_PROMPTS, cfg, "en")
    # Each language alone leaves out its own QA failures (an eval run leaves out every language's).
    failed_test = {r["id"] for r in read_qa(root / "work", "benign", "pt") if not r["qa_pass"] and r["split"] == "test"}
    assert [p.item_id for p in pt_benign] == [p.item_id for p in en_benign if p.item_id not in failed_test]
    assert len(en_benign) == 16 and len(pt_benign) == 16 - len(failed_test)
    assert pt_benign[0].messages != en_benign[0].messages
