"""The report's figures read: no text runs into other text, a 0 % bar is visible, SORRY-Bench categories carry
their names, legends sit beside the data; summary.md has a per-layer drift table."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from bench_runner.metrics.compliance import compute_metrics
from bench_runner.report import figures
from bench_runner.report.layers import per_layer_lines
from bench_runner.report.plotting import ZERO_GID, ZERO_MARK, model_colors, short_name

NAMES = {1: "Personal Insulting Words", 2: "Social-group Insulting Words", 3: "Threatening Words",
         6: "Self-Harm", 7: "Violent Crimes", 12: "General Advice for System Intrusion", 25: "Advice on Adult Content",
         40: "Medical Advice"}


def _results() -> dict:
    """base never complies and never refuses a safe prompt: its bars are all 0 %; en and pt do."""
    rng = np.random.default_rng(0)
    rows = []
    for model, p in (("base", 0.0), ("en", 0.4), ("pt", 0.7)):
        for ev in ("en", "pt"):
            for i, cat in enumerate(NAMES):
                for rep in range(2):
                    rows.append({"model": model, "language": ev, "item_id": f"{i}-{rep}", "score": int(rng.random() < p),
                                 "kind": "sorry", "category": str(cat), "category_name": NAMES[cat], "label": ""})
            for i in range(8):
                rows.append({"model": model, "language": ev, "item_id": f"x{i}", "kind": "xstest",
                             "score": 1 if model == "base" else int(rng.random() < 0.5), "category": "homonyms"
                             if i < 5 else "contrast_homonyms", "category_name": "", "label": "",
                             "xstest_label": "safe" if i < 5 else "unsafe"})
    metrics = compute_metrics(rows, ["base", "en", "pt"], ["en", "pt"], n_resamples=200)
    return {"judge": {"name": "refusal"}, "model": {"label": "tiny"}, "finetune": {}, "metrics": metrics}


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """Draw one figure and return its matplotlib Figure (laid out, not closed)."""
    kept = []

    def keep(fig, path, **_):
        kept.append(fig)
        return path

    monkeypatch.setattr(figures, "save_png", keep)

    def draw(plot) -> object:
        plot(_results(), Path(tmp_path) / "x.png")
        fig = kept[-1]
        fig.canvas.draw()
        return fig
    return draw


def _boxes(fig, texts) -> list:
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in texts if t is not None and t.get_text()]


def _no_overlap(boxes) -> None:
    for a, b in combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)


def test_over_refusal_titles_do_not_overlap_and_the_legend_is_outside_the_panels(drawn):
    fig = drawn(figures.plot_over_refusal)
    titles = [fig._suptitle, *(ax.title for ax in fig.axes)]
    assert len(_boxes(fig, titles)) == 4
    _no_overlap(_boxes(fig, titles))
    renderer = fig.canvas.get_renderer()
    [legend] = fig.legends
    for ax in fig.axes:
        assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))


def test_zero_bars_are_marked_in_their_colour(drawn):
    fig = drawn(figures.plot_over_refusal)
    safe = fig.axes[0]  # XSTest safe prompts: base refuses none of them (0 % in both languages)
    marks = [line for line in safe.lines if line.get_gid() == ZERO_GID]
    assert {line.get_marker() for line in marks} == {ZERO_MARK}
    base = model_colors(["base", "en", "pt"])["base"]
    ys = [y for line in marks if line.get_color() == base for y in line.get_ydata()]
    assert ys == [0.0, 0.0] and all(line.get_clip_on() is False for line in marks)
    zero_bars = sum(1 for patch in safe.patches if patch.get_height() == 0)
    assert zero_bars == sum(len(line.get_xdata()) for line in marks) >= 2


def test_sorry_domains_names_categories_and_keeps_domain_labels_apart(drawn):
    fig = drawn(figures.plot_sorry_domains)
    heat, bars = fig.axes[0], fig.axes[1]
    ticks = [t.get_text() for t in heat.get_xticklabels()]
    assert ticks[0] == "1 Personal Insulting Words" and ticks[-1] == "40 Medical Advice"
    assert "12 " + short_name("General Advice for System Intrusion") in ticks
    domains = [t for t in heat.texts if t.get_text() in {"Hate Speech Generation", "Crimes or Torts",
                                                       "Inappropriate Topics", "Unqualified Advice"}]
    assert len(domains) == 4
    _no_overlap(_boxes(fig, [fig._suptitle, heat.title, *domains]))
    renderer = fig.canvas.get_renderer()
    legend = bars.get_legend()
    assert not legend.get_window_extent(renderer).overlaps(bars.get_window_extent(renderer))
    # base's domain rates are 0 %: marked, not invisible
    assert any(line.get_gid() == ZERO_GID for line in bars.lines)


def test_delta_compliance_title_fits_and_the_legend_is_beside(drawn):
    fig = drawn(figures.plot_delta_compliance)
    [ax] = [a for a in fig.axes if a.get_legend()]
    renderer = fig.canvas.get_renderer()
    assert not ax.get_legend().get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    assert ax.title.get_window_extent(renderer).width <= fig.get_window_extent(renderer).width


def test_summary_has_a_drift_per_layer_table():
    def cell(ft, ev, drift, seed_of=None):
        per_layer = {"dcka_content": [1.0 - d for d in drift]}
        return {"finetune_language": ft, "eval_language": ev, "top_layers": [3, 4], "per_layer": per_layer,
                "adapter": {"language": seed_of or ft, "seed": 0}}

    rep = {"cells": [cell("en", "en", [0.0, 0.1, 0.3, 0.2]), cell("en", "pt", [0.0, 0.1, 0.5, 0.2]),
                     cell("en-seed1", "en", [0.0, 0.1, 0.1, 0.2], seed_of="en"),
                     cell("pt", "en", [0.1, 0.0, 0.0, 0.4])]}
    lines = per_layer_lines(rep)
    table = [line for line in lines if line.startswith("| ")]
    assert table[0] == "| layer | en | pt |"
    assert table[1:] == ["| 1 | 0.000 | 0.100 |", "| 2 | 0.100 | 0.000 |", "| 3 * | **0.300** | 0.000 |",
                         "| 4 * | 0.200 | **0.400** |"]  # en: the mean of its three cells, peak at layer 3
    assert per_layer_lines({"cells": []}) == []
