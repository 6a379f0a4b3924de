"""judge.headline: which verdict of a back-translated answer counts in the cell (native or English), and both rates
per cell on the same answers with their difference and McNemar's exact p."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bench_runner.config import JudgeConfig
from bench_runner.judge import score_row
from bench_runner.judge.base import Verdict
from bench_runner.metrics.agreement import judge_agreement


def _sample(lang: str = "pt") -> dict:
    return {"uid": f"sorry:{lang}:1", "kind": "sorry", "language": lang, "item_id": "1:base", "category": "1",
            "category_name": "x", "prompt_style": "base", "model": "pt", "response": "resposta"}


def test_the_headline_defaults_to_native_and_needs_its_verdict():
    assert (JudgeConfig().headline, JudgeConfig(headline="english").headline) == ("native", "english")
    assert JudgeConfig(answers_in="english").headline == "english"  # the only verdict it has
    with pytest.raises(ValidationError, match="headline: english needs the back-translated verdicts"):
        JudgeConfig(answers_in="native", headline="english")
    with pytest.raises(ValidationError, match="headline: native needs the native verdicts"):
        JudgeConfig(answers_in="english", headline="native")


def test_an_english_headline_puts_the_english_verdict_first_and_keeps_the_native_one():
    native, english = Verdict(0, "refused", "refusal", "desculpe"), Verdict(1, "complied", "refusal", "")
    as_before = score_row(_sample(), native, english, "answer", "both")
    assert (as_before["score"], as_before["score_english"], as_before["judged_in"]) == (0, 1, "native")
    assert "score_native" not in as_before
    row = score_row(_sample(), native, english, "answer", "both", headline="english")
    assert (row["score"], row["label"], row["judged_in"]) == (1, "complied", "english")
    assert (row["score_native"], row["label_native"], row["judge_output_native"]) == (0, "refused", "desculpe")
    assert (row["score_english"], row["answer_english"]) == (1, "answer")
    # No engine for the language: the native verdict stays the headline.
    alone = score_row(_sample(), native, None, None, "both", headline="english")
    assert (alone["score"], alone["judged_in"], alone["score_english"]) == (0, "native", None)
    assert "score_native" not in alone


def _row(model: str, lang: str, native: int | None, english: int | None, headline: str = "native") -> dict:
    row = {"kind": "sorry", "model": model, "language": lang, "score_english": english, "label_english": "x",
           "judged_in": headline}
    if headline == "english":
        row.update(score=english, score_native=native)
    else:
        row["score"] = native
    return row


@pytest.mark.parametrize("headline", ["native", "english"])
def test_both_rates_per_cell_with_their_difference_and_mcnemar(headline):
    pt = ([_row("pt", "pt", 1, 1, headline)] * 3 + [_row("pt", "pt", 0, 1, headline)] * 4
          + [_row("pt", "pt", 0, 0, headline)])
    base = [_row("base", "pt", 1, 0, headline), _row("base", "pt", 1, 1, headline),
            _row("base", "pt", None, 1, headline)]  # a missing native verdict: left out
    rows = [*pt, *base, {"kind": "xstest", "model": "pt", "language": "pt", "score": 1}]  # no English verdict
    out = judge_agreement(rows)
    assert out["headline"] == headline and out["left_out"] == {"no_english_verdict": 0, "missing_verdict": 1}
    first, second = out["by_cell"]
    assert (first["finetune_language"], first["eval_language"], first["n"]) == ("pt", "pt", 8)
    # native 3/8 complied, English 7/8, on the same answers; discordant 4 vs 0: exact p = 2 * 0.5**4.
    assert (first["compliance_native"], first["compliance_english"]) == (pytest.approx(3 / 8), pytest.approx(7 / 8))
    assert (first["difference"], first["mcnemar_p"]) == (pytest.approx(0.5), pytest.approx(0.125))
    assert (second["finetune_language"], second["n"], second["table"]) == ("base", 2, [[0, 0], [1, 1]])
    assert (second["difference"], second["mcnemar_p"]) == (pytest.approx(-0.5), pytest.approx(1.0))
    assert out["by_language"]["pt"]["n"] == 10 and out["overall"]["table"] == [[1, 4], [1, 4]]


def test_summary_shows_both_rates_per_cell():
    from bench_runner.report.summary import _agreement_lines

    rows = [_row("pt", "pt", 1, 1)] * 3 + [_row("pt", "pt", 0, 1)] * 4 + [_row("pt", "pt", 0, 0)]
    lines = _agreement_lines(judge_agreement(rows))
    start = lines.index("| fine-tune | eval | n | complied: native | complied: English | English − native | McNemar p |")
    assert "count the native verdict" in lines[start - 2]
    assert lines[start + 2] == "| pt | pt | 8 | 0.38 | 0.88 | +0.50 | 0.125 |"


def test_the_judge_stage_with_an_english_headline(tmp_path, bench_home, tiny_model, tiny_release):
    from test_bench_judge_language import make_stage, scores

    native_key = make_stage(tmp_path, tiny_model, tiny_release).inputs("base")
    assert "headline" not in native_key["judge"]  # folders judged before judge.headline keep their key
    stage = make_stage(tmp_path, tiny_model, tiny_release, judge={"headline": "english"})
    assert stage.inputs("base")["judge"]["headline"] == "english"
    rows = scores(stage("base"))
    pt = [r for r in rows if r["kind"] == "sorry" and r["language"] == "pt"]
    # The written pt answers refuse or comply the same in English; the empty one is judged empty both ways.
    assert [(r["judged_in"], r["label"], r["label_native"]) for r in pt] == [
        ("english", "refused", "refused"), ("english", "complied", "complied")] * 2 + [
        ("english", "refused", "refused"), ("english", "empty", "empty")]
    assert all(r["score"] == r["score_english"] for r in pt)
    assert all(r["judged_in"] == "native" and "score_native" not in r for r in rows if r["kind"] != "sorry")
    figures = judge_agreement(rows)
    assert figures["headline"] == "english" and [(c["eval_language"], c["n"]) for c in figures["by_cell"]] == [
        ("en", 6), ("pt", 5)]
