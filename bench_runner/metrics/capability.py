"""Statistics of the capability stage's measurements: held-out loss per cell with a bootstrap CI and the paired
difference against base, and the lm-eval tasks' differences against base."""

from __future__ import annotations

import math

import numpy as np

from bench_runner.config import BASE
from bench_runner.metrics.stats import bootstrap_mean, holm_adjust, paired_difference

LOSS_METHOD = (
    "held-out benign loss: mean negative log-likelihood per token (nats) of the reference answer (final assistant "
    "turn, the model's chat template, truncated to capability.max_length) over the benign release's `test` split, "
    "token-weighted (sum of NLL / sum of answer tokens); perplexity = exp(mean NLL); bits per byte = sum of NLL / "
    "ln 2 / UTF-8 bytes of the scored answer text (special tokens' text excluded, their loss included), which "
    "compares across languages and tokenizers where nats per token do not. CI: percentile bootstrap over examples "
    "(scipy.stats.bootstrap, paired NLL and token or byte counts); vs base: fine-tuned minus base mean NLL on the "
    "same examples, CI by the paired bootstrap, p by a paired sign-flip permutation test of the same token-weighted "
    "difference (scipy.stats.permutation_test on per-example summed NLL differences, exact up to 2^n <= "
    "n_resamples), Holm over the grid"
)
LM_EVAL_METHOD = (
    "lm-evaluation-harness (lm_eval.simple_evaluate, model 'hf' with the adapter as peft=…); per task the first "
    "metric it reports, its stderr, and vs base the paired difference on the same documents (exact McNemar p for "
    "0/1 metrics, Wilcoxon otherwise), Holm over the tasks x fine-tunes"
)


def _ratio(nll, tokens, axis=-1):
    return nll.sum(axis=axis) / tokens.sum(axis=axis)


def _diff_ratio(nll_a, tok_a, nll_b, tok_b, axis=-1):
    return nll_a.sum(axis=axis) / tok_a.sum(axis=axis) - nll_b.sum(axis=axis) / tok_b.sum(axis=axis)


def _bootstrap(data: tuple[np.ndarray, ...], statistic, point: float, n_resamples: int, confidence: float,
               seed: int) -> tuple[float, float]:
    from scipy.stats import bootstrap

    if len(data[0]) < 2:
        return point, point
    res = bootstrap(data, statistic, paired=True, vectorized=True, n_resamples=n_resamples,
                    confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if math.isnan(lo) or math.isnan(hi):  # a constant statistic: no spread to resample
        return point, point
    return min(lo, point), max(hi, point)


def loss_with_ci(records: dict[str, tuple], n_resamples: int = 2000, confidence: float = 0.95,
                 seed: int = 0) -> dict:
    """{"n", "tokens", "mean_nll", "ci_low", "ci_high", "perplexity", "ppl_ci_low", "ppl_ci_high", "bytes",
    "bits_per_byte", "bpb_ci_low", "bpb_ci_high"}; records: item -> (nll, tokens[, UTF-8 bytes])."""
    kept = [records[k] for k in sorted(records) if records[k][1] > 0]
    if not kept:
        return {"n": 0, "tokens": 0, "mean_nll": None, "ci_low": None, "ci_high": None, "perplexity": None,
                "ppl_ci_low": None, "ppl_ci_high": None}
    nll = np.array([r[0] for r in kept], dtype=float)
    tok = np.array([r[1] for r in kept], dtype=float)
    mean = float(nll.sum() / tok.sum())
    lo, hi = _bootstrap((nll, tok), _ratio, mean, n_resamples, confidence, seed)
    out = {"n": len(kept), "tokens": int(tok.sum()), "mean_nll": mean, "ci_low": lo, "ci_high": hi,
           "perplexity": math.exp(mean), "ppl_ci_low": math.exp(lo), "ppl_ci_high": math.exp(hi)}
    byt = _bytes(kept)
    if byt is not None:
        bits = nll / math.log(2)
        bpb = float(bits.sum() / byt.sum())
        b_lo, b_hi = _bootstrap((bits, byt), _ratio, bpb, n_resamples, confidence, seed)
        out.update({"bytes": int(byt.sum()), "bits_per_byte": bpb, "bpb_ci_low": b_lo, "bpb_ci_high": b_hi})
    return out


def _bytes(records: list[tuple]) -> np.ndarray | None:
    """The records' UTF-8 byte counts, or None when any lacks one (a heldout.jsonl written before they were)."""
    if not records or any(len(r) < 3 or r[2] is None or r[2] <= 0 for r in records):
        return None
    return np.array([r[2] for r in records], dtype=float)


def paired_loss_difference(fine_tuned: dict[str, tuple], base: dict[str, tuple], n_resamples: int = 2000,
                           confidence: float = 0.95, seed: int = 0) -> dict:
    """Fine-tuned minus base mean token NLL on the examples both scored; ppl_ratio = exp(diff); the p-value tests
    that token-weighted difference (not a per-example median), and diff_bits_per_byte is the same in bits/byte."""
    from scipy.stats import permutation_test

    keys = sorted(k for k in set(fine_tuned) & set(base) if fine_tuned[k][1] > 0 and base[k][1] > 0)
    if not keys:
        return {"n_pairs": 0, "diff": None, "ci_low": None, "ci_high": None, "p_value": None, "p_adjusted": None,
                "ppl_ratio": None}
    a, ta = (np.array([fine_tuned[k][i] for k in keys], dtype=float) for i in (0, 1))
    b, tb = (np.array([base[k][i] for k in keys], dtype=float) for i in (0, 1))
    diff = float(_diff_ratio(a, ta, b, tb))
    lo, hi = _bootstrap((a, ta, b, tb), _diff_ratio, diff, n_resamples, confidence, seed)
    # The same answer has the same tokens under both (one tokenizer): the token-weighted difference is then
    # sum(a - b) / sum(t), and flipping the sign of a pair's summed difference is the exchange of its two models.
    per_example = a - b * (ta / tb)
    p = 1.0
    if len(keys) > 1 and np.any(per_example != 0):
        p = float(permutation_test((per_example,), np.sum, permutation_type="samples", vectorized=True,
                                   n_resamples=n_resamples, rng=np.random.default_rng(seed)).pvalue)
    out = {"n_pairs": len(keys), "diff": diff, "ci_low": lo, "ci_high": hi, "p_value": min(1.0, p), "p_adjusted": None,
           "ppl_ratio": math.exp(diff)}
    byt_a, byt_b = _bytes([fine_tuned[k] for k in keys]), _bytes([base[k] for k in keys])
    if byt_a is not None and byt_b is not None:
        bits_a, bits_b = a / math.log(2), b / math.log(2)
        d_bpb = float(_diff_ratio(bits_a, byt_a, bits_b, byt_b))
        b_lo, b_hi = _bootstrap((bits_a, byt_a, bits_b, byt_b), _diff_ratio, d_bpb, n_resamples, confidence, seed)
        out.update({"diff_bits_per_byte": d_bpb, "bpb_ci_low": b_lo, "bpb_ci_high": b_hi})
    return out


def capability_metrics(heldout: dict[str, list[dict]], lm_eval: dict[str, dict], models: list[str],
                       eval_languages: list[str], n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0,
                       base: str = BASE) -> dict:
    """heldout: model -> rows of heldout.jsonl ({"language", "item_id", "nll", "tokens"}); lm_eval: model -> the
    capability stage's lm_eval.json (models without one are left out)."""
    per: dict[tuple[str, str], dict[str, tuple]] = {}
    for model, rows in heldout.items():
        for r in rows:
            per.setdefault((model, r["language"]), {})[r["item_id"]] = (r["nll"], r["tokens"], r.get("bytes"))
    cells = []
    for ft in models:
        for ev in eval_languages:
            if (ft, ev) not in per:
                continue
            cell = {"finetune_language": ft, "eval_language": ev,
                    **loss_with_ci(per[(ft, ev)], n_resamples, confidence, seed)}
            if ft != base and (base, ev) in per:
                cell["vs_base"] = paired_loss_difference(per[(ft, ev)], per[(base, ev)], n_resamples, confidence,
                                                         seed)
            cells.append(cell)
    holm_adjust([c.get("vs_base") for c in cells])
    return {"method": LOSS_METHOD, "cells": cells, "measured": bool(cells),
            "lm_eval": lm_eval_metrics(lm_eval, models, n_resamples, confidence, seed, base) if lm_eval else None}


def lm_eval_metrics(runs: dict[str, dict], models: list[str], n_resamples: int = 2000, confidence: float = 0.95,
                    seed: int = 0, base: str = BASE) -> dict:
    from scipy.stats import wilcoxon

    rows = []
    for model in models:
        run = runs.get(model)
        if not run:
            continue
        for task, r in run["results"].items():
            row = {"model": model, "task": task, "metric": r["metric"], "value": r["value"], "stderr": r["stderr"],
                   "n": len(run["samples"].get(task, {}))}
            base_run = runs.get(base)
            if model != base and base_run and task in base_run["samples"]:
                mine, theirs = run["samples"].get(task, {}), base_run["samples"][task]
                if set(mine.values()) | set(theirs.values()) <= {0.0, 1.0}:
                    d = paired_difference({k: int(v) for k, v in mine.items()}, {k: int(v) for k, v in theirs.items()},
                                          n_resamples, confidence, seed)
                    row["vs_base"] = {k: d[k] for k in ("n_pairs", "diff", "ci_low", "ci_high", "p_value")}
                else:
                    keys = sorted(set(mine) & set(theirs))
                    diffs = np.array([mine[k] - theirs[k] for k in keys], dtype=float)
                    lo, hi = bootstrap_mean(diffs, n_resamples, confidence, seed) if len(keys) else (None, None)
                    p = float(wilcoxon(diffs).pvalue) if len(keys) > 1 and np.any(diffs != 0) else 1.0
                    row["vs_base"] = {"n_pairs": len(keys), "diff": float(diffs.mean()) if len(keys) else None,
                                      "ci_low": lo, "ci_high": hi, "p_value": p}
                row["vs_base"]["p_adjusted"] = None
            rows.append(row)
    holm_adjust([r.get("vs_base") for r in rows])
    return {"method": LM_EVAL_METHOD, "tasks": rows}
