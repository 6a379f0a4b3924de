"""The sample data written by us: schema, the features translation must preserve, and the filter split."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from support.loaders import load_benign, load_xstest

from builders.config import BenignSourceConfig, SorryBenchConfig, XSTestConfig
from builders.sorry_bench import SORRY_BENCH_CATEGORIES, load_sorry_bench
from builders.sources import safety_filter
from builders.xstest import CONTRAST_TYPES, SAFE_TYPES

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
BENIGN = SAMPLE / "benign.jsonl"
SORRY = SAMPLE / "sorry_bench_demo.jsonl"
XSTEST = SAMPLE / "xstest_demo.jsonl"

FENCE = re.compile(r"```python\n(.*?)```", re.S)
INLINE_CODE = re.compile(r"(?<!`)`[^`\n]+`(?!`)")
LIST_ITEM = re.compile(r"(?m)^\s*(?:\d+\.|[-*])\s+\S")
NUMBER = re.compile(r"\d")
URL = re.compile(r"https?://[^\s)]+")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@pytest.fixture(scope="module")
def raw_rows() -> list[dict]:
    return [json.loads(line) for line in BENIGN.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def benign() -> list[dict]:
    return load_benign(BenignSourceConfig(name="sample", path=str(BENIGN)))


def test_benign_schema_and_size(raw_rows):
    assert all(set(r) == {"instruction", "input", "output"} for r in raw_rows)
    assert all(isinstance(v, str) for r in raw_rows for v in r.values())
    assert 20_000 <= BENIGN.stat().st_size <= 30_000
    # Short answers: the file is machine translated twice on a small CPU.
    assert max(len(r["output"]) for r in raw_rows) <= 800
    with_input = sum(bool(r["input"]) for r in raw_rows)
    assert 0.25 <= with_input / len(raw_rows) <= 0.45


def test_safety_filter_drops_exactly_the_four_refusal_rows(raw_rows, benign):
    assert len(benign) == len(raw_rows)  # no duplicates in the file
    kept, dropped = safety_filter(benign)
    assert len(dropped) == 4
    assert len(kept) >= 64
    assert [r["instruction"] for r in dropped] == [r["instruction"] for r in raw_rows[-4:]]


def test_benign_rows_carry_the_features_translation_must_preserve(benign):
    kept, _ = safety_filter(benign)
    outputs = [r["output"] for r in kept]
    counts = {
        "fenced python": sum(bool(FENCE.search(o)) for o in outputs),
        "inline code": sum(bool(INLINE_CODE.search(FENCE.sub("", o))) for o in outputs),
        "lists": sum(bool(LIST_ITEM.search(o)) for o in outputs),
        "numbers": sum(bool(NUMBER.search(o)) for o in outputs),
        "urls": sum(bool(URL.search(o)) for o in outputs),
        "placeholders": sum(bool(PLACEHOLDER.search(o)) for o in outputs),
        "multi-paragraph": sum("\n\n" in o for o in outputs),
    }
    minimum = {"fenced python": 8, "inline code": 6, "lists": 8, "numbers": 8, "urls": 5,
               "placeholders": 4, "multi-paragraph": 10}
    assert {k: counts[k] >= v for k, v in minimum.items()} == dict.fromkeys(minimum, True), counts


def test_every_python_block_compiles(benign):
    blocks = [code for r in benign for code in FENCE.findall(r["output"])]
    assert len(blocks) >= 8
    for code in blocks:
        compile(code, "<sample>", "exec")
    # fences are balanced in every row
    assert all(r["output"].count("```") % 2 == 0 for r in benign)


def test_urls_use_documentation_or_example_domains(benign):
    hosts = {re.match(r"https?://([^/:]+)", u).group(1) for r in benign for u in URL.findall(r["output"])}
    assert hosts <= {"docs.python.org", "peps.python.org", "www.example.org"}
    assert len(hosts) >= 2


def test_sorry_bench_demo_schema():
    raw = [json.loads(line) for line in SORRY.read_text(encoding="utf-8").splitlines()]
    assert len(raw) == 48
    assert all(set(r) == {"question_id", "category", "turns", "prompt_style"} for r in raw)
    assert all(isinstance(r["category"], str) and isinstance(r["question_id"], int) for r in raw)
    assert [r["question_id"] for r in raw] == list(range(1, 49))


def test_sorry_bench_demo_has_one_base_prompt_per_category():
    rows = load_sorry_bench(SorryBenchConfig(path=str(SORRY)))
    assert len(rows) == 44
    assert [r["category"] for r in rows] == [str(i) for i in range(1, 45)]
    assert {r["category"]: r["category_name"] for r in rows} == SORRY_BENCH_CATEGORIES
    assert rows[0]["category_name"] == "Personal Insulting Words"
    assert rows[43]["category_name"] == "Dangerous Machinery Operation Advice"
    assert all(r["prompt_style"] == "base" and len(r["turns"]) == 1 for r in rows)
    assert len({r["turns"][0] for r in rows}) == 44


def test_sorry_bench_demo_slang_rows():
    rows = load_sorry_bench(SorryBenchConfig(path=str(SORRY), prompt_style="slang"))
    assert [r["question_id"] for r in rows] == [45, 46, 47, 48]
    assert [r["category"] for r in rows] == ["1", "14", "28", "41"]


def test_xstest_demo_schema_and_counts_per_type_and_label():
    raw = [json.loads(line) for line in XSTEST.read_text(encoding="utf-8").splitlines()]
    assert all(list(r) == ["id", "prompt", "type", "label", "focus", "note"] for r in raw)
    assert [r["id"] for r in raw] == list(range(1, 71))
    rows = load_xstest(XSTestConfig(path=str(XSTEST), source="sample"))
    assert len(rows) == 70 and len({r["prompt"] for r in rows}) == 70
    labels = Counter(r["label"] for r in rows)
    assert labels == {"safe": 46, "unsafe": 24}
    types = Counter(r["type"] for r in rows)
    # every safe type at least four times, every contrast type three times
    assert {t: types[t] for t in SAFE_TYPES} == {
        "homonyms": 5, "figurative_language": 5, "safe_targets": 5, "safe_contexts": 5, "definitions": 5,
        "real_group_nons_discr": 4, "nons_group_real_discr": 4, "historical_events": 5, "privacy_public": 4,
        "privacy_fictional": 4}
    assert {t: types[t] for t in CONTRAST_TYPES} == dict.fromkeys(CONTRAST_TYPES, 3)
    # every prompt names what makes it look unsafe; a note only where it adds a sense
    assert all(r["focus"] for r in rows)
    assert sum(r["note"] is not None for r in rows) == 10
    # short requests (the file is translated twice on a small CPU), none a bare keyword
    assert max(len(r["prompt"]) for r in rows) <= 100 and min(len(r["prompt"].split()) for r in rows) >= 6


def test_readme_states_origin_schema_and_licence():
    text = (SAMPLE / "README.md").read_text(encoding="utf-8")
    assert "written by the safedrift authors" in text
    assert "Apache-2.0" in text
    for field in ("instruction", "input", "output", "question_id", "category", "turns", "prompt_style", "id",
                  "prompt", "type", "label", "focus", "note"):
        assert f"`{field}`" in text
    assert "`xstest_demo.jsonl`" in text and "XSTest" in text
