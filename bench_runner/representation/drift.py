"""Representational drift: how far fine-tuning moved the model's hidden states on a fixed probe set.

Per (fine-tune, eval language) cell and layer, the base and fine-tuned states of the same probes are compared
(bench_runner.representation.states for the states, .similarity for the estimators): the mean cosine similarity
of a probe's two vectors, linear CKA, and debiased linear CKA, for each pooling. The headline is drift =
1 - debiased CKA over the user's content tokens, averaged over the top third of the layers, with a bootstrap CI
over probes. The bootstrap draws are the same for every model on one eval language's probes, so differences
between fine-tune languages are paired bootstrap differences (bench_runner.representation.aggregate).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench_runner.representation.aggregate import FLOOR_KEYS, HEADLINE, aggregate_drift, noise_floor
from bench_runner.representation.similarity import (
    bootstrap_counts,
    cosine_similarity,
    debiased_cka_from_grams,
    gram,
    linear_cka,
)
from bench_runner.representation.states import POOLINGS
from safedrift.core.files import atomic_write_bytes

__all__ = ["HEADLINE", "METHOD", "POOLINGS", "compare", "cosine_similarity", "linear_cka", "save_arrays",
           "summarize", "top_layers"]

METHOD = (
    "hidden states of every transformer block (the raw residual stream after the block; the final norm's output is "
    "reported apart as final_norm) for probes rendered with the chat template and the generation prompt, pooled over "
    "the user's content tokens (template, BOS and generation prompt excluded), at the last prompt token, and over "
    "every prompt token (mean, as before); per layer: mean cosine similarity between a probe's base and fine-tuned "
    "vectors, linear CKA (Kornblith et al. 2019) and debiased linear CKA (unbiased HSIC, Song et al. 2012; about 0 "
    "for independent representations where plain CKA is 0.955 at 96 probes x 2,048 dims); top = mean over the top "
    "third of the layers; drift = 1 - similarity; CIs: percentile bootstrap over probes (duplicate draws never "
    "paired with themselves), the same draws for every model on an eval language's probes"
)
MEASURES = ("cosine", "cka", "dcka")
CI_KEYS = tuple(f"{m}_{p}_top" for p in ("content", "last") for m in ("cosine", "dcka"))
# Below this many probes a resample holds too few distinct probes for the unbiased HSIC (it needs 4) and the
# bootstrap of debiased CKA is degenerate: the cell gets no CI (and joins no aggregate).
MIN_PROBES_FOR_CI = 20


def top_layers(n_layers: int) -> list[int]:
    """Indices (0-based, into the per-layer arrays) of the top third of the layers."""
    k = max(1, math.ceil(n_layers / 3))
    return list(range(n_layers - k, n_layers))


def _similarities(b: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
    """[n, d] base and fine-tuned states of one layer -> per-probe cosine, CKA, debiased CKA."""
    return {"cosine": cosine_similarity(b, t), "cka": np.array(linear_cka(b, t)),
            "dcka": debiased_cka_from_grams(gram(b), gram(t))}


def compare(base: dict[str, np.ndarray], tuned: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per pooling the states have: per-layer cosine (mean over probes), CKA and debiased CKA, and the per-probe
    cosines ([layers, n]); the final norm's output, when given, under final_norm_<measure>_<pooling>."""
    out: dict[str, np.ndarray] = {}
    for pool in [p for p in POOLINGS if p in base]:
        b, t = base[pool], tuned[pool]
        if b.shape != t.shape:
            raise ValueError(f"hidden states differ in shape: base {b.shape}, fine-tuned {t.shape}")
        per_layer = [_similarities(b[layer], t[layer]) for layer in range(b.shape[0])]
        out[f"cosine_{pool}_per_probe"] = np.stack([s["cosine"] for s in per_layer])
        out[f"cosine_{pool}"] = np.nanmean(out[f"cosine_{pool}_per_probe"], axis=1)
        out[f"cka_{pool}"] = np.array([s["cka"] for s in per_layer], dtype=float)
        out[f"dcka_{pool}"] = np.array([s["dcka"] for s in per_layer], dtype=float)
        if f"final_norm_{pool}" in base:
            s = _similarities(base[f"final_norm_{pool}"], tuned[f"final_norm_{pool}"])
            for measure in MEASURES:
                out[f"final_norm_{measure}_{pool}"] = np.array(np.nanmean(s[measure]))
    first = next(p for p in POOLINGS if p in base)
    out["layer"] = np.arange(1, base[first].shape[0] + 1)
    return out


def bootstrap_top(base: dict[str, np.ndarray], tuned: dict[str, np.ndarray], counts: np.ndarray) -> dict:
    """Bootstrap replicates ([B]) of the top-third cosine and debiased CKA for the content and last poolings."""
    out = {}
    for pool in ("content", "last"):
        if pool not in base:
            continue
        b, t = base[pool], tuned[pool]
        top = top_layers(b.shape[0])
        n = b.shape[1]
        cos = np.nanmean(np.stack([cosine_similarity(b[i], t[i]) for i in top]), axis=0)
        out[f"cosine_{pool}_top"] = counts @ np.nan_to_num(cos) / n
        dcka = np.stack([debiased_cka_from_grams(gram(b[i]), gram(t[i]), counts) for i in top])
        finite = np.isfinite(dcka)  # a resample of a few distinct probes can leave a layer's CKA undefined
        out[f"dcka_{pool}_top"] = np.where(finite.any(axis=0), np.where(finite, dcka, 0.0).sum(axis=0)
                                           / np.maximum(finite.sum(axis=0), 1), np.nan)
    return out


def save_arrays(path: Path, arrays: dict[str, np.ndarray], probe_uids: Sequence[str]) -> Path:
    buf = io.BytesIO()
    np.savez_compressed(buf, probe_uid=np.array(list(probe_uids)), **arrays)  # type: ignore[arg-type]
    return atomic_write_bytes(path, buf.getvalue())


def _finite(x) -> float | None:
    return float(x) if np.isfinite(x) else None


def _interval(replicates: np.ndarray, confidence: float) -> list[float | None]:
    finite = replicates[np.isfinite(replicates)]
    if not len(finite):
        return [None, None]
    alpha = 100 * (1 - confidence) / 2
    return [float(np.percentile(finite, alpha)), float(np.percentile(finite, 100 - alpha))]


def summarize(arrays: dict[str, np.ndarray], replicates: dict[str, np.ndarray] | None = None,
              confidence: float = 0.95) -> dict:
    """The JSON summary of one (fine-tune, eval language) cell: per layer, the top-third means, the final norm's
    values, and with bootstrap replicates their CIs (`ci`) and the headline's replicates (`bootstrap`, which
    bench_runner.representation.aggregate pairs across models and leaves out of metrics.json)."""
    n_layers = len(arrays["layer"])
    top = top_layers(n_layers)
    pools = [p for p in POOLINGS if f"cosine_{p}" in arrays]
    keys = [f"{m}_{p}" for p in pools for m in MEASURES if f"{m}_{p}" in arrays]
    # NaN (a probe set without variance, e.g. one probe, has no CKA) becomes None: JSON has no NaN.
    per_layer = {key: [_finite(v) for v in arrays[key]] for key in keys}
    summary = {f"{key}_top": _finite(np.nanmean(arrays[key][top])) if np.isfinite(arrays[key][top]).any() else None
               for key in keys}
    final_norm = {key.removeprefix("final_norm_"): _finite(arrays[key]) for key in arrays
                  if key.startswith("final_norm_")}
    out: dict = {"n_layers": n_layers, "top_layers": [int(arrays["layer"][i]) for i in top],
           "n_probes": int(arrays[f"cosine_{pools[0]}_per_probe"].shape[1]), **summary, "per_layer": per_layer}
    if final_norm:
        out["final_norm"] = final_norm
    if replicates:
        out["confidence"] = confidence
        out["ci"] = {key: _interval(replicates[key], confidence) for key in CI_KEYS if key in replicates}
        if HEADLINE in replicates:
            out["bootstrap"] = {HEADLINE: [round(float(v), 7) if np.isfinite(v) else None
                                           for v in replicates[HEADLINE]]}
    return out


def cell_drift(base: dict[str, np.ndarray], tuned: dict[str, np.ndarray], n_resamples: int, confidence: float,
               seed: int, stream: str) -> tuple[dict[str, np.ndarray], dict]:
    """One cell's per-layer arrays and its summary with bootstrap CIs (from MIN_PROBES_FOR_CI probes); `stream`
    names the probe set (its eval language), so every model compared on it is resampled with the same draws."""
    arrays = compare(base, tuned)
    n = next(base[p] for p in POOLINGS if p in base).shape[1]
    if n < MIN_PROBES_FOR_CI:
        return arrays, summarize(arrays)
    counts = bootstrap_counts(n, n_resamples, seed, stream)
    return arrays, summarize(arrays, bootstrap_top(base, tuned, counts), confidence)


def seed_floor(first: dict[str, np.ndarray], replicate: dict[str, np.ndarray], reference: str) -> dict:
    """Two adapters of one fine-tune language (different training seeds) compared with each other, as a fine-tune is
    compared with the base: the drift that seeds alone produce."""
    arrays = compare(first, replicate)
    top = top_layers(len(arrays["layer"]))
    return {"reference": reference,
            **{f"{key}_top": _finite(np.nanmean(arrays[key][top])) for key in FLOOR_KEYS if key in arrays},
            "per_layer": {key: [_finite(v) for v in arrays[key]] for key in FLOOR_KEYS if key in arrays}}


def representation_metrics(cells: dict[tuple[str, str], dict]) -> dict:
    """metrics.representation: the summaries per (adapter, eval) cell, the seed noise floor, and with bootstrap
    replicates the per-fine-tune-language aggregate and the English-vs-L tests (.aggregate)."""
    out = {"method": METHOD, "measured": bool(cells),
           "cells": [{"finetune_language": ft, "eval_language": ev,
                      **{k: v for k, v in s.items() if k != "bootstrap"}} for (ft, ev), s in cells.items()],
           "noise_floor": noise_floor(cells)}
    if any("bootstrap" in s for s in cells.values()):
        out.update(aggregate_drift(cells))
    return out
