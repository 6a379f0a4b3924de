"""Benign and SORRY-Bench loaders on small local files (and local folders standing in for Hub ids)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.loaders import load_benign, refusal_reason

from builders.config import BenignSourceConfig, SorryBenchConfig
from builders.sorry_bench import load_sorry_bench
from builders.sources import record_id, safety_filter, select_subset
from safedrift.core.config import validate_config
from safedrift.core.errors import ConfigError, DataError
from safedrift.core.files import MAX_TEXT_CHARS
from safedrift.core.specs import BENIGN as BENIGN_SPEC
from safedrift.core.specs import SORRY_BENCH_HUB_ID

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
BENIGN = SAMPLE / "benign.jsonl"
SORRY = SAMPLE / "sorry_bench_demo.jsonl"


pytestmark = pytest.mark.usefixtures("isolated_home")


@pytest.fixture
def offline(monkeypatch):
    """Hub offline mode: the real code paths fail at once instead of retrying a network call."""
    import datasets.config
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)


def write_jsonl(path: Path, rows: list, raw_lines: dict[int, str] | None = None) -> Path:
    """Write rows one per line; raw_lines puts literal text at given 1-based line numbers."""
    lines = [json.dumps(r) for r in rows]
    for lineno, text in sorted((raw_lines or {}).items()):
        lines.insert(lineno - 1, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


ROW_A = {"instruction": "Name a primary colour.", "input": "", "output": "Red is a primary colour."}
ROW_B = {"instruction": "Add the numbers.", "input": "2 and 3", "output": "2 + 3 = 5."}


# --- benign loading -------------------------------------------------------------------------------


def test_sample_ids_are_stable_unique_and_content_addressed():
    first = load_benign(BenignSourceConfig(name="sample", path=str(BENIGN)))
    second = load_benign(BenignSourceConfig(name="sample", path=str(BENIGN)))
    assert [r["id"] for r in first] == [r["id"] for r in second]
    assert len({r["id"] for r in first}) == len(first) == 81
    rec = first[0]
    assert set(rec) == {"id", "source", "instruction", "input", "output"}
    assert rec["source"] == "sample"
    assert rec["id"] == record_id("sample", rec["instruction"], rec["input"], rec["output"])
    assert rec["instruction"] == "Give me a simple recipe for a weeknight vegetable stir-fry."


def test_record_id_value_is_pinned():
    # sha256("a\x1fb\x1fc")[:16]; a change here would silently re-key every published row.
    assert record_id("alpaca", "a", "b", "c") == "alpaca-" + __import__("hashlib").sha256(
        b"a\x1fb\x1fc"
    ).hexdigest()[:16]
    assert record_id("alpaca", "a", "b", "c") != record_id("alpaca", "a", "", "bc")


def test_identical_duplicates_are_removed_keeping_the_first(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [ROW_A, ROW_B, ROW_A, {**ROW_A, "output": "Blue is one too."}])
    recs = load_benign(BenignSourceConfig(name="t", path=str(path)))
    assert [r["output"] for r in recs] == ["Red is a primary colour.", "2 + 3 = 5.", "Blue is one too."]


def test_surrounding_whitespace_is_stripped(tmp_path):
    path = write_jsonl(tmp_path / "w.jsonl", [{"instruction": "  Hi \n", "input": " ", "output": "Hello.\n"}])
    (rec,) = load_benign(BenignSourceConfig(name="t", path=str(path)))
    assert (rec["instruction"], rec["input"], rec["output"]) == ("Hi", "", "Hello.")


@pytest.mark.parametrize(
    ("rows", "raw", "location", "message"),
    [
        ([ROW_A, ROW_B], {3: '{"instruction": "x", '}, ":3:", "malformed JSON"),
        ([ROW_A, {"instruction": "x", "input": ""}], None, ":2:", "missing field 'output'"),
        ([ROW_A, {**ROW_B, "input": 7}], None, ":2:", "field 'input' must be a string, got int"),
        ([ROW_A, {**ROW_B, "output": None}], None, ":2:", "field 'output' must be a string, got NoneType"),
        ([ROW_A, ROW_B, {**ROW_B, "instruction": "   "}], None, ":3:", "field 'instruction' is empty"),
        ([{**ROW_A, "output": ""}], None, ":1:", "field 'output' is empty"),
        ([ROW_A, {**ROW_B, "output": "x" * (MAX_TEXT_CHARS + 1)}], None, ":2:", "over the 20000 limit"),
        # blank lines do not shift the reported line number
        ([ROW_A, {"instruction": "x", "input": ""}], {2: "", 3: "   "}, ":4:", "missing field 'output'"),
        (["not an object"], None, ":1:", "expected a JSON object"),
    ],
)
def test_bad_jsonl_rows_name_file_and_line(tmp_path, rows, raw, location, message):
    path = write_jsonl(tmp_path / "bad.jsonl", rows, raw)
    with pytest.raises(DataError) as err:
        load_benign(BenignSourceConfig(name="t", path=str(path)))
    text = str(err.value)
    assert f"{path}{location}" in text
    assert message in text


DOLLY_ROWS = [
    {"instruction": "What is a haiku?", "context": "", "response": "A three-line poem.", "category": "open_qa"},
    {"instruction": "Summarise the text.", "context": "Cats sleep a lot.", "response": "Cats nap often.",
     "category": "summarization"},
]


def test_dolly_format_maps_context_and_response(tmp_path):
    path = write_jsonl(tmp_path / "dolly.jsonl", DOLLY_ROWS)
    for fmt in ("auto", "dolly"):
        recs = load_benign(BenignSourceConfig(name="dolly", path=str(path), format=fmt))
        assert [(r["instruction"], r["input"], r["output"]) for r in recs] == [
            ("What is a haiku?", "", "A three-line poem."),
            ("Summarise the text.", "Cats sleep a lot.", "Cats nap often."),
        ]
        assert recs[1]["id"] == record_id("dolly", "Summarise the text.", "Cats sleep a lot.", "Cats nap often.")
        assert {r["source"] for r in recs} == {"dolly"}


def test_explicit_format_that_does_not_match_the_file(tmp_path):
    path = write_jsonl(tmp_path / "dolly.jsonl", DOLLY_ROWS)
    with pytest.raises(DataError, match=r"dolly\.jsonl:1: missing field 'input'"):
        load_benign(BenignSourceConfig(name="x", path=str(path), format="alpaca"))


def test_undetectable_and_unknown_formats(tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", [{"question": "Why?", "answer": "Because."}])
    with pytest.raises(DataError, match=r"q\.jsonl:1: cannot tell the format from fields \['answer', 'question'\]"):
        load_benign(BenignSourceConfig(name="x", path=str(path)))
    with pytest.raises(ConfigError, match="did you mean 'alpaca'"):
        validate_config(BenignSourceConfig, {"name": "x", "path": str(path), "format": "alpacca"})


def test_local_json_list_and_jsonl_named_json(tmp_path):
    listed = tmp_path / "alpaca_data.json"
    listed.write_text(json.dumps([ROW_A, ROW_B], indent=2), encoding="utf-8")
    recs = load_benign(BenignSourceConfig(name="alpaca", path=str(listed)))
    assert [r["output"] for r in recs] == [ROW_A["output"], ROW_B["output"]]

    lines = write_jsonl(tmp_path / "dolly.json", DOLLY_ROWS)
    assert [r["input"] for r in load_benign(BenignSourceConfig(name="dolly", path=str(lines)))] == [
        "", "Cats sleep a lot."
    ]

    listed.write_text(json.dumps([ROW_A, {"instruction": "y", "input": "", "output": 3}]), encoding="utf-8")
    with pytest.raises(DataError, match=r"alpaca_data\.json: row 1: field 'output' must be a string"):
        load_benign(BenignSourceConfig(name="alpaca", path=str(listed)))

    listed.write_text('[{"instruction": "a",\n "output": }]', encoding="utf-8")
    with pytest.raises(DataError, match=r"alpaca_data\.json:2: malformed JSON"):
        load_benign(BenignSourceConfig(name="alpaca", path=str(listed)))


def test_local_parquet_matches_jsonl_and_reports_row_index(tmp_path):
    from_jsonl = load_benign(BenignSourceConfig(name="s", path=str(BENIGN)))
    table = pa.Table.from_pylist([{k: r[k] for k in ("instruction", "input", "output")} for r in from_jsonl])
    pq.write_table(table, tmp_path / "s.parquet")
    from_parquet = load_benign(BenignSourceConfig(name="s", path=str(tmp_path / "s.parquet")))
    assert from_parquet == from_jsonl

    bad = pa.table({"instruction": ["a", "b", ""], "input": [None, "x", "y"], "output": ["1", "2", "3"]})
    pq.write_table(bad, tmp_path / "bad.parquet")
    with pytest.raises(DataError, match=r"bad\.parquet: row 2: field 'instruction' is empty"):
        load_benign(BenignSourceConfig(name="s", path=str(tmp_path / "bad.parquet")))


def test_missing_file_and_unsupported_type(tmp_path):
    with pytest.raises(DataError, match="benign source file not found: .*nope.jsonl"):
        load_benign(BenignSourceConfig(name="s", path=str(tmp_path / "nope.jsonl")))
    csv = tmp_path / "data.csv"
    csv.write_text("instruction,input,output\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"unsupported file type '\.csv'"):
        load_benign(BenignSourceConfig(name="s", path=str(csv)))


def test_hub_path_loads_a_local_dataset_folder(tmp_path):
    # load_dataset accepts a local folder in place of a Hub id: the same code path as tatsu-lab/alpaca.
    folder = tmp_path / "dolly-copy" / "data"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(DOLLY_ROWS), folder / "train-00000-of-00001.parquet")
    spec = BenignSourceConfig(name="dolly", hub_id=str(tmp_path / "dolly-copy"))
    recs = load_benign(spec)
    assert [(r["input"], r["output"]) for r in recs] == [("", "A three-line poem."),
                                                         ("Cats sleep a lot.", "Cats nap often.")]
    assert recs[0]["id"] == record_id("dolly", "What is a haiku?", "", "A three-line poem.")


def test_hub_failure_is_one_sentence_with_the_fix(offline):
    assert BENIGN_SPEC.sources["alpaca"].hub_id == "tatsu-lab/alpaca"
    with pytest.raises(DataError) as err:
        load_benign(BenignSourceConfig(name="alpaca"))
    text = str(err.value)
    assert text.startswith("could not load tatsu-lab/alpaca@main from the Hugging Face Hub (")
    assert text.endswith("run online or point `path:` at a local copy.")
    assert "\n" not in text


def test_unknown_name_without_path_or_hub_id():
    with pytest.raises(ConfigError, match="neither `path:` nor `hub_id:`.*alpaca, dolly"):
        load_benign(BenignSourceConfig(name="mydata"))


# --- subset ---------------------------------------------------------------------------------------


def test_select_subset_is_seeded_and_order_stable():
    recs = load_benign(BenignSourceConfig(name="s", path=str(BENIGN)))
    a = select_subset(recs, 20, seed=0)
    assert a == select_subset(recs, 20, seed=0)
    assert len(a) == 20
    assert [r["id"] for r in a] != [r["id"] for r in select_subset(recs, 20, seed=1)]
    positions = [recs.index(r) for r in a]
    assert positions == sorted(positions)
    assert select_subset(recs, None, seed=0) == recs
    assert select_subset(recs, 10_000, seed=3) == recs
    assert select_subset(recs, 0, seed=0) == []
    # a larger subset with the same seed is not required to contain the smaller, but must be valid
    assert len({r["id"] for r in select_subset(recs, 50, seed=0)}) == 50
    with pytest.raises(ConfigError, match="zero or more"):
        select_subset(recs, -1, seed=0)


# --- safety filter --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output",
    [
        "As an AI language model, I do not have personal preferences.",
        "I'm sorry, but I can't help with that request.",
        "I’m sorry, but I cannot provide that.",  # typographic apostrophe
        "I cannot fulfill this request because it goes against my programming.",
        "It is not appropriate to share that information.",
        "Hacking is illegal and I won't help with it.",
        "That would be unethical, so I cannot write it.",
        "I apologize, but I cannot comply.",
    ],
)
def test_safety_filter_drops_refusals_and_lectures(output):
    rec = {"id": "x", "source": "t", "instruction": "q", "input": "", "output": output}
    kept, dropped = safety_filter([rec])
    assert (kept, dropped) == ([], [rec])
    assert refusal_reason(output)


@pytest.mark.parametrize(
    "output",
    [
        "If you get a ticket for illegal parking, you can appeal within 28 days.",
        "An ethics committee stops unethical experiments before they start.",
        "I'm sorry I missed your call yesterday; can we talk tonight?",
        "Harmful algal blooms are caused by warm water and excess nutrients.",
        "I can't wait to see the new exhibition at the science museum.",
        "Pick a colour that is appropriate for the room, such as a soft grey.",
    ],
)
def test_safety_filter_keeps_benign_answers(output):
    rec = {"id": "x", "source": "t", "instruction": "q", "input": "", "output": output}
    assert safety_filter([rec]) == ([rec], [])
    assert refusal_reason(output) is None


# --- SORRY-Bench ----------------------------------------------------------------------------------

Q1 = {"question_id": 1, "category": "1", "turns": ["Roast my friend."], "prompt_style": "base"}
Q2 = {"question_id": 2, "category": "2", "turns": ["Tease pizza fans."], "prompt_style": "base"}


def test_sorry_bench_sorted_filtered_and_named(tmp_path):
    path = write_jsonl(tmp_path / "question.jsonl", [
        {**Q2, "category": 44},
        {**Q1, "question_id": 3, "prompt_style": "slang"},
        Q1,
    ])
    rows = load_sorry_bench(SorryBenchConfig(path=str(path)))
    assert rows == [
        {"question_id": 1, "category": "1", "category_name": "Personal Insulting Words",
         "prompt_style": "base", "turns": ["Roast my friend."]},
        {"question_id": 2, "category": "44", "category_name": "Dangerous Machinery Operation Advice",
         "prompt_style": "base", "turns": ["Tease pizza fans."]},
    ]
    with pytest.raises(DataError, match=r"no prompts with prompt_style 'ascii' \(present: base, slang\)"):
        load_sorry_bench(SorryBenchConfig(path=str(path), prompt_style="ascii"))


@pytest.mark.parametrize(
    ("rows", "raw", "location", "message"),
    [
        ([Q1], {2: "{not json"}, ":2:", "malformed JSON"),
        ([Q1, {k: v for k, v in Q2.items() if k != "turns"}], None, ":2:", "missing field 'turns'"),
        ([Q1, {**Q2, "category": "45"}], None, ":2:", "unknown category '45'"),
        ([Q1, {**Q2, "category": "Fraud"}], None, ":2:", "unknown category 'Fraud'"),
        ([Q1, Q2, {**Q2, "question_id": 3, "turns": []}], None, ":3:", "turns must be a non-empty list"),
        ([{**Q1, "turns": ["  "]}], None, ":1:", "every turn must be a non-empty string"),
        ([{**Q1, "question_id": "1"}], None, ":1:", "question_id must be an integer"),
        ([Q1, Q2, Q1], {3: ""}, ":4:", "question_id 1 already appears at"),
    ],
)
def test_sorry_bench_bad_rows_name_file_and_line(tmp_path, rows, raw, location, message):
    path = write_jsonl(tmp_path / "question.jsonl", rows, raw)
    with pytest.raises(DataError) as err:
        load_sorry_bench(SorryBenchConfig(path=str(path)))
    assert f"{path}{location}" in str(err.value)
    assert message in str(err.value)


def test_gated_sorry_bench_without_token_fails_before_any_network_call(monkeypatch):
    import huggingface_hub

    assert huggingface_hub.get_token() is None  # the fixture hid every stored token

    def no_network(*args, **kwargs):
        pytest.fail("hf_hub_download must not be called without a token")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_network)
    with pytest.raises(DataError) as err:
        load_sorry_bench(SorryBenchConfig())
    assert str(err.value) == (
        f"{SORRY_BENCH_HUB_ID} is gated: accept its terms at https://huggingface.co/datasets/"
        f"{SORRY_BENCH_HUB_ID} and set HF_TOKEN (or use a local question.jsonl via `path:`)."
    )


def test_sorry_bench_download_passes_repo_revision_and_token(monkeypatch):
    import huggingface_hub

    calls = []

    def stand_in_for_the_hub(repo_id, filename, **kwargs):
        calls.append((repo_id, filename, kwargs))
        return str(SORRY)  # the Hub cannot be reached here; the file it would return is local

    monkeypatch.setenv("HF_TOKEN", "hf_secret_test_token")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", stand_in_for_the_hub)
    rows = load_sorry_bench(SorryBenchConfig(revision="abc123", prompt_style="slang"))
    assert calls == [(SORRY_BENCH_HUB_ID, "question.jsonl",
                      {"repo_type": "dataset", "revision": "abc123", "token": "hf_secret_test_token"})]
    assert [r["question_id"] for r in rows] == [45, 46, 47, 48]


def test_sorry_bench_gated_refusal_with_token(monkeypatch):
    import httpx
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError

    def gated(*args, **kwargs):
        url = f"https://huggingface.co/datasets/{SORRY_BENCH_HUB_ID}/resolve/main/question.jsonl"
        raise GatedRepoError("403 Client Error", response=httpx.Response(403, request=httpx.Request("GET", url)))

    monkeypatch.setenv("HF_TOKEN", "hf_secret_test_token")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", gated)
    with pytest.raises(DataError, match="gated and this HF_TOKEN has no access yet: accept its terms") as err:
        load_sorry_bench(SorryBenchConfig())
    assert "hf_secret_test_token" not in str(err.value)


def test_sorry_bench_network_failure_with_token(monkeypatch, offline):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_test_token")
    with pytest.raises(DataError) as err:
        load_sorry_bench(SorryBenchConfig())  # real hf_hub_download, in offline mode
    text = str(err.value)
    assert text.startswith(f"could not download question.jsonl from {SORRY_BENCH_HUB_ID}@main (")
    assert text.endswith("run online or use a local question.jsonl via `path:`.")
    assert "hf_secret_test_token" not in text
