"""LoRA fine-tuning (peft) on chat conversations, loss on assistant tokens only."""

from __future__ import annotations

import math
import time
from pathlib import Path

from bench_runner.chat import DEFAULT_DATE_STRING, IGNORE_INDEX, encode_for_training
from bench_runner.config import LoraConfig, TrainingConfig
from safedrift.errors import DataError
from safedrift.log import track


def collate(examples: list[dict], pad_id: int):
    import torch

    width = max(len(e["input_ids"]) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for i, e in enumerate(examples):
        n = len(e["input_ids"])
        ids[i, :n] = torch.tensor(e["input_ids"])
        labels[i, :n] = torch.tensor(e["labels"])
        mask[i, :n] = 1
    return ids, mask, labels


def total_steps(n_rows: int, cfg: TrainingConfig) -> int:
    if cfg.max_steps:
        return cfg.max_steps
    return max(1, math.ceil((cfg.epochs or 1.0) * n_rows / cfg.batch_size))


def train_lora(model, tokenizer, conversations: list[list[dict]], lora: LoraConfig, training: TrainingConfig,
               adapter_dir: str | Path, desc: str = "finetune", date_string: str | None = DEFAULT_DATE_STRING) -> dict:
    """Train a LoRA adapter on `model` in place, save it to adapter_dir, return loss curve and throughput.

    Also what training saw: `trained_tokens` (assistant tokens that carried loss, summed over the steps, after
    max_length truncation), `examples_truncated` (cut by max_length) and `examples_dropped` (no assistant
    token left after the cut, so not trained on at all).
    """
    import torch
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    torch.manual_seed(training.seed)
    encoded = [encode_for_training(tokenizer, conv, training.max_length, date_string) for conv in conversations]
    examples = [e for e in encoded if any(x != IGNORE_INDEX for x in e["labels"])]
    if not examples:
        raise DataError(
            f"no training example keeps an assistant token within max_length={training.max_length}; raise it."
        )
    peft_model = get_peft_model(
        model,
        PeftLoraConfig(
            task_type="CAUSAL_LM", r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
            target_modules=list(lora.target_modules),
        ),
    )
    peft_model.train()
    device = next(peft_model.parameters()).device
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=training.lr)
    steps = total_steps(len(examples), training)
    gen = torch.Generator().manual_seed(training.seed)
    order: list[int] = []
    losses: list[float] = []
    tokens = 0
    trained_tokens = 0
    start = time.perf_counter()
    for _step in track(range(steps), desc=desc, unit="step"):
        if len(order) < training.batch_size:
            order += torch.randperm(len(examples), generator=gen).tolist()
        batch, order = order[: training.batch_size], order[training.batch_size :]
        ids, mask, labels = collate([examples[i] for i in batch], tokenizer.pad_token_id)
        ids, mask, labels = ids.to(device), mask.to(device), labels.to(device)
        out = peft_model(input_ids=ids, attention_mask=mask, labels=labels)
        out.loss.backward()
        optim.step()
        optim.zero_grad(set_to_none=True)
        losses.append(float(out.loss.detach()))
        tokens += int(mask.sum())
        trained_tokens += int((labels != IGNORE_INDEX).sum())
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peft_model.save_pretrained(str(adapter_dir))
    peft_model.eval()
    return {
        "steps": steps,
        "examples": len(examples),
        "loss": losses,
        "tokens": tokens,
        "trained_tokens": trained_tokens,
        "examples_truncated": sum(e["truncated"] for e in encoded),
        "examples_dropped": len(encoded) - len(examples),
        "seconds": seconds,
        "tokens_per_s": tokens / seconds if seconds > 0 else None,
        "trainable_params": sum(p.numel() for p in params),
    }
