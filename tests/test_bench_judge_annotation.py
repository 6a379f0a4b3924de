"""People's labels: a stratified, blind sheet per eval language from a run, read back into judge-human agreement."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest
from test_bench_judge_language import REFUSAL, make_stage

from bench_runner.judge.annotation import (
    SHEET_COLUMNS,
    annotate_run,
    draw,
    parse_label,
    read_sheets,
    verdict_stratum,
)
from bench_runner.metrics.agreement import judge_human_agreement, labels_report
from safedrift.core.errors import DataError


def _score(i: int, kind: str, lang: str = "en", score: int | None = 1, klass: str | None = None) -> dict:
    row = {"uid": f"{kind}:{lang}:{i}", "model": "base", "kind": kind, "language": lang, "item_id": str(i),
           "score": score, "judge": "refusal"}
    if klass:
        row["refusal_class"] = klass
    return row


def test_draw_gives_every_stratum_an_answer_and_the_rest_by_size():
    rows = ([_score(i, "sorry") for i in range(8)] + [_score(i, "sorry", score=0) for i in range(8, 10)]
            + [_score(i, "xstest", klass="full_compliance") for i in range(5)]
            + [_score(i, "xstest", score=0, klass="full_refusal") for i in range(5, 9)]
            + [_score(9, "xstest", klass="partial_refusal")] + [_score(0, "sorry", lang="pt")])
    chosen = draw(rows, "en", 8, seed=1)
    strata = Counter((r["kind"], verdict_stratum(r)) for r in chosen)
    assert strata == {("sorry", "complied"): 2, ("xstest", "full_compliance"): 2, ("xstest", "full_refusal"): 2,
                      ("sorry", "refused"): 1, ("xstest", "partial_refusal"): 1}
    assert len({r["uid"] for r in chosen}) == 8 and all(r["language"] == "en" for r in chosen)
    assert draw(rows, "en", 8, seed=1) == chosen and draw(rows, "en", 8, seed=2) != chosen
    assert len(draw(rows, "en", 100)) == 20
    with pytest.raises(DataError, match="no judged answers in 'th'"):
        draw(rows, "th", 5)


@pytest.mark.parametrize(("value", "label"), [("2", "full_refusal"), (" Partial refusal ", "partial_refusal"),
                                              ("1_full_compliance", "full_compliance"), ("", None)])
def test_labels_read_as_xstest_classes(value, label):
    assert parse_label(value) == label


def test_an_unknown_label_or_a_foreign_sheet_is_an_error(tmp_path):
    with pytest.raises(DataError, match="label 'maybe' is none of full_compliance"):
        parse_label("maybe")
    (tmp_path / "x.csv").write_text("uid,label\na,1\n", encoding="utf-8")
    with pytest.raises(DataError, match="has no column model, language"):
        read_sheets([tmp_path / "x.csv"])


def test_the_round_trip_on_a_judged_run(tmp_path, bench_home, tiny_model, tiny_release):
    stage = make_stage(tmp_path, tiny_model, tiny_release)
    judged, generated = stage("base"), stage.generate("base")
    run = stage.ctx.run_dir
    (run / "results.json").write_text(json.dumps({"stage_keys": {"judge": {"base": judged.name},
                                                                 "generate": {"base": generated.name}}}))
    csv_path, jsonl_path = annotate_run(run, "pt", 10, seed=0)
    with open(csv_path, encoding="utf-8", newline="") as f:
        sheet = list(csv.DictReader(f))
    assert tuple(sheet[0]) == SHEET_COLUMNS and len(sheet) == 10
    assert [json.loads(line) for line in jsonl_path.read_text(encoding="utf-8").splitlines()] == sheet
    assert not any("score" in c or "judge" in c for c in sheet[0])  # blind: no verdicts on the sheet
    assert {r["kind"] for r in sheet} == {"sorry", "xstest", "benign"}
    sorry_pt = [r for r in sheet if r["kind"] == "sorry" and r["answer"]]
    assert sorry_pt and all(r["answer_english"] for r in sorry_pt)  # the back-translation beside the answer
    # Two people label the sheet: one as the written answers are meant (refusals refuse), the other disagrees
    # once; one row is left blank.
    for r in sheet:
        r["label"] = "2" if r["answer"] == REFUSAL["pt"] else "1_full_compliance"
    first = [dict(r, annotator="ana") for r in sheet]
    second = [dict(r, annotator="bo") for r in sheet]
    second[0]["label"] = "3" if first[0]["label"] == "1_full_compliance" else "full compliance"
    second[1]["label"] = ""
    for name, rows in (("ana", first), ("bo", second)):
        with open(tmp_path / f"{name}.csv", "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=SHEET_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    report = labels_report(run, [tmp_path / "ana.csv", tmp_path / "bo.csv"])
    assert (report["labels"], report["blank_labels"], report["unmatched"]) == (19, 1, 0)
    pt = report["by_language"]["pt"]
    assert (pt["answers"], pt["annotators"]) == (10, ["ana", "bo"])
    refusal = pt["judges"]["refusal"]
    # ana agrees with the detector on every scored answer; bo differs once: 18 scored pairs minus the empty answer.
    empty = sum(1 for r in sheet if not r["answer"])
    assert refusal["unscored"] == 2 * empty - (1 if not sheet[1]["answer"] else 0)
    assert refusal["binary"]["n"] + refusal["unscored"] == 19
    assert refusal["binary"]["agreement"] == pytest.approx(1 - 1 / refusal["binary"]["n"])
    assert refusal["classes"]["order"] == ["full_compliance", "partial_refusal", "full_refusal"]
    assert pt["between_people"]["n"] == 9 and pt["between_people"]["agreement"] == pytest.approx(8 / 9)
    assert json.loads((run / "annotation" / "human_agreement.json").read_text()) == report


def test_people_against_a_judge_in_three_classes():
    scores = [_score(i, "xstest", klass=k, score=int(k == "full_compliance"))
              for i, k in enumerate(["full_compliance"] * 4 + ["full_refusal"] * 4 + ["partial_refusal"] * 2)]
    people = ["full_compliance"] * 4 + ["full_refusal"] * 3 + ["partial_refusal"] * 3
    labels = [{"uid": s["uid"], "model": "base", "language": "en", "label": lab, "annotator": "a"}
              for s, lab in zip(scores, people, strict=True)]
    labels.append({"uid": "nowhere", "model": "base", "language": "en", "label": "full_refusal", "annotator": "a"})
    out = judge_human_agreement(labels, scores)
    assert out["unmatched"] == 1
    got = out["by_language"]["en"]["judges"]["refusal"]
    assert got["classes"]["table"] == [[4, 0, 0], [0, 2, 1], [0, 0, 3]]
    # p_o = 9/10; p_e = .4*.4 + .3*.2 + .3*.4 = .34; kappa = (.9 - .34) / .66
    assert got["classes"]["kappa"] == pytest.approx((0.9 - 0.34) / 0.66)
    assert got["binary"]["kappa"] == pytest.approx(1.0) and out["by_language"]["en"]["between_people"] is None
