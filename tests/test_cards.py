"""Dataset cards on the real sample release: validation, round trip, licences, gating, figures from the build."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard

from cards.card import gated_spec_of, validate_card
from cards.config import load_release_config
from cards.release import write_dataset_folder
from safedrift.core.errors import DataError
from safedrift.core.specs import BENIGN, SORRY_BENCH, SORRY_BENCH_TERMS, XSTEST

BENIGN_NAME, SORRY_NAME, XSTEST_NAME = "Multilingual-Benign-Tune", "SORRY-Bench-Multilingual", "XSTest-Multilingual"
NAMES = (BENIGN_NAME, SORRY_NAME, XSTEST_NAME)


@pytest.fixture(scope="module")
def sample(sample_release):
    return sample_release[0]


def _cfg(work: Path):
    return load_release_config("configs/release/sample.yaml").model_copy(update={"work_dir": str(work)})


def _qa_rows(work: Path, spec) -> dict[str, list[dict]]:
    from validation.qa import read_qa

    return {lang: read_qa(work, spec.key, lang) for lang in ("en", "pt")}


def _write(sample: Path, folder: Path, spec, per_lang=None, work: Path | None = None) -> DatasetCard:
    work = work or sample / "work"
    report = json.loads((sample / "work" / "qa" / "report.json").read_text())
    return write_dataset_folder(folder, spec, per_lang or _qa_rows(sample / "work", spec), _cfg(work),
                                report["datasets"][spec.key], None)  # a local release, as `make release` builds


def test_cards_validate_and_round_trip(sample, tmp_path):
    for dataset, name in ((BENIGN, BENIGN_NAME), (SORRY_BENCH, SORRY_NAME), (XSTEST, XSTEST_NAME)):
        card = _write(sample, tmp_path / name, dataset)
        loaded = DatasetCard.load(tmp_path / name / "README.md")
        assert loaded.data.to_dict() == card.data.to_dict()
        validate_card(loaded, tmp_path / name)
        # The card written in-process is the one the CLI release wrote, byte for byte.
        released = sample / "release" / name / "README.md"
        assert (tmp_path / name / "README.md").read_bytes() == released.read_bytes()


def test_load_dataset_every_config_matches_card_counts(sample, tmp_path, isolated_home):
    from datasets import load_dataset
    from datasets.utils.metadata import MetadataConfigs

    for name in NAMES:
        folder = sample / "release" / name
        card = DatasetCard.load(folder / "README.md")
        configs = MetadataConfigs.from_dataset_card_data(card.data)
        assert list(configs) == ["en", "pt"]
        for lang in configs:
            ds = load_dataset(str(folder), lang, cache_dir=str(tmp_path / f"hf-{name}-{lang}"))
            parquet = {split: sum(pq.read_metadata(f).num_rows for f in (folder / "data" / lang).glob(f"{split}-*"))
                       for split in ds}
            assert {split: len(ds[split]) for split in ds} == parquet
            assert set(ds[split][0]["language"] for split in ds) == {lang}
            # The body's row-count table states the same figures.
            row = re.search(rf"^\| `{lang}` \| [A-Za-z]+ \| (.+) \|$", card.text, re.M).group(1)
            cells = [int(x) for x in row.split(" | ")]
            splits = ["train", "test"] if "train" in ds else ["test"]
            assert cells == [parquet[s] for s in splits] + [sum(parquet.values())]


def test_body_states_real_figures_and_version(sample):
    report = json.loads((sample / "release" / BENIGN_NAME / "qa" / "report.json").read_text())
    sources = json.loads((sample / "work" / "sources" / "manifest.json").read_text())
    for name in NAMES:
        card = DatasetCard.load(sample / "release" / name / "README.md")
        assert card.data.version == "0.1.0" and "**Version 0.1.0.**" in card.text
        rel_report = json.loads((sample / "release" / name / "qa" / "report.json").read_text())
        assert rel_report["version"] == "0.1.0"
        # The QA table's pt row carries the report's corpus chrF, rounded as displayed.
        pt_row = next(line for line in card.text.splitlines() if line.startswith("| pt (Portuguese) |"))
        assert f"| {rel_report['languages']['pt']['corpus_chrf']:.1f} |" in pt_row
        assert "bergamot" in card.text and "enpt-" in card.text
        assert "/tmp" not in card.text and str(sample) not in card.text
        # built without an org: a local card that says so, with no placeholder repository
        assert 'load_dataset("./' + name + '", "pt")' in card.text and "<org>" not in card.text
        assert "> **Local release.**" in card.text
    benign = DatasetCard.load(sample / "release" / BENIGN_NAME / "README.md").text
    dropped = sources["stats"]["benign"]["safety_filter_dropped"]
    assert dropped > 0
    assert f"removed **{dropped}** of {sources['stats']['benign']['rows_per_source']['sample']} rows" in benign
    assert report["languages"]["pt"]["n"] == 77
    sorry = DatasetCard.load(sample / "release" / SORRY_NAME / "README.md").text
    assert '`prompt_style == "base"`' in sorry and "**44** prompts" in sorry
    # The sample's rows are our demo prompts: SORRY-Bench is cited for the schema the demo set uses (said so),
    # and the benign card, in Alpaca's schema, cites Alpaca, not SORRY-Bench or Dolly.
    assert "@inproceedings{xie2025sorrybench" in sorry and "the dataset whose\nschema they follow" in sorry
    assert "@inproceedings{xie2025sorrybench" not in benign and "@misc{taori2023alpaca" in benign
    assert "@misc{conover2023dolly" not in benign
    # this release's own QA figure: 77 translated benign rows, the failures its report counts
    failed = report["languages"]["pt"]["failed"]
    assert f"Rows QA flagged in this release: **{failed}** of 77 translated rows failed `qa_pass` (`pt` {failed} " \
           "of 77)" in benign
    # no guard in the sample config: the harm-preserved check is a recorded skip on the unsafe prompts only
    skip = "- Harm preserved: **not checked**, no guard configured (set qa.harm.guard"
    sorry_report = json.loads((sample / "release" / SORRY_NAME / "qa" / "report.json").read_text())
    assert sorry_report["languages"]["pt"]["harm"]["prompts"] == 44 and "harm" not in report["languages"]["pt"]
    assert skip in sorry and "(44 prompts per language unchecked)" in sorry and skip not in benign
    xstest = DatasetCard.load(sample / "release" / XSTEST_NAME / "README.md").text
    rows_per_type = sources["stats"]["xstest"]["rows_per_type"]
    assert len(rows_per_type) == 18 and sum(rows_per_type.values()) == 70
    assert "Types: all 18 prompt types present kept; no prompts removed." in xstest
    assert "| `pt` | Portuguese | 70 | 70 |" in xstest
    assert skip in xstest and "(24 prompts per language unchecked)" in xstest  # the 24 unsafe contrasts
    assert "@inproceedings{rottger2024xstest" in xstest and "@inproceedings{rottger2024xstest" not in sorry


def _work_not_demo(sample: Path, tmp: Path, key: str) -> Path:
    """A work dir whose sources manifest says dataset `key` was read from the public dataset, not demo data."""
    work = tmp / "work"
    (work / "sources").mkdir(parents=True)
    shutil.copytree(sample / "work" / "translated", work / "translated", ignore=shutil.ignore_patterns("*.jsonl"))
    manifest = json.loads((sample / "work" / "sources" / "manifest.json").read_text())
    manifest["stats"][key]["demo"] = False
    (work / "sources" / "manifest.json").write_text(json.dumps(manifest))
    return work


def test_gating_only_on_sorry_bench(sample, tmp_path):
    sorry = DatasetCard.load(sample / "release" / SORRY_NAME / "README.md")
    benign = DatasetCard.load(sample / "release" / BENIGN_NAME / "README.md")
    xstest = DatasetCard.load(sample / "release" / XSTEST_NAME / "README.md")
    meta = sorry.data.to_dict()
    # The sample's SORRY-Bench-schema rows are our demo prompts: our licence, gated all the same.
    assert meta["license"] == "apache-2.0" and meta["extra_gated_prompt"] == SORRY_BENCH.gating.demo_terms
    assert "checkbox" in meta["extra_gated_fields"].values()
    # Built from SORRY-Bench itself, the card carries SORRY-Bench's licence and terms.
    real = _write(sample, tmp_path / "real", SORRY_BENCH, work=_work_not_demo(sample, tmp_path, "sorry_bench"))
    real_meta = real.data.to_dict()
    assert real_meta["license"] == "other" and real_meta["extra_gated_prompt"] == SORRY_BENCH_TERMS
    assert real_meta["source_datasets"] == ["extended|sorry-bench/sorry-bench-202503"]
    assert "demo-data" not in real_meta["tags"] and "Demo data" not in real.text
    assert "@inproceedings{xie2025sorrybench" in real.text
    validate_card(DatasetCard.load(tmp_path / "real" / "README.md"), tmp_path / "real")
    assert "Gated repository" in sorry.text
    assert gated_spec_of(sorry) is SORRY_BENCH and gated_spec_of(benign) is None and gated_spec_of(xstest) is None
    assert not any(k.startswith("extra_gated") for card in (benign, xstest) for k in card.data.to_dict())
    assert "Gated repository" not in xstest.text
    assert benign.data.license == "apache-2.0"

    # A SORRY-Bench card stripped of its gating fails validation with one sentence.
    ungated = DatasetCard(str(sorry))
    del ungated.data.extra_gated_prompt
    with pytest.raises(DataError, match="extra_gated_prompt"):
        validate_card(ungated)


def test_validate_card_catches_missing_data_files(sample, tmp_path):
    folder = tmp_path / BENIGN_NAME
    shutil.copytree(sample / "release" / BENIGN_NAME, folder)
    card = DatasetCard.load(folder / "README.md")
    validate_card(card, folder)
    (folder / "data" / "pt" / "test-00000-of-00001.parquet").unlink()
    with pytest.raises(DataError, match=r"config 'pt' split 'test'.*matches no file"):
        validate_card(card, folder)
    no_version = DatasetCard(str(card))
    del no_version.data.version
    with pytest.raises(DataError, match="lacks required metadata: version"):
        validate_card(no_version)


def _work_with_sources(sample: Path, tmp: Path, sources: dict[str, int]) -> Path:
    """A work dir whose sources manifest says the rows came from these Hub sources (name -> rows)."""
    from builders.config import BenignSourceConfig
    from builders.sources import source_line

    work = tmp / "work"
    (work / "sources").mkdir(parents=True)
    shutil.copytree(sample / "work" / "translated", work / "translated", ignore=shutil.ignore_patterns("*.jsonl"))
    manifest = json.loads((sample / "work" / "sources" / "manifest.json").read_text())
    manifest["stats"]["benign"]["demo"] = False
    manifest["card"]["benign"]["sources"] = [
        source_line(BenignSourceConfig(name=n, hub_id=BENIGN.sources[n].hub_id, revision="abc123", format=n), rows)
        for n, rows in sources.items()
    ]
    (work / "sources" / "manifest.json").write_text(json.dumps(manifest))
    return work


@pytest.mark.parametrize("kind", ["alpaca", "dolly", "mixed"])
def test_benign_license_follows_the_sources(sample, tmp_path, kind):
    rows = _qa_rows(sample / "work", BENIGN)
    n_en = len(rows["en"])
    for lang_rows in rows.values():
        for i, r in enumerate(sorted(lang_rows, key=lambda r: r["id"])):
            r["source"] = kind if kind != "mixed" else ("alpaca" if i < 30 else "dolly")
    counts = {"alpaca": 30, "dolly": n_en - 30} if kind == "mixed" else {kind: n_en}
    work = _work_with_sources(sample, tmp_path, counts)
    card = _write(sample, tmp_path / "out", BENIGN, per_lang=rows, work=work)
    validate_card(DatasetCard.load(tmp_path / "out" / "README.md"), tmp_path / "out")
    expected = {"alpaca": "cc-by-nc-4.0", "dolly": "cc-by-sa-3.0", "mixed": ["cc-by-nc-4.0", "cc-by-sa-3.0"]}
    assert card.data.license == expected[kind]
    hub = {"alpaca": ["extended|tatsu-lab/alpaca"], "dolly": ["extended|databricks/databricks-dolly-15k"]}
    assert card.data.source_datasets == (hub["alpaca"] + hub["dolly"] if kind == "mixed" else hub[kind])
    text = card.text
    if kind in ("alpaca", "mixed"):
        assert "| `alpaca` | `cc-by-nc-4.0`" in text and "@misc{taori2023alpaca" in text
        assert "`tatsu-lab/alpaca`](https://huggingface.co/datasets/tatsu-lab/alpaca) at revision `abc123`" in text
    if kind in ("dolly", "mixed"):
        assert "| `dolly` | `cc-by-sa-3.0`" in text and "@misc{conover2023dolly" in text
    if kind == "mixed":
        assert "| `alpaca` | `cc-by-nc-4.0` — CC BY-NC 4.0 (attribution, non-commercial) | 30 |" in text
        assert f"| `dolly` | `cc-by-sa-3.0` — CC BY-SA 3.0 (attribution, share-alike) | {n_en - 30} |" in text
        assert "Filter on `source`" in text
    else:
        assert "@misc{" + ("conover2023dolly" if kind == "alpaca" else "taori2023alpaca") not in text


@pytest.mark.parametrize("source, license_, origin", [
    ("sample", "apache-2.0", ["original"]),
    ("xstest", "cc-by-4.0", ["extended|walledai/XSTest"]),
    ("xstest-paul", "cc-by-4.0", ["extended|Paul/XSTest"]),
])
def test_xstest_license_and_origin_follow_the_source_the_loader_read(sample, tmp_path, source, license_, origin):
    """XSTest rows carry no `source` column: the card credits the one source the loader recorded."""
    work = tmp_path / "work"
    (work / "sources").mkdir(parents=True)
    shutil.copytree(sample / "work" / "translated", work / "translated", ignore=shutil.ignore_patterns("*.jsonl"))
    manifest = json.loads((sample / "work" / "sources" / "manifest.json").read_text())
    manifest["stats"]["xstest"]["rows_per_source"] = {source: 70}
    manifest["stats"]["xstest"]["demo"] = source == "sample"
    (work / "sources" / "manifest.json").write_text(json.dumps(manifest))
    card = _write(sample, tmp_path / "out", XSTEST, work=work)
    validate_card(DatasetCard.load(tmp_path / "out" / "README.md"), tmp_path / "out")
    assert card.data.license == license_ and card.data.source_datasets == origin
    assert not any(k.startswith("extra_gated") for k in card.data.to_dict())
    name = XSTEST.sources[source].license_name
    assert f"| `{source}` | `{license_}` — {name} | 70 |" in card.text
    assert f"inherits the licence of its source (`{license_}`)" in card.text
    assert card.text.count("@inproceedings{rottger2024xstest") == 1


def test_sample_cards_say_they_hold_demo_data(sample):
    """A release built from the embedded demo data says so, under our licence, without a public source or a finding."""
    cards = {name: DatasetCard.load(sample / "release" / name / "README.md") for name in NAMES}
    for name, schema in ((BENIGN_NAME, "Alpaca"), (SORRY_NAME, "SORRY-Bench"), (XSTEST_NAME, "XSTest")):
        card = cards[name]
        title_block = card.text.split("## Why this dataset exists")[0]
        assert "> **Demo data.** This release was built from the demo data that ships with the safedrift toolkit" \
            in title_block
        assert f"rows written for the toolkit in {schema}'s schema, not {schema}'s own" in title_block
        meta = card.data.to_dict()
        assert meta["license"] == "apache-2.0" and meta["source_datasets"] == ["original"]
        assert "demo-data" in meta["tags"]
        # No card states a research finding about drift as if the release showed it.
        for claim in ("turns out", "we find", "we found", "four-fold", "shows that"):
            assert claim not in card.text.lower(), (name, claim)
        assert "it reports no result" in card.text
        # COMET that did not run is one readable sentence, not a worker's exception text.
        comet = [line for line in card.text.splitlines() if "COMET" in line and line.startswith("- ")]
        assert all("exit 1" not in line and "worker" not in line for line in comet), comet
    sorry = cards[SORRY_NAME]
    assert sorry.text.split("\n\n")[1].startswith("Demo prompts written for the safedrift toolkit in SORRY-Bench's "
                                                    "schema")
    assert "They are not SORRY-Bench's prompts" in sorry.text
    assert "machine translations of the SORRY-Bench prompts" not in str(sorry.data.to_dict())
    assert not any("sorry-bench" in s for s in sorry.data.source_datasets)
    assert sorry.data.extra_gated_prompt and "SORRY-Bench dataset" not in " ".join(sorry.data.extra_gated_fields)
    assert "Gated repository" in sorry.text and "is a machine translation of SORRY-Bench" not in sorry.text
    assert "none comes from SORRY-Bench" in sorry.text
    assert "- Demo prompts written for the safedrift toolkit, not SORRY-Bench's: local file " \
           "`data/sample/sorry_bench_demo.jsonl`" in sorry.text
    assert gated_spec_of(sorry) is SORRY_BENCH  # the schema's rule: published gated only


def test_comet_note_is_one_sentence():
    from cards.card import comet_note

    reason = ("the COMET worker for Unbabel/wmt22-comet-da failed (exit 1): COMET model Unbabel/wmt22-comet-da is "
              "not in the Hugging Face cache and could not be downloaded (offline, or a gated model)")
    skipped = {"qe": {"skipped": reason}, "ref": {"skipped": reason.replace("comet-da", "cometkiwi-da")}}
    note = comet_note({"en": {"comet": skipped}, "pt": {"comet": skipped}, "de": {"comet": {"qe": {"system": 0.8}}}})
    assert note == ("COMET scores are empty for `pt`: COMET was not run because its models were not in the local "
                    "Hugging Face cache and could not be downloaded when the release was built.")
    assert comet_note({"pt": {"comet": {"qe": {"skipped": "disabled in the config (qa.comet.enabled: off)"}}}}) == (
        "COMET scores are empty for `pt`: COMET was not run because it is turned off in the release config "
        "(`qa.comet.enabled: off`).")
    assert comet_note({"pt": {"comet": {"qe": {"system": 0.8, "skipped": None}}}}) is None


def test_demo_data_is_decided_by_the_source_not_a_name(tmp_path):
    from builders.config import SorryBenchConfig
    from builders.sorry_bench import load_sorry_dataset
    from builders.sources import is_demo
    from safedrift.core.locations import sample_data

    shipped = sample_data() / "sorry_bench_demo.jsonl"
    copy = tmp_path / "sorry_bench_demo.jsonl"
    shutil.copy(shipped, copy)
    assert is_demo(str(shipped), None) and not is_demo(str(copy), None) and not is_demo(None, None)
    assert is_demo(str(copy), True) and not is_demo(str(shipped), False)
    demo = load_sorry_dataset(SorryBenchConfig(path=str(shipped)))
    assert demo.stats["demo"] is True
    assert demo.source_lines[0].startswith("Demo prompts written for the safedrift toolkit, not SORRY-Bench's: ")
    real = load_sorry_dataset(SorryBenchConfig(path=str(copy)))
    assert real.stats["demo"] is False and real.source_lines[0].startswith("SORRY-Bench prompts: local file")


def test_card_data_files_in_every_form_the_hub_allows_and_none_is_an_error():
    from cards.card import _data_files
    from safedrift.core.errors import DataError
    from safedrift.core.hub import data_files_by_split

    assert data_files_by_split("data/*.parquet") == {"train": ["data/*.parquet"]}
    assert data_files_by_split({"test": "t/*", "train": ["a/*", "b/*"]}) == {"test": ["t/*"], "train": ["a/*", "b/*"]}
    assert data_files_by_split([{"split": "test", "path": "x/*"}, "y/*", {"split": "test", "path": ["z/*"]}]) == {
        "test": ["x/*", "z/*"], "train": ["y/*"]}
    assert data_files_by_split([{"split": "test"}]) == {"test": []}
    for bad in (None, [], [{"split": "test"}]):
        with pytest.raises(DataError, match="has no data_files"):
            _data_files(bad)
