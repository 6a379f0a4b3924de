"""The matplotlib plumbing the report's figures share: a headless backend, PNG bytes written atomically, the
"not measured" panel, one colour per model, grouped bars with CIs and significance stars."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from bench_runner.config import BASE
from safedrift.core.files import atomic_write_bytes

DPI = 150


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


def placeholder(path: Path, title: str, reason: str) -> Path:
    """A short panel saying why a figure has nothing to show, so every figure file always exists."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.2))
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    ax.text(0.5, 0.5, f"not measured: {reason}", ha="center", va="center", fontsize=9, wrap=True)
    return save_png(fig, path)


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
