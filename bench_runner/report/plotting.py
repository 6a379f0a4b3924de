"""The matplotlib plumbing the report's figures share: a headless backend, PNG bytes written atomically, the
"not measured" panel, one colour per model, grouped bars with CIs and significance stars (a zero-height bar keeps a
visible mark), legends beside the data rather than on it, and titles wrapped to the width they have."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bench_runner.config import BASE
from safedrift.core.files import atomic_write_bytes

DPI = 150
# A character of a small label is about this many points wide (DejaVu Sans, the default font): titles are wrapped to
# the width of their axes or figure with it, so neighbouring titles do not run into each other.
CHAR_WIDTH = 0.55
ZERO_MARK = "_"  # the marker drawn on a zero-height bar, in the bar's colour
ZERO_GID = "zero-bar"  # the id of those markers (error-bar caps are "_" markers too)


def stars(p: float | None) -> str:
    if p is None:
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: Path, dpi: int = DPI, bbox_inches: str | None = "tight") -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches=bbox_inches)
    pyplot().close(fig)
    return atomic_write_bytes(path, buf.getvalue())


class EmptyFigure(NamedTuple):
    """A figure drawn as a placeholder panel: its file and why it had nothing to plot (a run warning)."""
    path: Path
    reason: str


Drawn = Path | EmptyFigure  # what a plot function returns


def placeholder(path: Path, title: str, reason: str) -> EmptyFigure:
    """A short panel saying why a figure has nothing to show, so every figure file always exists."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.2))
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    ax.text(0.5, 0.5, f"not measured: {reason}", ha="center", va="center", fontsize=9, wrap=True)
    return EmptyFigure(save_png(fig, path), reason)


def model_colors(names: list[str]) -> dict[str, tuple]:
    """One colour per model, the same in every figure: base is always the first (blue)."""
    cmap = pyplot().get_cmap("tab10")
    order = [BASE] + [n for n in names if n != BASE]
    return {n: cmap(i % 10) for i, n in enumerate(order)}


def grouped_bars(ax, groups: list[str], series: list[str], value, err=None, mark=None, scale: float = 100.0):
    """Bars per series within each group; value(series, group) -> float|None, err -> (lo, hi)|None,
    mark -> text above the bar."""
    colors = model_colors(series)
    ax.margins(y=0.12)
    width = 0.8 / max(1, len(series))
    for k, s in enumerate(series):
        xs, ys, lo, hi, texts = [], [], [], [], []
        for g, group in enumerate(groups):
            v = value(s, group)
            if v is None:
                continue
            x = g - 0.4 + width * (k + 0.5)
            xs.append(x)
            ys.append(v * scale)
            e = err(s, group) if err else None
            lo.append((v - e[0]) * scale if e and e[0] is not None else 0.0)
            hi.append((e[1] - v) * scale if e and e[1] is not None else 0.0)
            texts.append((x, v * scale, e[1] * scale if e and e[1] is not None else v * scale,
                          mark(s, group) if mark else ""))
        ax.bar(xs, ys, width, yerr=[np.maximum(lo, 0), np.maximum(hi, 0)] if err else None, capsize=2,
               color=colors[s], label=s, error_kw={"elinewidth": 0.8})
        zeros = [x for x, y in zip(xs, ys, strict=True) if y == 0]
        if zeros:  # a 0 % bar has no height: a thick dash in its colour says it was measured and is zero
            ax.plot(zeros, [0.0] * len(zeros), linestyle="none", marker=ZERO_MARK, markersize=max(4.0, 40 * width),
                    markeredgewidth=3, color=colors[s], clip_on=False, zorder=3, gid=ZERO_GID)
        for x, v, top, text in texts:
            if text:
                ax.text(x, max(top, v) + 1.0, text, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(groups)), groups)
    ax.axhline(0, color="black", linewidth=0.6)


def n_text(ns: list[int]) -> str:
    """ "n=40" or "n=12–40": the range of the denominators behind a figure."""
    ns = [n for n in ns if n]
    if not ns:
        return "n=0"
    return f"n={min(ns)}" if min(ns) == max(ns) else f"n={min(ns)}–{max(ns)}"


def wrapped(text: str, width_inches: float, fontsize: float) -> str:
    """`text` with its lines wrapped to fit `width_inches` at `fontsize` (existing line breaks kept)."""
    chars = max(12, int(width_inches * 72 / (CHAR_WIDTH * fontsize)))
    return "\n".join(textwrap.fill(line, chars) if line else line for line in text.split("\n"))


def legend_beside(ax, title: str, fontsize: float = 7):
    """The legend to the right of the axes, outside the data (save_png's tight bounding box keeps it in the PNG)."""
    return ax.legend(title=title, fontsize=fontsize, title_fontsize=fontsize, loc="upper left",
                     bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def short_name(text: str, limit: int = 28) -> str:
    """A label cut to `limit` characters (an ellipsis marks the cut), for tick labels."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,-") + "…"


def stagger(fig, labels: list, step: float) -> int:
    """Raise each label (annotations above an axes, offset in points) by `step` points per row until it overlaps no
    label of its row, left to right; returns the number of rows used."""
    fig.canvas.draw()  # the layout is done: the labels' extents are final
    renderer = fig.canvas.get_renderer()
    rows: list[list] = []
    for label in labels:
        box = label.get_window_extent(renderer).expanded(1.1, 1.0)
        row = next((i for i, placed in enumerate(rows) if not any(box.overlaps(b) for b in placed)), len(rows))
        if row == len(rows):
            rows.append([])
        rows[row].append(box)
        label.xyann = (0, 3 + step * row)
    return len(rows)
