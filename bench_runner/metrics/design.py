"""The study's estimands on a grid of 0/1 verdicts, with the adapter (fine-tune language x training seed) as
the unit of replication: per cell the fold change against base (foldchange.py) with its seed spread, the
fine-tune-language heterogeneity and fine-tune x eval interaction tests (replicates.py), and the largest fold
change with a selection-aware interval (largest.py). results.json: metrics.design.

`adapters` maps each fine-tune language to the model labels of its adapters, one per seed ({"en": ["en"]} for a
one-seed run); `grid` holds the verdicts of every model label and of base, as stats.Grid."""

from __future__ import annotations

import numpy as np

from bench_runner.metrics.foldchange import FOLD_CHANGE_METHOD, fold_change
from bench_runner.metrics.largest import LARGEST_METHOD, max_t_intervals
from bench_runner.metrics.replicates import (
    empirical_logit,
    interaction_test,
    language_heterogeneity,
    seed_spread,
)
from bench_runner.metrics.stats import Grid


def verdict_cube(grid: Grid, models: list[str], eval_languages: list[str]) -> tuple[list[str], np.ndarray]:
    """(items, V[item, model, eval language]) with NaN where a model has no verdict for the item."""
    items = sorted({i for m in models for ev in eval_languages for i in grid.get((m, ev), {})})
    pos = {item: i for i, item in enumerate(items)}
    v = np.full((len(items), len(models), len(eval_languages)), np.nan)
    for k, m in enumerate(models):
        for e, ev in enumerate(eval_languages):
            cell = grid.get((m, ev), {})
            if cell:
                v[[pos[i] for i in cell], k, e] = list(cell.values())
    return items, v


def adapter_logits(cube: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """(adapter, eval) empirical logits on the prompts every adapter answered in that eval language, and the
    eval-language columns kept (those with at least one such prompt)."""
    complete = ~np.isnan(cube).any(axis=1)  # (item, eval)
    k = np.where(complete[:, None, :], np.nan_to_num(cube), 0.0).sum(axis=0)  # (adapter, eval)
    n = complete.sum(axis=0)  # (eval,)
    keep = [e for e in range(cube.shape[2]) if n[e] > 0]
    return empirical_logit(k[:, keep], n[keep]), keep


def design_figures(grid: Grid, adapters: dict[str, list[str]], eval_languages: list[str], base: str | None,
                   n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0) -> dict:
    """metrics.design: fold changes, seed spread, heterogeneity, interaction and the largest fold change."""
    languages = list(adapters)
    labels = [lab for lang in languages for lab in adapters[lang]]
    lang_of = [i for i, lang in enumerate(languages) for _ in adapters[lang]]
    models = labels + ([base] if base else [])
    items, cube = verdict_cube(grid, models, eval_languages)
    ft = cube[:, : len(labels), :]
    z, kept = adapter_logits(ft)
    out: dict = {"fold_change_method": FOLD_CHANGE_METHOD, "adapters": {k: list(v) for k, v in adapters.items()},
                 "n_seeds": max((len(v) for v in adapters.values()), default=0),
                 "heterogeneity": language_heterogeneity(z, lang_of, n_resamples, seed),
                 "interaction": interaction_test(z, lang_of, n_resamples, seed), "cells": [], "largest": None}
    if len(kept) < len(eval_languages):
        skipped = ", ".join(ev for e, ev in enumerate(eval_languages) if e not in kept)
        for test in ("heterogeneity", "interaction"):
            out[test]["note"] = (out[test]["note"] + f"; no prompt answered by every adapter in {skipped}").lstrip("; ")
    start, cells, arrays = 0, out["cells"], []
    for lang in languages:
        cols = list(range(start, start + len(adapters[lang])))
        start += len(cols)
        for e, ev in enumerate(eval_languages):
            y = ft[:, cols, e]
            # Each adapter's rate on the prompts it has a verdict for (an adapter with none is left out).
            spread = seed_spread([float(np.nanmean(y[:, j])) for j in range(len(cols)) if (~np.isnan(y[:, j])).any()])
            cell: dict = {"finetune_language": lang, "eval_language": ev, "seed_spread": spread}
            if base:
                x = cube[:, -1, e]
                rows = ~np.isnan(y).any(axis=1) & ~np.isnan(x)
                cell.update(fold_change(y[rows], x[rows], confidence))
                cell.update(ci_low_simultaneous=None, ci_high_simultaneous=None)
                if rows.any():
                    arrays.append((len(cells), y[rows], x[rows], np.flatnonzero(rows)))
            cells.append(cell)
    if not base:
        out["fold_change_method"] += " (not estimable: base is not among the models)"
        return out
    if arrays:
        sim = max_t_intervals([(y, x, idx) for _, y, x, idx in arrays], len(items), n_resamples, confidence, seed)
        for j, (c, *_) in enumerate(arrays):
            cells[c]["ci_low_simultaneous"] = float(np.exp(sim["low"][j]))
            cells[c]["ci_high_simultaneous"] = float(np.exp(sim["high"][j]))
        top = sim["largest"]
        cell = cells[arrays[top["cell"]][0]]
        out["largest"] = {"method": LARGEST_METHOD.format(n=len(arrays), b=n_resamples, conf=confidence, q=sim["q"]),
                          "finetune_language": cell["finetune_language"], "eval_language": cell["eval_language"],
                          "fold_change": float(np.exp(top["log_ratio"])),
                          "fold_change_corrected": float(np.exp(top["log_ratio_corrected"])),
                          "ci_low": float(np.exp(top["low"])), "ci_high": float(np.exp(top["high"])),
                          "q": sim["q"], "n_cells": len(arrays)}
    return out
