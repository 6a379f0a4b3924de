"""Capability next to safety, so "safety drifted" can be told apart from "the model got worse".

(a) Held-out benign loss: the mean token negative log-likelihood (and perplexity) of each model on the reference
answers of the benign release's `test` split, per eval language; loss on the final assistant turn only, the same
tokens the fine-tune was trained on. CI: bootstrap over examples; vs base: the paired difference on the same
examples. (b) Optional lm-evaluation-harness tasks run on the HF model plus the adapter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench_runner.chat import DEFAULT_DATE_STRING, IGNORE_INDEX, encode_for_training
from bench_runner.config import CapabilityConfig, ModelConfig
from bench_runner.metrics.compliance import holm_adjust, paired_difference
from safedrift.core.errors import missing_extra
from safedrift.core.log import progress

LOSS_METHOD = (
    "held-out benign loss: mean negative log-likelihood per token (nats) of the reference answer (final assistant "
    "turn, the model's chat template, truncated to capability.max_length) over the benign release's `test` split, "
    "token-weighted (sum of NLL / sum of answer tokens); perplexity = exp(mean NLL). CI: percentile bootstrap over "
    "examples (scipy.stats.bootstrap, paired NLL and token counts); vs base: fine-tuned minus base mean NLL on the "
    "same examples, CI by the paired bootstrap, p by the Wilcoxon signed-rank test on per-example mean NLL "
    "differences (scipy.stats.wilcoxon), Holm over the grid"
)
LM_EVAL_METHOD = (
    "lm-evaluation-harness (lm_eval.simple_evaluate, model 'hf' with the adapter as peft=…); per task the first "
    "metric it reports, its stderr, and vs base the paired difference on the same documents (exact McNemar p for "
    "0/1 metrics, Wilcoxon otherwise), Holm over the tasks x fine-tunes"
)


def heldout_nll(model, tokenizer, conversations: Sequence[tuple[str, list[dict]]], max_length: int,
                batch_size: int, date_string: str | None = DEFAULT_DATE_STRING, desc: str = "held-out loss") -> list[dict]:
    """Per (item id, conversation): {"item_id", "nll" (summed over answer tokens), "tokens"}; an example whose
    answer max_length cut away entirely has tokens 0 (left out of the statistics)."""
    import torch

    encoded = [encode_for_training(tokenizer, conv, max_length, date_string) for _, conv in conversations]
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: list[dict] = []
    bar = progress(total=len(encoded), desc=desc, unit="example")
    for start in range(0, len(encoded), batch_size):
        part = encoded[start : start + batch_size]
        width = max(len(e["input_ids"]) for e in part)
        ids = torch.full((len(part), width), pad, dtype=torch.long)
        labels = torch.full((len(part), width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(part), width), dtype=torch.long)
        for i, e in enumerate(part):  # right padding: causal attention never looks at it
            n = len(e["input_ids"])
            ids[i, :n], labels[i, :n], mask[i, :n] = torch.tensor(e["input_ids"]), torch.tensor(e["labels"]), 1
        with torch.no_grad():
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        # Next-token loss in float32: bf16 log-softmax over a 128k vocabulary loses the small differences we compare.
        target = labels[:, 1:].to(device)
        nll = torch.nn.functional.cross_entropy(logits[:, :-1].float().transpose(1, 2), target,
                                                ignore_index=IGNORE_INDEX, reduction="none")
        sums, counts = nll.sum(dim=1).tolist(), (target != IGNORE_INDEX).sum(dim=1).tolist()
        for j, (s, c) in enumerate(zip(sums, counts, strict=True)):
            out.append({"item_id": conversations[start + j][0], "nll": float(s), "tokens": int(c)})
        bar.update(len(part))
    bar.close()
    return out


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


def loss_with_ci(records: dict[str, tuple[float, int]], n_resamples: int = 2000, confidence: float = 0.95,
                 seed: int = 0) -> dict:
    """{"n", "tokens", "mean_nll", "ci_low", "ci_high", "perplexity", "ppl_ci_low", "ppl_ci_high"}."""
    kept = [records[k] for k in sorted(records) if records[k][1] > 0]
    if not kept:
        return {"n": 0, "tokens": 0, "mean_nll": None, "ci_low": None, "ci_high": None, "perplexity": None,
                "ppl_ci_low": None, "ppl_ci_high": None}
    nll = np.array([r[0] for r in kept], dtype=float)
    tok = np.array([r[1] for r in kept], dtype=float)
    mean = float(nll.sum() / tok.sum())
    lo, hi = _bootstrap((nll, tok), _ratio, mean, n_resamples, confidence, seed)
    return {"n": len(kept), "tokens": int(tok.sum()), "mean_nll": mean, "ci_low": lo, "ci_high": hi,
            "perplexity": math.exp(mean), "ppl_ci_low": math.exp(lo), "ppl_ci_high": math.exp(hi)}


def paired_loss_difference(fine_tuned: dict[str, tuple[float, int]], base: dict[str, tuple[float, int]],
                           n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0) -> dict:
    """Fine-tuned minus base mean token NLL on the examples both scored; ppl_ratio = exp(diff)."""
    from scipy.stats import wilcoxon

    keys = sorted(k for k in set(fine_tuned) & set(base) if fine_tuned[k][1] > 0 and base[k][1] > 0)
    if not keys:
        return {"n_pairs": 0, "diff": None, "ci_low": None, "ci_high": None, "p_value": None, "p_adjusted": None,
                "ppl_ratio": None}
    a, ta = (np.array([fine_tuned[k][i] for k in keys], dtype=float) for i in (0, 1))
    b, tb = (np.array([base[k][i] for k in keys], dtype=float) for i in (0, 1))
    diff = float(_diff_ratio(a, ta, b, tb))
    lo, hi = _bootstrap((a, ta, b, tb), _diff_ratio, diff, n_resamples, confidence, seed)
    per_example = a / ta - b / tb
    p = float(wilcoxon(per_example).pvalue) if len(keys) > 1 and np.any(per_example != 0) else 1.0
    return {"n_pairs": len(keys), "diff": diff, "ci_low": lo, "ci_high": hi, "p_value": p, "p_adjusted": None,
            "ppl_ratio": math.exp(diff)}


def capability_metrics(heldout: dict[str, list[dict]], lm_eval: dict[str, dict], models: list[str],
                       eval_languages: list[str], n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0,
                       base: str = "base") -> dict:
    """heldout: model -> rows of heldout.jsonl ({"language", "item_id", "nll", "tokens"}); lm_eval: model -> the
    capability stage's lm_eval.json (models without one are left out)."""
    per: dict[tuple[str, str], dict[str, tuple[float, int]]] = {}
    for model, rows in heldout.items():
        for r in rows:
            per.setdefault((model, r["language"]), {})[r["item_id"]] = (r["nll"], r["tokens"])
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


# ---- lm-evaluation-harness --------------------------------------------------------------------------------------

def run_lm_eval(model_cfg: ModelConfig, adapter_dir: Path | None, cap: CapabilityConfig, seed: int = 0) -> dict:
    """lm_eval.simple_evaluate on the HF model plus the adapter: per task its metrics and per-document values."""
    try:
        import lm_eval
        from lm_eval.tasks import TaskManager
    except ImportError as exc:
        raise missing_extra("lm-eval", "lm-eval", " (capability.lm_eval_tasks is set)") from exc
    from bench_runner.generate.vllm import servable_model_dir
    from bench_runner.models import resolve_device, torch_dtype, weights_location

    where, kwargs = weights_location(model_cfg)
    if Path(where).is_dir():  # a dequantized GGUF keeps a quantization marker lm-eval's from_pretrained rejects
        where = str(servable_model_dir(Path(where)))
    device = resolve_device(model_cfg.device)
    dtype = str(torch_dtype(model_cfg.dtype, device)).removeprefix("torch.")
    model_args: dict = {"pretrained": where, "dtype": dtype, "device": device}
    if kwargs.get("revision"):
        model_args["revision"] = kwargs["revision"]
    if adapter_dir is not None:
        model_args["peft"] = str(adapter_dir)
    manager = TaskManager(include_path=cap.lm_eval_include_path) if cap.lm_eval_include_path else TaskManager()
    res = lm_eval.simple_evaluate(model="hf", model_args=model_args, tasks=list(cap.lm_eval_tasks),
                                  num_fewshot=cap.lm_eval_num_fewshot, batch_size=cap.lm_eval_batch_size,
                                  limit=cap.lm_eval_limit, log_samples=True, task_manager=manager,
                                  random_seed=seed, numpy_random_seed=seed, torch_random_seed=seed,
                                  fewshot_random_seed=seed)
    if res is None:
        return {"results": {}, "samples": {}, "versions": {}}
    results: dict[str, dict] = {}
    samples: dict[str, dict[str, float]] = {}
    for task, values in res["results"].items():
        metrics = {k.split(",")[0]: float(v) for k, v in values.items()
                   if "," in k and not k.split(",")[0].endswith("_stderr") and isinstance(v, int | float)}
        stderr = {k.split(",")[0].removesuffix("_stderr"): float(v) for k, v in values.items()
                  if k.split(",")[0].endswith("_stderr") and isinstance(v, int | float)}
        if not metrics:
            continue
        name = next(iter(metrics))
        results[task] = {"metric": name, "value": metrics[name], "stderr": stderr.get(name), "metrics": metrics}
        samples[task] = {str(s["doc_id"]): float(s[name]) for s in res.get("samples", {}).get(task, [])
                         if isinstance(s.get(name), int | float)}
    return {"results": results, "samples": samples,
            "versions": {k: str(v) for k, v in (res.get("versions") or {}).items()},
            "lm_eval_version": getattr(lm_eval, "__version__", "")}


def lm_eval_metrics(runs: dict[str, dict], models: list[str], n_resamples: int = 2000, confidence: float = 0.95,
                    seed: int = 0, base: str = "base") -> dict:
    from scipy.stats import wilcoxon

    from bench_runner.metrics.compliance import _bootstrap_mean

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
                    lo, hi = _bootstrap_mean(diffs, n_resamples, confidence, seed) if len(keys) else (None, None)
                    p = float(wilcoxon(diffs).pvalue) if len(keys) > 1 and np.any(diffs != 0) else 1.0
                    row["vs_base"] = {"n_pairs": len(keys), "diff": float(diffs.mean()) if len(keys) else None,
                                      "ci_low": lo, "ci_high": hi, "p_value": p}
                row["vs_base"]["p_adjusted"] = None
            rows.append(row)
    holm_adjust([r.get("vs_base") for r in rows])
    return {"method": LM_EVAL_METHOD, "tasks": rows}
