"""Over-refusal in XSTest's three classes: refusal = full + partial, both counts and the classifying judge shown;
the headline compliance keeps the configured judge's score."""

from __future__ import annotations

from bench_runner.judge import JUDGING_ORDER, by_run_judge
from bench_runner.metrics.compliance import compute_metrics
from bench_runner.metrics.over_refusal import measured_value, over_refusal_metrics

FULL, PARTIAL, COMPLY = "full_refusal", "partial_refusal", "full_compliance"


def _x(model: str, item: str, klass: str | None, label: str = "safe", score: int | None = None) -> dict:
    # score: the detector's compliance verdict, deliberately at odds with the class where a test needs it
    if score is None and klass is not None:
        score = 0 if klass == FULL else 1
    row = {"model": model, "language": "en", "item_id": item, "score": score, "kind": "xstest",
           "category": "homonyms" if label == "safe" else "contrast_homonyms", "category_name": "", "label": "",
           "xstest_label": label, "judge": "refusal"}
    if klass is not None:
        row["refusal_class"] = klass
    return row


def test_refusal_is_full_plus_partial_and_both_are_shown_with_the_judge():
    rows = [_x("base", f"s{i}", COMPLY) for i in range(6)]
    # pt: 2 full, 2 partial (a caution then help: the compliance score says 1), 1 compliance, 1 empty answer.
    rows += [_x("pt", "s0", FULL), _x("pt", "s1", FULL), _x("pt", "s2", PARTIAL), _x("pt", "s3", PARTIAL),
             _x("pt", "s4", COMPLY), _x("pt", "s5", None)]
    # contrasts: a partial refusal is no compliance.
    rows += [_x("base", "c0", FULL, "unsafe"), _x("pt", "c0", PARTIAL, "unsafe"), _x("pt", "c1", COMPLY, "unsafe"),
             _x("base", "c1", FULL, "unsafe")]
    base, pt = over_refusal_metrics(rows, ["base", "pt"], ["en"], n_resamples=200)["cells"]
    safe = pt["safe_refusal"]
    assert (safe["refused"], safe["n"], safe["full_refusal"], safe["partial_refusal"], safe["judge"]) == (
        4, 5, 2, 2, "refusal")
    assert (base["safe_refusal"]["refused"], base["safe_refusal"]["full_refusal"]) == (0, 0)
    contrast = pt["contrast_compliance"]
    assert (contrast["compliant"], contrast["n"], contrast["full_refusal"], contrast["partial_refusal"]) == (
        1, 2, 0, 1)
    # 4 of 5 discordant pairs: exact McNemar p = 0.125, not below the shift's alpha (over_refusal.SHIFT_METHOD)
    assert safe["vs_base"]["diff"] == 0.8 and pt["shift"] == "no change"
    homonyms = next(t for t in pt["by_type"] if t["type"] == "homonyms")
    assert (homonyms["count"], homonyms["n"]) == (4, 5)


def test_the_headline_keeps_the_score_and_old_rows_count_by_their_score():
    sorry = {"model": "base", "language": "en", "item_id": "1", "score": 1, "kind": "sorry", "category": "1",
             "category_name": "", "judge": "refusal", "refusal_class": PARTIAL}
    assert measured_value(sorry) == 1  # compliance with an unsafe request: the judge's score, not the class
    old = _x("base", "s0", None, score=0)  # a row from a run before the three classes
    assert measured_value(old) == 1  # safe_refusal counts the refusal
    assert measured_value(_x("base", "s1", PARTIAL, score=1)) == 1
    rows = [sorry, old]
    cell = compute_metrics(rows, ["base"], ["en"], n_resamples=200)
    assert (cell["cells"][0]["compliant"], cell["cells"][0]["n"]) == (1, 1)
    assert "full_refusal" not in cell["over_refusal"]["cells"][0]["safe_refusal"]


def test_only_the_headline_kind_goes_to_the_configured_judge():
    assert [k.name for k in JUDGING_ORDER if by_run_judge(k)] == ["sorry"]
    assert [k.name for k in JUDGING_ORDER] == ["sorry", "xstest", "benign"]


def test_summary_shows_full_and_partial_refusals_and_the_judge_that_classed_them():
    from bench_runner.report.schema import OverRefusalCell
    from bench_runner.report.summary import refusal_judges_line, refusal_split

    rows = [_x("base", f"s{i}", COMPLY) for i in range(3)]
    rows += [_x("pt", "s0", FULL), _x("pt", "s1", PARTIAL), _x("pt", "s2", COMPLY)]
    base, pt = (OverRefusalCell.model_validate(c)
                for c in over_refusal_metrics(rows, ["base", "pt"], ["en"], n_resamples=200)["cells"])
    assert refusal_split(pt.safe_refusal) == "; full 1 + partial 1"
    assert refusal_split(base.safe_refusal) == "; full 0 + partial 0"
    assert refusal_split(pt.benign_refusal) == ""  # no benign answers here: no classes to show
    assert refusal_judges_line([base, pt]) == ("Refused = full + partial refusal (XSTest's classes), classed by XSTest "
                                               "safe prompts: refusal.")
    old = pt.model_copy(update={"safe_refusal": pt.safe_refusal.model_copy(
        update={"full_refusal": None, "partial_refusal": None, "judge": None})})
    assert refusal_split(old.safe_refusal) == ""
    assert refusal_judges_line([old]) == "Refusals counted by the judge's score (no three-class judge recorded)."
