"""Tests that take the adapter (one fine-tune language, one training seed) as the unit of replication.

Why adapters, not prompts: every adapter answers the same prompts, so a prompt-level test compares adapters
and calls any two different, including two seeds of one language (simulated: p < 0.05 in 68 % of grids at a
seed effect of sd 0.1 on the logit). Whether the fine-tune *language* matters is a question about the
variation between languages beyond the variation between seeds of one language: a one-way design with
adapters nested in languages (and, for the interaction, eval languages crossed with adapters: a split-plot).

Each adapter is summarised per eval language by its empirical logit log((k + 0.5) / (n - k + 0.5)) on the
prompts every adapter answered there (finite at 0/n). The p-value is a permutation test over adapter labels:
under "the fine-tune language does not matter" the adapters are exchangeable, so shuffling which language
each adapter belongs to gives the exact null distribution whatever the seed variance is; the F-distribution
p-value is reported beside it. With one seed per language there is no within-language variation to test
against: the tests say so instead of returning a p-value."""

from __future__ import annotations

import numpy as np

HETEROGENEITY_METHOD = (
    "adapter-level test of 'compliance differs by fine-tune language beyond seed-to-seed variation': per adapter "
    "the mean over eval languages of its empirical logit log((k + 0.5) / (n - k + 0.5)); statistic = one-way "
    "ANOVA F of fine-tune language with adapters (seeds) as replicates, df ({df1}, {df2}); p = permutation of "
    "adapter labels across languages ({b} permutations; exact under exchangeable adapters), F-distribution p "
    "beside it"
)
INTERACTION_METHOD = (
    "adapter-level test of 'the effect of the fine-tune language depends on the eval language': each adapter's "
    "empirical-logit profile over eval languages centred on its own mean; statistic = split-plot F of fine-tune "
    "x eval against adapter-within-language x eval, df ({df1}, {df2}); p = permutation of adapter labels "
    "({b} permutations), F-distribution p beside it"
)
ONE_SEED = ("not estimable with one seed per fine-tune language: language and training-seed effects are "
            "confounded (set training.seeds to at least two seeds)")


def empirical_logit(k: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    return np.log((k + 0.5) / (n - k + 0.5))


def _group_sums(values: np.ndarray, labels: np.ndarray, n_groups: int) -> np.ndarray:
    """values: (adapter, ...) ; labels: (perm, adapter) -> (perm, group, ...) sums."""
    onehot = (labels[..., None] == np.arange(n_groups)).astype(float)  # (perm, adapter, group)
    return np.einsum("pag,a...->pg...", onehot, values)


def _permutations(labels: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    perms = rng.random((n_resamples, len(labels))).argsort(axis=1)
    return np.vstack([labels[None, :], labels[perms]])  # row 0: the observed labels


def smallest_p(labels: np.ndarray) -> float:
    """The smallest p-value a permutation of adapter labels can give: the share of labelings that split the
    adapters as observed (relabeling languages of equal size keeps a split), e.g. 1/3 for 2 languages x 2 seeds,
    1/280 for 3 x 3, below 1e-9 for 9 x 3."""
    from collections import Counter
    from math import factorial, prod

    sizes = Counter(labels.tolist()).values()
    labelings = factorial(sum(sizes)) // prod(factorial(k) for k in sizes)
    same_split = prod(factorial(v) for v in Counter(sizes).values())
    return same_split / labelings


def _empty(method: str, n_adapters: int, n_languages: int, note: str) -> dict:
    return {"method": method, "statistic": None, "df": None, "p_value": None, "p_value_f": None, "min_p": None,
            "n_adapters": n_adapters, "n_languages": n_languages, "n_permutations": None, "note": note}


def _result(method: str, f: np.ndarray, df: list[int], labels: np.ndarray, n_languages: int,
            n_resamples: int) -> dict:
    """f[0]: the observed statistic, f[1:]: under permuted labels."""
    from scipy.stats import f as f_dist

    observed = float(f[0])
    at_least = int((f[1:] >= observed - 1e-9 * max(1.0, abs(observed))).sum())
    floor = smallest_p(labels)
    return {"method": method, "statistic": observed if np.isfinite(observed) else None, "df": df,
            "p_value": (1 + at_least) / (1 + n_resamples),
            "p_value_f": float(f_dist.sf(observed, *df)) if np.isfinite(observed) else 0.0, "min_p": floor,
            "n_adapters": len(labels), "n_languages": n_languages, "n_permutations": n_resamples,
            "note": "" if floor < 0.05 else (f"too few adapters for a permutation p below 0.05 (smallest possible "
                                             f"{floor:.3g}): add seeds or fine-tune languages")}


def language_heterogeneity(z: np.ndarray, labels: list[int], n_resamples: int = 2000, seed: int = 0) -> dict:
    """z: (adapter, eval language) empirical logits; labels: the fine-tune language index of each adapter."""
    lab = np.asarray(labels)
    n_adapters, n_lang = len(lab), len(set(labels))
    df1, df2 = n_lang - 1, n_adapters - n_lang
    method = HETEROGENEITY_METHOD.format(df1=df1, df2=df2, b=n_resamples)
    if n_lang < 2:
        return _empty(method, n_adapters, n_lang, "not estimable: needs at least two fine-tune languages")
    if df2 < 1:
        return _empty(method, n_adapters, n_lang, ONE_SEED)
    m = z.mean(axis=1)  # (adapter,)
    perms = _permutations(lab, n_resamples, seed)
    counts = _group_sums(np.ones(n_adapters), perms, n_lang)  # (perm, lang)
    means = _group_sums(m, perms, n_lang) / counts
    between = (counts * (means - m.mean()) ** 2).sum(axis=1) / df1
    within = ((m**2).sum() - (counts * means**2).sum(axis=1)) / df2
    f = np.where(within > 0, between / np.where(within > 0, within, 1.0), np.where(between > 0, np.inf, 0.0))
    return _result(method, f, [df1, df2], lab, n_lang, n_resamples)


def interaction_test(z: np.ndarray, labels: list[int], n_resamples: int = 2000, seed: int = 0) -> dict:
    """Fine-tune x eval language interaction on z: (adapter, eval language) empirical logits."""
    lab = np.asarray(labels)
    n_adapters, n_lang, n_eval = len(lab), len(set(labels)), z.shape[1]
    df1, df2 = (n_lang - 1) * (n_eval - 1), (n_adapters - n_lang) * (n_eval - 1)
    method = INTERACTION_METHOD.format(df1=df1, df2=df2, b=n_resamples)
    if n_lang < 2 or n_eval < 2:
        return _empty(method, n_adapters, n_lang,
                      "not estimable: needs at least two fine-tune languages and two eval languages")
    if n_adapters - n_lang < 1:
        return _empty(method, n_adapters, n_lang, ONE_SEED)
    d = z - z.mean(axis=1, keepdims=True)  # the adapter's own level removed: language main effects drop out
    grand = d.mean(axis=0)  # (eval,), the same under every permutation
    perms = _permutations(lab, n_resamples, seed)
    counts = _group_sums(np.ones(n_adapters), perms, n_lang)  # (perm, lang)
    profiles = _group_sums(d, perms, n_lang) / counts[..., None]  # (perm, lang, eval)
    ss_le = (counts[..., None] * (profiles - grand) ** 2).sum(axis=(1, 2))
    ss_w = (d**2).sum() - (counts[..., None] * profiles**2).sum(axis=(1, 2))
    f = np.where(ss_w > 0, (ss_le / df1) / np.where(ss_w > 0, ss_w / df2, 1.0), np.where(ss_le > 0, np.inf, 0.0))
    return _result(method, f, [df1, df2], lab, n_lang, n_resamples)


def seed_spread(rates: list[float]) -> dict:
    """The spread of one cell's compliance over its adapters (seeds): the noise floor of a language effect."""
    r = np.asarray(rates, dtype=float)
    if len(r) < 2:
        return {"n_seeds": len(r), "rates": [float(v) for v in r], "sd": None, "range": None}
    return {"n_seeds": len(r), "rates": [float(v) for v in r], "sd": float(r.std(ddof=1)),
            "range": float(r.max() - r.min())}
