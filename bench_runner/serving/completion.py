"""Greedy completions of literal prompt texts for a model judge: in this process (transformers), or from a
server (bench_runner.serving.vllm.VllmCompleter). Both are found by name in bench_runner.registries.COMPLETERS
and made with `for_judge`, so a judge never branches on where it runs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from bench_runner.config import JudgeConfig, ModelConfig, VllmConfig


class LocalCompleter:
    """The model loaded here; the texts tokenized with the tokenizer's special tokens (its BOS), batches of
    similar length left-padded, greedy `generate`."""

    def __init__(self, model: ModelConfig, batch_size: int = 8, key: str = "judge.model"):
        self.model_cfg, self.batch_size, self.key = model, batch_size, key
        self.loaded: Any = None

    @classmethod
    def for_judge(cls, model: ModelConfig, settings: JudgeConfig, vllm: VllmConfig,
                  log_path: str | os.PathLike | None) -> LocalCompleter:
        return cls(model, settings.batch_size)

    def load(self):
        if self.loaded is None:
            from bench_runner.models import load_model

            self.loaded = load_model(self.model_cfg, key=self.key)
        return self.loaded

    def complete(self, texts: Sequence[str], max_tokens: int) -> list[str]:
        import torch

        if not texts:
            return []
        loaded = self.load()
        tok, model = loaded.tokenizer, loaded.model
        ids = [tok(t)["input_ids"] for t in texts]
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        device = next(model.parameters()).device
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # similar lengths share a batch
        outputs = [""] * len(ids)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            width = max(len(ids[i]) for i in idx)
            input_ids = torch.tensor([[pad] * (width - len(ids[i])) + ids[i] for i in idx], device=device)
            mask = torch.tensor([[0] * (width - len(ids[i])) + [1] * len(ids[i]) for i in idx], device=device)
            with torch.inference_mode():
                out = model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=max_tokens,
                                     do_sample=False, num_beams=1, temperature=None, top_p=None, top_k=None,
                                     pad_token_id=pad)
            for i, text in zip(idx, tok.batch_decode(out[:, width:], skip_special_tokens=True), strict=True):
                outputs[i] = text
        return outputs

    def describe(self) -> dict | None:
        return None  # nothing served

    def close(self) -> None:
        self.loaded = None
