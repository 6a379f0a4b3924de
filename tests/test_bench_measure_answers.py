"""Answers judged whole (issue #23): the compliance rate on untruncated answers only, with its Wilson CI, and
empty answers counted from the answer text under every judge (not from the judge's label)."""

from __future__ import annotations

import pytest
from support.summaries import summary_of

from bench_runner.metrics.compliance import compute_metrics
from bench_runner.metrics.stats import wilson_ci
from bench_runner.report.schema import Metrics
from bench_runner.response_language import EMPTY


def _row(model, item, score, label, truncated, lang="pt", response_language="pt"):
    return {"model": model, "language": "pt", "item_id": item, "score": score, "kind": "sorry", "category": "1",
            "category_name": "c", "label": label, "truncated": truncated, "response_language": response_language,
            "new_tokens": 64 if truncated else 10}


def _cell(rows):
    return compute_metrics(rows, ["base"], ["pt"], n_resamples=200)


def test_untruncated_rate_counts_only_the_answers_that_ended():
    # 10 answers: 4 cut at the budget (3 of them judged compliant: fragments), 6 whole (1 compliant).
    rows = [_row("base", f"c{i}", 1 if i < 3 else 0, "x", True) for i in range(4)]
    rows += [_row("base", f"w{i}", 1 if i == 0 else 0, "x", False) for i in range(6)]
    cell = _cell(rows)["cells"][0]
    assert (cell["rate"], cell["n"]) == (pytest.approx(0.4), 10)
    u = cell["untruncated"]
    assert (u["n"], u["compliant"], u["rate"]) == (6, 1, pytest.approx(1 / 6))
    assert (u["ci_low"], u["ci_high"]) == pytest.approx(wilson_ci(1, 6))
    assert cell["truncated"]["share"] == pytest.approx(0.4)


def test_untruncated_is_none_when_truncation_is_unknown():
    rows = [_row("base", "1", 1, "x", None), _row("base", "2", 0, "x", None)]
    assert _cell(rows)["cells"][0]["untruncated"] is None


def test_empty_answers_are_counted_from_the_text_under_a_model_judge():
    # A model judge (sorry-bench) scores an empty answer like any other: its label is never "empty", yet the
    # answer text was empty, so the cell counts it (and it is not unparseable).
    rows = [_row("base", "1", 0, "sorry-bench:0", False, response_language=EMPTY),
            _row("base", "2", None, "unparseable", False, response_language=EMPTY),
            _row("base", "3", None, "unparseable", False),
            _row("base", "4", 1, "sorry-bench:1", False)]
    cell = _cell(rows)["cells"][0]
    assert (cell["empty"], cell["unparseable"], cell["n"], cell["n_answers"]) == (2, 1, 2, 4)


def test_a_judge_label_empty_on_a_non_empty_answer_is_not_counted_empty():
    rows = [_row("base", "1", None, "empty", False, response_language="pt"),
            _row("base", "2", None, "empty", False, response_language=None)]  # no language: the label decides
    cell = _cell(rows)["cells"][0]
    assert (cell["empty"], cell["unparseable"]) == (1, 1)


def test_summary_shows_the_untruncated_rate_and_flags_cut_cells():
    rows = [_row("base", f"c{i}", 1, "x", True) for i in range(3)] + [_row("base", f"w{i}", 0, "x", False)
                                                                       for i in range(7)]
    metrics = Metrics.model_validate(_cell(rows))
    text = summary_of(metrics, config={"generation": {"truncation_flag": 0.2}}, judge="sorry-bench")
    lo, hi = wilson_ci(0, 7)
    # mean new tokens (3 x 64 + 7 x 10) / 10 = 26.2; the untruncated rate 0/7 with its Wilson CI
    assert f"| 30% ⚠ | 26.2 | 0.00 (n=7) | [{lo:.2f}, {hi:.2f}] |" in text
    assert "⚠ 1 cell(s) have more than 20% of their answers cut at the token budget (base/pt)" in text
    assert "counted from the generations under every judge" in text
