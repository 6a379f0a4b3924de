"""The fold change of one cell: compliance of the models fine-tuned on one language (one adapter per training
seed) over the base model's, on the same prompts of one eval language, with an interval that stays finite at
zero counts and counts the seed-to-seed variance.

Why this interval. With one adapter it is the Bonett-Price (2006) interval for a ratio of paired proportions:
log(p1 / p2) with one pseudo-pair of each discordant kind added (p1 = (n11 + n12 + 1) / (n + 2), p2 = (n11 +
n21 + 1) / (n + 2), var = (n12 + n21 + 2) / ((n11 + n12 + 1)(n11 + n21 + 1))). The pseudo-pairs make 0/n against
0/n a finite ratio of 1 with a wide interval, and k/n against 0/n a finite ratio whose lower bound is what the
data can say; the plain ratio is reported beside it (None at a zero base). A Wald interval on the plain log
ratio fails at zero counts, and a bootstrap of a ratio of small counts undercovers.

With S adapters (seeds) the same delta method runs on the prompts x seeds table of u = y / p1 - x / p2 (y: an
adapter's verdict, x: base's, p1 the seed-averaged rate): var(log ratio) = sigma_prompt^2 / N +
sigma_seed^2 / S + sigma_residual^2 / (N S), estimated from the two-way ANOVA mean squares of that table
((MS_prompt + max(MS_seed - MS_residual, 0)) / (N S)), with Welch-Satterthwaite degrees of freedom for the
t quantile, since S - 1 = 2 seed degrees of freedom are few. With S = 1 it is exactly Bonett-Price.

Every function takes bootstrap weights over prompts, so the selection-aware interval (largest.py) resamples
prompts through the same code; the weights of one point estimate are all ones."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FOLD_CHANGE_METHOD = (
    "fold change = compliance of the fine-tune language's adapters (mean over seeds) / base compliance, on the "
    "prompts every one of them and base answered in the eval language; interval: Bonett-Price for a ratio of "
    "paired proportions (one pseudo-pair of each discordant kind added, so zero counts give finite, wide "
    "intervals; the plain ratio beside it is None at a zero base), extended to several seeds by the two-way "
    "(prompt x seed) ANOVA of the delta-method terms: var = (MS_prompt + max(MS_seed - MS_residual, 0)) / "
    "(N S), t quantile with Welch-Satterthwaite df (normal with one seed)"
)


@dataclass(frozen=True)
class LogFoldChange:
    """Arrays over bootstrap replicates (length 1 for a point estimate)."""

    log_ratio: np.ndarray  # log(p1 / p2) with the pseudo-pairs
    var_prompt: np.ndarray  # the part a prompt resample sees: sigma_prompt^2 / N + sigma_residual^2 / (N S)
    var_seed: np.ndarray  # sigma_seed^2 / S (0 with one seed)
    df: np.ndarray  # Welch-Satterthwaite degrees of freedom of var_prompt + var_seed (inf with one seed)
    p1: np.ndarray  # fine-tuned rate, seed-averaged, with the pseudo-pairs
    p2: np.ndarray  # base rate with the pseudo-pairs

    @property
    def var(self) -> np.ndarray:
        return self.var_prompt + self.var_seed


def log_fold_change(y: np.ndarray, x: np.ndarray, weights: np.ndarray | None = None) -> LogFoldChange:
    """y: (prompt, seed) 0/1 verdicts of one fine-tune language's adapters; x: (prompt,) base's verdicts, on
    the same prompts (complete rows only); weights: (replicate, prompt) prompt counts, None for all ones."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    n, s = y.shape
    w = np.ones((1, n)) if weights is None else np.atleast_2d(np.asarray(weights, dtype=float))
    ysum = y.sum(axis=1)  # adapters complying per prompt
    big_n = w.sum(axis=1) + 2.0  # + the two pseudo-pairs
    # Pseudo-pair 1: every adapter complies, base refuses; pseudo-pair 2: the reverse.
    sum_y = w @ ysum + s
    sum_x = w @ x + 1.0
    sum_xy = w @ (x * ysum)  # the pseudo-pairs add nothing
    sum_ybar2 = w @ ((ysum / s) ** 2) + 1.0
    p1 = sum_y / (big_n * s)
    p2 = sum_x / big_n
    ss_total = sum_y / p1**2 - 2.0 * sum_xy / (p1 * p2) + s * sum_x / p2**2
    log_ratio = np.log(p1 / p2)
    if s == 1:
        # Bonett-Price exactly: sum u^2 / N^2 = (n12 + n21 + 2) / ((n11 + n12 + 1)(n11 + n21 + 1)).
        zero = np.zeros_like(log_ratio)
        return LogFoldChange(log_ratio, ss_total / big_n**2, zero, np.full_like(log_ratio, np.inf), p1, p2)
    ss_prompt = s * (sum_ybar2 / p1**2 - 2.0 * sum_xy / (s * p1 * p2) + sum_x / p2**2)
    seed_rates = (w @ y + 1.0) / big_n[:, None]  # (replicate, seed), pseudo-pair 1 complies in every seed
    ss_seed = big_n * ((seed_rates / p1[:, None] - 1.0) ** 2).sum(axis=1)
    ss_resid = np.maximum(ss_total - ss_prompt - ss_seed, 0.0)
    df_p, df_s, df_e = big_n - 1.0, float(s - 1), (big_n - 1.0) * (s - 1)
    ms_p, ms_s, ms_e = ss_prompt / df_p, ss_seed / df_s, ss_resid / df_e
    seed_part = np.maximum(ms_s - ms_e, 0.0)
    var_prompt = ms_p / (big_n * s)
    var_seed = seed_part / (big_n * s)
    total = ms_p + seed_part
    # Welch-Satterthwaite for MS_p + MS_s - MS_e (MS_p alone when the seed part is not positive).
    denom = np.where(seed_part > 0, ms_p**2 / df_p + ms_s**2 / df_s + ms_e**2 / df_e, ms_p**2 / df_p)
    df = np.where(denom > 0, total**2 / np.where(denom > 0, denom, 1.0), np.inf)
    return LogFoldChange(log_ratio, var_prompt, var_seed, df, p1, p2)


def t_quantile(confidence: float, df: np.ndarray | float) -> np.ndarray:
    """Two-sided t quantile (normal where df is infinite)."""
    from scipy.stats import norm, t

    df = np.asarray(df, dtype=float)
    q = 1 - (1 - confidence) / 2
    return np.where(np.isfinite(df), t.ppf(q, np.where(np.isfinite(df), df, 1.0)), norm.ppf(q))


def fold_change(y: np.ndarray, x: np.ndarray, confidence: float = 0.95) -> dict:
    """The fold change of one cell with its interval, the plain ratio and the counts behind them (see the
    module doc). y: (prompt, seed) 0/1; x: (prompt,) 0/1; complete rows only."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    n, s = y.shape
    out: dict = {"n_pairs": n, "n_adapters": s, "fold_change": None, "ci_low": None, "ci_high": None,
                 "fold_change_raw": None, "log_se": None, "df": None, "seed_share": None, "finetuned_rate": None,
                 "base_rate": None, "note": ""}
    if n == 0 or s == 0:
        out["note"] = "not estimable: no prompt was answered by base and every adapter"
        return out
    est = log_fold_change(y, x)
    se = float(np.sqrt(est.var[0]))
    half = float(t_quantile(confidence, est.df[0])) * se
    ft_rate, base_rate = float(y.mean()), float(x.mean())
    out.update(fold_change=float(np.exp(est.log_ratio[0])), ci_low=float(np.exp(est.log_ratio[0] - half)),
               ci_high=float(np.exp(est.log_ratio[0] + half)), log_se=se,
               df=None if not np.isfinite(est.df[0]) else float(est.df[0]),
               seed_share=float(est.var_seed[0] / est.var[0]) if est.var[0] > 0 else 0.0,
               finetuned_rate=ft_rate, base_rate=base_rate)
    if base_rate > 0:
        out["fold_change_raw"] = ft_rate / base_rate
    elif ft_rate == 0:
        out["note"] = "0 compliant in both: fold change 1 by the pseudo-pairs, its interval what n prompts allow"
    else:
        out["note"] = "base complied with none: the plain ratio is unbounded; the pseudo-pairs keep it finite"
    return out
