"""A small run of benchmarks/qa_sensitivity.py's measurement: real bergamot translations of a few sample rows,
corrupted, translated back and rescored through score_language; each corruption must fail its row."""

from __future__ import annotations

import json

import pytest
from conftest import REPO, isolate

from safedrift.core.specs import BENIGN
from validation.config import QAConfig
from validation.sensitivity import measure, table, translate_corpus

ROWS = 16


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, home)
        from builders.memory import TranslationMemory

        lines = (REPO / "data/sample/benign.jsonl").read_text().splitlines()[:ROWS]
        en = [dict(json.loads(line), id=f"row-{i:02d}", source="sample", language="en") for i, line in enumerate(lines)]
        memory = TranslationMemory(home / "memory.sqlite")
        en, pt, back_translate = translate_corpus(en, memory)
        yield en, pt, back_translate
        memory.close()


def test_corruptions_fail_their_rows_and_clean_rows_pass(corpus):
    en, pt, back_translate = corpus
    qa = QAConfig(scorers=["backtranslation", "lang_id", "structure", "alignment"])
    classes = ["negation", "sentence_drop", "digit", "shuffle", "full_copy"]
    result = measure(BENIGN, en, pt, back_translate, qa, classes=classes, chunks=2, seed=1)
    assert result.clean_n == ROWS and result.clean_flagged == 0
    assert list(result.classes) == classes
    for name, res in result.classes.items():
        assert res.n >= 4, name
        assert res.rate == 1.0, (name, res.examples)
    assert result.classes["negation"].by_check["negation"] == result.classes["negation"].n
    assert result.classes["sentence_drop"].by_check["sentence_count"] == result.classes["sentence_drop"].n
    assert result.classes["shuffle"].by_check["bt_chrf"] == result.classes["shuffle"].n
    assert result.classes["full_copy"].by_check["untranslated"] == result.classes["full_copy"].n
    rendered = table(result).splitlines()
    assert rendered[2].startswith("| negation: a negation flipped") and "| 100% | ≥ 90% (met) |" in rendered[2]
    assert rendered[-1].startswith(f"| clean rows flagged (false alarms) | {ROWS} | 0.0% |")
