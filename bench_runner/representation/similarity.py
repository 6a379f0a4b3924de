"""Similarity of two representations of the same probes: cosine per probe, linear CKA and debiased linear CKA.

Plain linear CKA (Kornblith et al. 2019) is biased towards 1 when probes are few against the hidden size: two
*independent* Gaussian representations with n = 96 probes and d = 2,048 features already score 0.955, so a
base-vs-fine-tuned CKA near 1 says little. Debiased CKA replaces each HSIC by its unbiased estimator (Song et al.
2012, as in Nguyen, Raghu & Kornblith 2021 and Murphy et al. 2024): the same pair scores about 0, and identical
representations still score 1.

Every estimator here also takes bootstrap *counts* over probes (how often each probe was drawn), so a bootstrap
replicate is a weighted sum over the original probes. A probe drawn twice must not be paired with itself (its
self-similarity would dominate the unbiased HSIC, which excludes the diagonal for that reason): with counts c the
estimator sums c_i c_j over pairs of distinct probes only, which is the U-statistic on the resample with its
duplicate pairs left out.
"""

from __future__ import annotations

import math
import zlib

import numpy as np


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


def gram(x: np.ndarray) -> np.ndarray:
    """The linear kernel X X^T of an [n, d] representation, its diagonal set to 0 (the unbiased HSIC skips it)."""
    x = np.asarray(x, dtype=np.float64)
    k = x @ x.T
    np.fill_diagonal(k, 0.0)
    return k


def unbiased_hsic(k: np.ndarray, l: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:  # noqa: E741
    """The unbiased HSIC estimator (Song et al. 2012, eq. 5) of two zero-diagonal Gram matrices [n, n].

    counts: None (every probe once: the estimator itself, a 0-d array) or [B, n] bootstrap counts, each row
    summing to n (one estimate per row)."""
    c = _counts(k.shape[0], counts)
    out = _hsic(c, c @ k, c @ l, c @ (k * l))
    return out[0] if counts is None else out


def _counts(n: int, counts: np.ndarray | None) -> np.ndarray:
    return np.ones((1, n)) if counts is None else np.asarray(counts, dtype=np.float64)


def _hsic(c: np.ndarray, kc: np.ndarray, lc: np.ndarray, klc: np.ndarray) -> np.ndarray:
    """The unbiased HSIC from the counts c [B, n] and c K, c L, c (K o L) (each [B, n]): on the resample,
    tr(KL) = sum over distinct pairs of c_i c_j K_ij L_ij, 1'K1 = c K c', 1'KL1 = sum_i c_i (cK)_i (cL)_i."""
    n = c.shape[1]
    trace = np.einsum("bi,bi->b", klc, c)
    sum_k, sum_l = np.einsum("bi,bi->b", kc, c), np.einsum("bi,bi->b", lc, c)
    cross = np.einsum("bi,bi,bi->b", c, kc, lc)
    return (trace + sum_k * sum_l / ((n - 1) * (n - 2)) - 2.0 * cross / (n - 2)) / (n * (n - 3))


def debiased_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Debiased linear CKA of two [n, d] representations of the same n >= 4 probes (NaN when undefined).

    About 0 for independent representations at any n/d, 1 for identical ones; invariant to orthogonal transforms,
    isotropic scaling and shifts (the unbiased HSIC needs no centring). It can fall slightly below 0."""
    return float(debiased_cka_from_grams(gram(x), gram(y)))


def debiased_cka_from_grams(kx: np.ndarray, ky: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """Debiased CKA from zero-diagonal Gram matrices; with counts [B, n], one value per bootstrap replicate."""
    n = kx.shape[0]
    if n < 4:  # the unbiased HSIC divides by n - 3
        return np.full(() if counts is None else len(counts), np.nan)
    c = _counts(n, counts)
    kc, lc = c @ kx, c @ ky  # five products of [B, n] with [n, n] serve all three HSICs
    xy, xx, yy = _hsic(c, kc, lc, c @ (kx * ky)), _hsic(c, kc, kc, c @ (kx * kx)), _hsic(c, lc, lc, c @ (ky * ky))
    denom = np.sqrt(np.clip(xx, 0.0, None) * np.clip(yy, 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(denom > 0, xy / np.where(denom > 0, denom, 1.0), np.nan)
    return out[0] if counts is None else out


def bootstrap_counts(n: int, n_resamples: int, seed: int, stream: str) -> np.ndarray:
    """[n_resamples, n] counts of n probes drawn with replacement. The same (n, seed, stream) gives the same draws,
    so every model compared on one eval language's probes is resampled alike (a paired bootstrap across models)."""
    rng = np.random.default_rng([seed, zlib.crc32(stream.encode())])
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(np.float64)
