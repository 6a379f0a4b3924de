"""People's labels on the command line: `safedrift bench annotate RUN` writes the sheet, `safedrift bench labels RUN
SHEET...` stores the filled sheets in the run and puts judge-human agreement into results.json and summary.md; a
later report stage reads the stored sheets again."""

from __future__ import annotations

import csv
import json

import pytest

from bench_runner.judge.annotation import SHEET_COLUMNS
from bench_runner.metrics.agreement import HUMAN_HEADING, LABELS_DIR, labels_key, stored_human_agreement
from safedrift.cli import main
from safedrift.core.errors import DataError
from safedrift.core.files import atomic_write_jsonl

FC, PR, FR = "full_compliance", "partial_refusal", "full_refusal"
# uid -> (kind, the primary judge's score, its class, the guard's class, ana's label, bo's label). ana and the
# refusal detector differ on s4 (binary) and x8 (partial vs full); bo differs from ana on s2.
ANSWERS = {
    "s1": ("sorry", 1, None, FC, FC, FC), "s2": ("sorry", 1, None, FC, FC, PR),
    "s3": ("sorry", 0, None, FR, FR, FR), "s4": ("sorry", 0, None, FC, FC, FC),
    "x5": ("xstest", 1, FC, FC, FC, FC), "x6": ("xstest", 0, FR, FR, FR, FR),
    "x7": ("xstest", 0, PR, FR, PR, PR), "x8": ("xstest", 0, FR, FR, PR, PR),
}


@pytest.fixture
def run_dir(tmp_path):
    """A finished run folder as far as annotate / labels read it: results.json's stage keys, one judge and one
    generate folder of the base model in Thai, and a summary.md."""
    run = tmp_path / "runs" / "r"
    scores, samples = [], []
    for uid, (kind, score, klass, guard, _, _) in ANSWERS.items():
        row = {"uid": uid, "model": "base", "kind": kind, "language": "th", "item_id": uid, "score": score,
               "label": "complied" if score else "refused", "judge": "refusal",
               "secondary": {"qwen3guard": {"score": int(guard == FC), "refusal_class": guard,
                                            "judge": "qwen3guard:tiny"}}}
        if klass:
            row["refusal_class"] = klass
        if kind == "sorry":
            row["answer_english"] = f"English of {uid}"
        scores.append(row)
        samples.append({"uid": uid, "model": "base", "messages": [{"role": "user", "content": f"prompt {uid}"}],
                        "response": f"คำตอบ {uid}"})
    atomic_write_jsonl(run / "judge" / "base-j" / "scores.jsonl", scores)
    atomic_write_jsonl(run / "generate" / "base-g" / "samples.jsonl", samples)
    results = {"run_id": "r", "metrics": {"cells": [], "judge_agreement": None},
               "stage_keys": {"judge": {"base": "base-j"}, "generate": {"base": "base-g"}}}
    (run / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (run / "summary.md").write_text("# safedrift benchmark: r\n\n## Figures\n", encoding="utf-8")
    return run


def _fill(sheet_csv, path, annotator: str, column: int) -> None:
    with open(sheet_csv, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r.update(label=ANSWERS[r["uid"]][column], annotator=annotator)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SHEET_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def test_annotate_then_labels_on_the_command_line(run_dir, tmp_path, capsys):
    assert main(["bench", "annotate", str(run_dir), "--language", "th", "--n", "8"]) == 0
    sheet = run_dir / "annotation" / "th-sheet.csv"
    assert capsys.readouterr().out.splitlines()[:2] == [str(sheet), str(sheet.with_suffix(".jsonl"))]
    with open(sheet, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["uid"] for r in rows) == sorted(ANSWERS) and tuple(rows[0]) == SHEET_COLUMNS
    assert {r["uid"]: r["answer_english"] for r in rows if r["kind"] == "sorry"} == {
        u: f"English of {u}" for u in ("s1", "s2", "s3", "s4")}
    assert all(r["label"] == "" and r["prompt"] == f"prompt {r['uid']}" for r in rows)

    _fill(sheet, tmp_path / "ana.csv", "ana", 4)
    assert main(["bench", "labels", str(run_dir), str(tmp_path / "ana.csv")]) == 0
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    human = results["metrics"]["human_agreement"]
    assert (human["labels"], human["blank_labels"], human["unmatched"], human["sheets"]) == (8, 0, 0, ["ana.csv"])
    th = human["by_language"]["th"]
    refusal, guard = th["judges"]["refusal"], th["judges"]["qwen3guard:tiny"]
    # Binary (complied or not): people [[4, 0], [1, 3]] against the detector: p_o = 7/8, p_e = 1/2, kappa = 3/4.
    assert (refusal["binary"]["table"], refusal["binary"]["kappa"]) == ([[4, 0], [1, 3]], pytest.approx(0.75))
    assert refusal["binary"]["kappa_ci_low"] < 0.75 < refusal["binary"]["kappa_ci_high"]
    # Three classes on the XSTest answers: p_o = 3/4, p_e = 5/16, kappa = 7/11.
    assert refusal["classes"]["table"] == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    assert refusal["classes"]["kappa"] == pytest.approx(7 / 11)
    # The guard agrees with ana on compliance throughout; in classes it has no partial refusal: kappa 0.6.
    assert guard["binary"]["kappa"] == pytest.approx(1.0) and guard["classes"]["kappa"] == pytest.approx(0.6)
    assert th["between_people"] is None
    assert results["metrics"]["cells"] == [] and results["stage_keys"]["judge"] == {"base": "base-j"}
    summary = (run_dir / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("# safedrift benchmark: r\n\n## Figures\n\n" + HUMAN_HEADING)
    assert "| th | refusal | 8 | 8 | 0.88 | 0.75 [" in summary
    assert "| partial_refusal | 0 | 1 | 1 |" in summary

    # A second person's sheet joins the stored one: the judges are measured on both, the people against each other.
    _fill(sheet, tmp_path / "bo.csv", "bo", 5)
    assert main(["bench", "labels", str(run_dir), str(tmp_path / "bo.csv")]) == 0
    human = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))["metrics"]["human_agreement"]
    assert human["labels"] == 16 and sorted(p.name for p in (run_dir / LABELS_DIR).iterdir()) == ["ana.csv", "bo.csv"]
    th = human["by_language"]["th"]
    # [[8, 1], [2, 5]]: p_o = 13/16, p_e = 132/256, kappa = 19/31; ana vs bo [[4, 0], [1, 3]]: kappa 3/4.
    assert th["judges"]["refusal"]["binary"]["kappa"] == pytest.approx(19 / 31)
    assert th["between_people"]["kappa"] == pytest.approx(0.75) and th["annotators"] == ["ana", "bo"]
    summary = (run_dir / "summary.md").read_text(encoding="utf-8")
    assert summary.count(HUMAN_HEADING) == 1 and "| th | refusal | 8 | 16 | 0.81 | 0.61 [" in summary
    assert json.loads((run_dir / "annotation" / "human_agreement.json").read_text(encoding="utf-8")) == human

    # The report stage reads the stored sheets against the judge folders it is given: the same figures.
    assert stored_human_agreement(run_dir, {"base": run_dir / "judge" / "base-j"}) == human
    assert set(labels_key(run_dir)) == {"ana.csv", "bo.csv"}


def test_a_sheet_with_an_unknown_label_stores_nothing(run_dir, tmp_path):
    assert main(["bench", "annotate", str(run_dir), "--language", "th", "--n", "3"]) == 0
    _fill(run_dir / "annotation" / "th-sheet.csv", tmp_path / "ana.csv", "ana", 4)
    text = (tmp_path / "ana.csv").read_text(encoding="utf-8")
    (tmp_path / "ana.csv").write_text(text.replace(",full_refusal,", ",maybe,", 1).replace(
        ",full_compliance,", ",maybe,", 1), encoding="utf-8")
    with pytest.raises(DataError, match="label 'maybe' is none of"):
        main(["bench", "labels", str(run_dir), str(tmp_path / "ana.csv")])
    assert not (run_dir / LABELS_DIR).exists()
    assert stored_human_agreement(run_dir, {"base": run_dir / "judge" / "base-j"}) is None


def test_the_report_writes_the_same_section_last(run_dir, tmp_path):
    from bench_runner.metrics.agreement import human_agreement_lines
    from bench_runner.report.schema import Metrics, Results
    from bench_runner.report.summary import summary_markdown

    assert main(["bench", "annotate", str(run_dir), "--language", "th", "--n", "8"]) == 0
    _fill(run_dir / "annotation" / "th-sheet.csv", tmp_path / "ana.csv", "ana", 4)
    assert main(["bench", "labels", str(run_dir), str(tmp_path / "ana.csv")]) == 0
    figures = stored_human_agreement(run_dir, {"base": run_dir / "judge" / "base-j"})
    metrics = Metrics(cells=[], categories=[], ci_method="wilson", paired_method="-", confidence=0.95,
                      n_resamples=100, seed=0, human_agreement=figures)
    results = Results(schema_version="1.3", run_id="r", created="now", config={}, versions={}, seeds={}, hardware={},
                      model={"label": "m"}, judge={"name": "refusal"}, finetune={}, generation={}, metrics=metrics,
                      stage_keys={})
    text = summary_markdown(results)
    assert text.endswith("\n".join(human_agreement_lines(figures))) and text.count(HUMAN_HEADING) == 1
    assert text.endswith((run_dir / "summary.md").read_text(encoding="utf-8").split("## Figures\n\n")[1])
