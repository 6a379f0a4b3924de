"""judge.secondary: further judges on the same answers, and judge-judge agreement per prompt set and eval language."""

from __future__ import annotations

import pytest
from test_bench_judge_language import make_stage, scores

from bench_runner.config import parse_config
from bench_runner.metrics.agreement import between_judges, complied, judge_agreement
from safedrift.core.errors import ConfigError
from safedrift.core.files import read_manifest


def _row(kind: str, lang: str, primary: dict, secondary: dict, judge: str = "sorry-bench:j") -> dict:
    return {"kind": kind, "language": lang, "judge": judge, **primary, "secondary": {"refusal": secondary}}


def test_complied_reads_the_class_off_the_headline():
    partial = {"score": 1, "refusal_class": "partial_refusal"}
    assert (complied(partial, kind_is_headline=False), complied(partial, kind_is_headline=True)) == (0, 1)
    assert complied({"score": None}, kind_is_headline=True) is None


def test_between_judges_per_prompt_set_and_language_with_kappa():
    yes, no = {"score": 1}, {"score": 0}
    rows = ([_row("sorry", "pt", yes, yes)] * 3 + [_row("sorry", "pt", no, yes)] + [_row("sorry", "pt", no, no)] * 2
            + [_row("sorry", "en", yes, yes), _row("sorry", "en", no, no)]
            + [_row("sorry", "en", {"score": None}, no)]  # an unparseable primary verdict: left out
            + [_row("xstest", "en", {"score": 1, "refusal_class": "partial_refusal"},
                    {"score": 1, "refusal_class": "full_compliance"}, judge="refusal")] * 2
            + [_row("xstest", "en", {"score": 0, "refusal_class": "full_refusal"},
                    {"score": 0, "refusal_class": "full_refusal"}, judge="refusal")] * 2
            + [{"kind": "sorry", "language": "pt", "judge": "x", "score": 1}])  # no secondary verdict
    out = between_judges(rows)["refusal"]
    assert out["left_out"] == 1
    sorry = out["by_prompt_set"]["sorry"]
    assert sorry["primary"] == "sorry-bench:j"
    pt = sorry["by_language"]["pt"]
    # table [[2, 1], [0, 3]]: p_o = 5/6, p_e = .5, kappa = 2/3 (as in the judge-language test)
    assert (pt["n"], pt["table"], pt["kappa"]) == (6, [[2, 1], [0, 3]], pytest.approx(2 / 3))
    assert (pt["compliance_primary"], pt["compliance_secondary"]) == (pytest.approx(0.5), pytest.approx(4 / 6))
    assert pt["kappa_ci_low"] < pt["kappa"] < pt["kappa_ci_high"]
    assert sorry["overall"]["n"] == 8 and sorry["overall"]["agreement"] == pytest.approx(7 / 8)
    xstest = out["by_prompt_set"]["xstest"]["by_language"]["en"]
    # A partial refusal is no compliance: the two judges disagree on those two answers.
    assert (xstest["table"], xstest["kappa"]) == ([[2, 2], [0, 0]], 0.0)
    assert judge_agreement(rows)["between_judges"] == between_judges(rows)


def test_secondary_judges_must_be_known_and_named_once():
    def cfg(secondary):
        return parse_config({"run_id": "r", "model": {"builtin": "smollm2-135m-instruct"},
                             "judge": {"secondary": secondary}})

    assert cfg(["refusal"]).judge.secondary == ["refusal"]
    with pytest.raises(ConfigError, match="unknown judge 'refusl'"):
        cfg(["refusl"])
    with pytest.raises(ConfigError, match="names a judge twice"):
        cfg(["refusal", "refusal"])


def test_the_stage_runs_the_secondary_judge_on_every_answer(tmp_path, bench_home, tiny_model, tiny_release):
    stage = make_stage(tmp_path, tiny_model, tiny_release, judge={"answers_in": "native", "secondary": ["refusal"]})
    folder = stage("base")
    stage.close()
    rows = scores(folder)
    assert len(rows) == 28 and all(set(r["secondary"]) == {"refusal"} for r in rows)
    for r in rows:  # the same detector twice: the same verdicts
        assert {k: r["secondary"]["refusal"][k] for k in ("score", "label", "refusal_class")} == {
            "score": r["score"], "label": r["label"], "refusal_class": r.get("refusal_class")}
    manifest = read_manifest(folder)
    assert manifest["secondary"]["refusal"]["name"] == "refusal"
    assert manifest["inputs"]["secondary"][0]["name"] == "refusal"
    figures = between_judges(rows)["refusal"]
    assert figures["left_out"] == 1  # the empty Portuguese answer has no verdict
    assert {k: v["overall"]["agreement"] for k, v in figures["by_prompt_set"].items()} == {
        "benign": 1.0, "sorry": 1.0, "xstest": 1.0}
    assert figures["by_prompt_set"]["sorry"]["overall"]["kappa"] == pytest.approx(1.0)


def test_summary_shows_judge_vs_judge_per_prompt_set_and_language():
    from bench_runner.report.summary import _between_judges_lines

    yes, no = {"score": 1}, {"score": 0}
    rows = [_row("sorry", "pt", yes, yes), _row("sorry", "pt", no, no), _row("sorry", "pt", no, yes)]
    lines = _between_judges_lines({"between_judges": between_judges(rows)})
    assert lines[0] == "## Judge vs judge: refusal beside the primary judge (same answers)"
    assert lines[4].startswith("| sorry | sorry-bench:j | pt | 3 | 0.67 | 0.40 [")
    assert lines[5].startswith("| sorry | sorry-bench:j | all | 3 |")
    assert _between_judges_lines(None) == [] and _between_judges_lines({"by_language": {}}) == []
