"""Representational drift: how far fine-tuning moved the model's hidden states on a fixed probe set.

Per eval language the probes are the first SORRY-Bench prompts and benign test prompts of the eval set,
rendered with the chat template and the generation prompt (the state the model answers from). For every
transformer layer we read the hidden state of the last prompt token and the mean over the prompt's tokens,
for the base model and each fine-tuned one, and compare them: the mean cosine similarity of a probe's two
vectors, and linear CKA (Kornblith et al., 2019) between the two probes x hidden matrices. 1 = unchanged.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from safedrift.core.files import atomic_write_bytes
from safedrift.core.log import progress

METHOD = (
    "hidden states of every transformer layer (output_hidden_states, embeddings excluded) at the last prompt token "
    "and mean-pooled over the prompt tokens (chat template with the generation prompt); per layer: mean cosine "
    "similarity between a probe's base and fine-tuned vectors, and linear CKA (Kornblith et al. 2019: centred "
    "features, <K_base, K_ft>_F / (||K_base||_F ||K_ft||_F) with K = X X^T) between the probes x hidden matrices; "
    "top = mean over the top third of layers; drift = 1 - similarity"
)
POOLINGS = ("last", "mean")


def hidden_states(model, tokenizer, texts: Sequence[str], max_length: int, batch_size: int,
                  desc: str = "hidden states") -> dict[str, np.ndarray]:
    """{"last": [layers, n, d], "mean": [layers, n, d]} in float32, layers = the transformer blocks' outputs.

    A prompt longer than max_length keeps its last max_length tokens (the generation prompt stays)."""
    import torch

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids_all = [ids[-max_length:] for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]
    last: list[np.ndarray] = []
    mean: list[np.ndarray] = []
    bar = progress(total=len(ids_all), desc=desc, unit="probe")
    for start in range(0, len(ids_all), batch_size):
        part = ids_all[start : start + batch_size]
        width = max(len(x) for x in part)
        ids = torch.full((len(part), width), pad, dtype=torch.long)
        mask = torch.zeros((len(part), width), dtype=torch.long)
        for i, x in enumerate(part):  # right padding: causal attention never looks at it
            ids[i, : len(x)], mask[i, : len(x)] = torch.tensor(x), 1
        with torch.no_grad():
            out = model(input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True)
        states = torch.stack(out.hidden_states[1:]).float()  # [layers, batch, tokens, d]
        m = mask.to(device)
        lengths = m.sum(dim=1)
        last.append(states[:, torch.arange(len(part), device=device), lengths - 1].cpu().numpy())
        pooled = (states * m[None, :, :, None]).sum(dim=2) / lengths[None, :, None]
        mean.append(pooled.cpu().numpy())
        bar.update(len(part))
    bar.close()
    return {"last": np.concatenate(last, axis=1), "mean": np.concatenate(mean, axis=1)}


def cosine_similarity(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two [n, d] arrays (NaN for a zero row)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, (x * y).sum(axis=1) / np.where(norms > 0, norms, 1.0), np.nan)


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA between two [n, d] representations of the same n inputs (NaN when either has no variance).

    Invariant to orthogonal transforms and isotropic scaling of either side; 1 for identical inputs."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    y = y - y.mean(axis=0, keepdims=True)
    kx, ky = x @ x.T, y @ y.T  # n x n Gram matrices: cheaper than d x d when probes < hidden size
    norm = math.sqrt(float((kx * kx).sum()) * float((ky * ky).sum()))
    return float((kx * ky).sum() / norm) if norm > 0 else float("nan")


def top_layers(n_layers: int) -> list[int]:
    """Indices (0-based, into the per-layer arrays) of the top third of the layers."""
    k = max(1, math.ceil(n_layers / 3))
    return list(range(n_layers - k, n_layers))


def compare(base: dict[str, np.ndarray], tuned: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per pooling: per-layer CKA, mean cosine, and the per-probe cosines ([layers, n])."""
    out: dict[str, np.ndarray] = {}
    for pool in POOLINGS:
        b, t = base[pool], tuned[pool]
        if b.shape != t.shape:
            raise ValueError(f"hidden states differ in shape: base {b.shape}, fine-tuned {t.shape}")
        cos = np.stack([cosine_similarity(b[layer], t[layer]) for layer in range(b.shape[0])])
        out[f"cosine_{pool}_per_probe"] = cos
        out[f"cosine_{pool}"] = np.nanmean(cos, axis=1)
        out[f"cka_{pool}"] = np.array([linear_cka(b[layer], t[layer]) for layer in range(b.shape[0])])
    out["layer"] = np.arange(1, base["last"].shape[0] + 1)
    return out


def save_arrays(path: Path, arrays: dict[str, np.ndarray], probe_uids: Sequence[str]) -> Path:
    buf = io.BytesIO()
    np.savez_compressed(buf, probe_uid=np.array(list(probe_uids)), **arrays)  # type: ignore[arg-type]
    return atomic_write_bytes(path, buf.getvalue())


def _finite(x) -> float | None:
    return float(x) if np.isfinite(x) else None


def summarize(arrays: dict[str, np.ndarray]) -> dict:
    """The JSON summary of one (fine-tune, eval language) cell: per layer and the top-third means."""
    n_layers = len(arrays["layer"])
    top = top_layers(n_layers)
    keys = [key for pool in POOLINGS for key in (f"cosine_{pool}", f"cka_{pool}")]
    # NaN (a probe set without variance, e.g. one probe, has no CKA) becomes None: JSON has no NaN.
    per_layer = {key: [_finite(v) for v in arrays[key]] for key in keys}
    summary = {f"{key}_top": _finite(np.nanmean(arrays[key][top])) if np.isfinite(arrays[key][top]).any() else None
               for key in keys}
    return {"n_layers": n_layers, "top_layers": [int(arrays["layer"][i]) for i in top],
            "n_probes": int(arrays["cosine_last_per_probe"].shape[1]), **summary, "per_layer": per_layer}


def representation_metrics(cells: dict[tuple[str, str], dict]) -> dict:
    """metrics.representation: the summaries per (fine-tune, eval) cell."""
    return {"method": METHOD, "measured": bool(cells),
            "cells": [{"finetune_language": ft, "eval_language": ev, **s} for (ft, ev), s in cells.items()]}
