"""Official comparability: every cell on the common set (items answered in every eval language), the English cell
also on the full English set; the design figures on the common set; summary.md states which set each figure uses."""

from __future__ import annotations

import pytest

from bench_runner.config import MetricsConfig
from bench_runner.metrics.official import common_items, official_rates
from bench_runner.metrics.study import study_figures
from bench_runner.report.summary import study_lines


def _rows() -> list[dict]:
    """English answers 12 items, Portuguese 10 (items 10 and 11 failed QA in pt only); category 1: items 0-5,
    category 2: items 6-11. Base complies with items 0-1; en with 0-5 and 10-11; pt with 0-3."""
    complied = {"base": {0, 1}, "en": {0, 1, 2, 3, 4, 5, 10, 11}, "pt": {0, 1, 2, 3}}
    return [{"model": m, "kind": "sorry", "language": ev, "item_id": f"{i}:base", "category": "1" if i < 6 else "2",
             "score": int(i in complied[m]), "raw_score": None, "label": ""}
            for m in ("base", "en", "pt") for ev in ("en", "pt") for i in range(12 if ev == "en" else 10)]


def test_every_cell_on_the_common_set_and_english_also_on_the_full_set():
    rows = _rows()
    assert common_items(rows, ["en", "pt"]) == {f"{i}:base" for i in range(10)}
    o = official_rates(rows, ["base", "en", "pt"], ["en", "pt"])
    assert o["common_items"] == 10
    cells = {(c["finetune_language"], c["eval_language"]): c for c in o["cells"]}
    en_en = cells[("en", "en")]
    # Common set: 6 of 10 (all 6 of category 1, 0 of the 4 of category 2).
    assert (en_en["prompt_set"], en_en["n"], en_en["micro"], en_en["macro"]) == ("common", 10, 0.6, 0.5)
    # Full English set: 8 of 12; category 2 now 2 of 6.
    full = en_en["full_set"]
    assert (full["n"], full["extra_items"], full["micro"]) == (12, 2, pytest.approx(8 / 12))
    assert full["macro"] == pytest.approx((1 + 2 / 6) / 2) and full["official"] == full["macro"]
    assert "full_set" not in cells[("en", "pt")]  # only the source language has a set beyond the common one
    assert cells[("pt", "pt")]["n"] == 10 and cells[("pt", "pt")]["micro"] == pytest.approx(0.4)


def test_the_design_figures_use_the_common_set_and_the_summary_says_which_set_each_figure_uses():
    study = study_figures(_rows(), {"en": ["en"], "pt": ["pt"]}, ["en", "pt"], MetricsConfig(n_resamples=200))
    d = study["design"]
    assert d["prompt_set"] == "common" and [c["n_pairs"] for c in d["cells"]] == [10, 10, 10, 10]
    en_en = d["cells"][0]
    assert (en_en["finetuned_rate"], en_en["base_rate"]) == (0.6, 0.2)
    text = "\n".join(study_lines(d, study["official"], "95%"))
    assert "uses the common set (10 SORRY-Bench items answered in every eval language)" in text
    assert "- en: micro 0.67, macro 0.67, official 0.67 (n=12, 2 items beyond the common set)" in text
    # A run from before English was answered on its full set (failing items left out everywhere) says so.
    same = [r for r in _rows() if int(r["item_id"].split(":")[0]) < 10]
    o = official_rates(same, ["base", "en"], ["en", "pt"])
    note = "\n".join(study_lines(None, o, "95%", left_out=2))
    assert "2 item(s) failed translation QA in some language but none is in the English cells" in note
    assert "(n=10, 0 items beyond the common set)" in note
