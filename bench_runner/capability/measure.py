"""Capability next to safety, so "safety drifted" can be told apart from "the model got worse": what the
capability stage measures per model (the statistics over it are bench_runner/metrics/capability.py).

(a) Held-out benign loss: per example, the summed negative log-likelihood, the token count and the UTF-8 bytes of
the reference answer (the benign release's `test` split, final assistant turn only: the tokens the fine-tune trains on).
(b) Optional lm-evaluation-harness tasks run on the HF model plus the adapter: Belebele in every language on the
paper grid, safedrift's own offline task (lm_eval_tasks/, safedrift_mc_<lang>) in tests and the sample.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench_runner.chat import DEFAULT_DATE_STRING, IGNORE_INDEX, encode_for_training
from bench_runner.config import CapabilityConfig, ModelConfig
from safedrift.core.errors import missing_extra
from safedrift.core.log import heartbeat, progress

# safedrift's own tiny lm-eval tasks (own items in lm-eval's YAML format), so the lm-eval path runs offline.
BUILTIN_TASKS = Path(__file__).parent / "lm_eval_tasks"


def heldout_nll(model, tokenizer, conversations: Sequence[tuple[str, list[dict]]], max_length: int,
                batch_size: int, date_string: str | None = DEFAULT_DATE_STRING, desc: str = "held-out loss") -> list[dict]:
    """Per (item id, conversation): {"item_id", "nll" (summed over answer tokens), "tokens", "bytes" (UTF-8 bytes
    of the scored text)}; an example whose answer max_length cut away entirely has tokens 0 (left out of the
    statistics)."""
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
            out.append({"item_id": conversations[start + j][0], "nll": float(s), "tokens": int(c),
                        "bytes": scored_bytes(tokenizer, part[j]["labels"])})
        bar.update(len(part))
    bar.close()
    return out


def scored_bytes(tokenizer, labels: Sequence[int]) -> int:
    """UTF-8 bytes of the answer text whose tokens carry loss (special tokens' text left out): the denominator of
    bits per byte, which compares across languages and tokenizers where nats per token do not."""
    ids = [t for t in labels[1:] if t != IGNORE_INDEX]  # position 0 is never a target
    return len(tokenizer.decode(ids, skip_special_tokens=True).encode("utf-8"))


# ---- lm-evaluation-harness --------------------------------------------------------------------------------------

def run_lm_eval(model_cfg: ModelConfig, adapter_dir: Path | None, cap: CapabilityConfig, seed: int = 0) -> dict:
    """lm_eval.simple_evaluate on the HF model plus the adapter: per task its metrics and per-document values."""
    try:
        import lm_eval
        from lm_eval.tasks import TaskManager
    except ImportError as exc:
        raise missing_extra("lm-eval", "lm-eval", " (capability.lm_eval_tasks is set)") from exc
    from bench_runner.models import resolve_device, torch_dtype, weights_location
    from bench_runner.serving.vllm import servable_model_dir

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
    # safedrift's own offline tasks (safedrift_mc_<lang>) are always found; a user's folder beside them.
    manager = TaskManager(include_path=[str(BUILTIN_TASKS), *([cap.lm_eval_include_path] if cap.lm_eval_include_path
                                                              else [])])
    # lm-eval's own log lines (a chat template not applied to safedrift's loglikelihood tasks, --metadata hints)
    # carry nothing for the user of a config: errors only while it runs. Its bars are off (safedrift.core.log);
    # a heartbeat instead.
    with heartbeat(f"lm-eval {', '.join(cap.lm_eval_tasks)}"), _errors_only():
        res = lm_eval.simple_evaluate(model="hf", model_args=model_args, tasks=list(cap.lm_eval_tasks),
                                      num_fewshot=cap.lm_eval_num_fewshot, batch_size=cap.lm_eval_batch_size,
                                      limit=cap.lm_eval_limit, log_samples=True, task_manager=manager,
                                      random_seed=seed, numpy_random_seed=seed, torch_random_seed=seed,
                                      fewshot_random_seed=seed)
    if res is None:
        return {"results": {}, "samples": {}, "versions": {}}
    results, samples = lm_eval_figures(res)
    return {"results": results, "samples": samples,
            "versions": {k: str(v) for k, v in (res.get("versions") or {}).items()},
            "lm_eval_version": getattr(lm_eval, "__version__", "")}


@contextmanager
def _errors_only() -> Iterator[None]:
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def lm_eval_figures(res: dict) -> tuple[dict[str, dict], dict[str, dict[str, float]]]:
    """Per task and filter (lm-eval reports "exact_match,strict-match" beside "exact_match,flexible-extract": two
    measurements, kept apart): its first metric, stderr, every metric, and the per-document values of that filter.
    A task with one filter keeps its own name; one with several becomes "<task> [<filter>]" per filter."""
    results: dict[str, dict] = {}
    samples: dict[str, dict[str, float]] = {}
    for task, values in res["results"].items():
        metrics: dict[str, dict[str, float]] = {}
        stderr: dict[str, dict[str, float]] = {}
        for key, v in values.items():
            if "," not in key or not isinstance(v, int | float):
                continue
            metric, filt = key.split(",", 1)
            if metric.endswith("_stderr"):
                stderr.setdefault(filt, {})[metric.removesuffix("_stderr")] = float(v)
            else:
                metrics.setdefault(filt, {})[metric] = float(v)
        for filt, mine in metrics.items():
            name = next(iter(mine))
            label = task if len(metrics) == 1 else f"{task} [{filt}]"
            results[label] = {"metric": name, "filter": filt, "value": mine[name],
                              "stderr": stderr.get(filt, {}).get(name), "metrics": mine}
            samples[label] = {str(s["doc_id"]): float(s[name]) for s in res.get("samples", {}).get(task, [])
                              if s.get("filter", filt) == filt and isinstance(s.get(name), int | float)}
    return results, samples
