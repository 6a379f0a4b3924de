"""Drift per layer, one curve per fine-tune language (its adapters, one per training seed, and its eval languages
averaged): the lines of drift_per_layer.png and the per-layer table of summary.md, from the same numbers."""

from __future__ import annotations

import numpy as np

# The headline measure per layer, and the one runs from before debiased CKA have.
HEADLINE = "dcka_content"
OLD_HEADLINE = "cka_mean"
LABELS = {"dcka_content": "debiased CKA over the user's content tokens", "cka_mean": "linear CKA, mean-pooled"}


def finetune_language(cell: dict) -> str:
    """The fine-tune language of a representation cell (a replicate adapter `en-seed1` counts as `en`)."""
    return (cell.get("adapter") or {}).get("language") or cell["finetune_language"]


def curves_by_language(cells: list[dict], key: str) -> dict[str, np.ndarray]:
    """Per fine-tune language, in the cells' order: its cells' per-layer similarities (cells x layers)."""
    out: dict[str, list] = {}
    for cell in cells:
        out.setdefault(finetune_language(cell), []).append(cell["per_layer"][key])
    return {lang: np.array(curves, dtype=float) for lang, curves in out.items()}


def headline_key(cells: list[dict]) -> str:
    return HEADLINE if all(HEADLINE in c["per_layer"] for c in cells) else OLD_HEADLINE


def per_layer_lines(rep: dict) -> list[str]:
    """summary.md's table: drift (1 - similarity) per layer and fine-tune language, the top third marked and each
    language's largest in bold; answers "which layers drifted?" without opening the arrays."""
    cells = rep.get("cells") or []
    if not cells:
        return []
    key = headline_key(cells)
    drift = {lang: 1.0 - np.nanmean(curves, axis=0) for lang, curves in curves_by_language(cells, key).items()}
    top = set(cells[0]["top_layers"])
    langs = list(drift)
    lines = ["", f"Drift per layer (1 − {LABELS[key]}; mean over eval languages and seeds, the lines of "
                 "drift_per_layer.png); * marks the top third of the layers the headline averages, bold each "
                 "fine-tune language's largest:", "",
             "| layer | " + " | ".join(langs) + " |", "|---|" + "---|" * len(langs)]
    peak = {lang: int(np.nanargmax(d)) if np.isfinite(d).any() else -1 for lang, d in drift.items()}
    for i in range(len(next(iter(drift.values())))):
        row = []
        for lang in langs:
            value = drift[lang][i]
            text = "–" if not np.isfinite(value) else f"{value:.3f}"
            row.append(f"**{text}**" if i == peak[lang] else text)
        lines.append(f"| {i + 1}{' *' if i + 1 in top else ''} | " + " | ".join(row) + " |")
    return lines
