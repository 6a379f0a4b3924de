"""generation.backend: transformers — batched `model.generate` in this process, one model at a time."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench_runner.chat import render
from bench_runner.config import ModelConfig
from bench_runner.generate.backend import Answer, GenerationBackend, ModelJob
from bench_runner.serving.sampling import SamplingParams, prompt_budgets
from safedrift.core.log import progress


@dataclass
class BatchResult:
    indices: list[int]  # positions in the input list
    texts: list[str]  # raw decoded completions (special tokens removed)
    new_tokens: list[int]  # up to and including the end token
    # Reached max_new_tokens without an end token: the answer was cut, not finished.
    truncated: list[bool] = field(default_factory=list)


class TransformersGenerator:
    """One model (+ adapter): batched `model.generate` with left padding and length-sorted batches."""

    def __init__(self, model: ModelConfig | None = None, adapter_dir: Path | None = None, batch_size: int = 16,
                 loaded=None):
        from bench_runner.models import load_model

        if loaded is None and model is None:
            raise ValueError("TransformersGenerator needs a model config or a loaded model")
        self.loaded = loaded if loaded is not None else load_model(model, adapter_dir=adapter_dir)  # type: ignore[arg-type]
        self.model = self.loaded.model
        self.tokenizer = self.loaded.tokenizer
        self.batch_size = batch_size
        self.stats: dict = {"new_tokens": 0, "seconds": 0.0, "truncated": 0}

    def generate(self, prompts: list[str], params: SamplingParams) -> Iterator[BatchResult]:
        import torch

        tok = self.tokenizer
        tok.padding_side = "left"  # decoder-only models continue from the right edge
        lengths = [len(ids) for ids in tok(prompts, add_special_tokens=False)["input_ids"]]
        # Longest first: similar lengths share a batch (less padding) and an OOM shows up at once.
        order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
        device = next(self.model.parameters()).device
        end_ids = end_token_ids(self.model, tok)
        # Stop on every end token we count (Gemma ends a turn with <end_of_turn>, not the tokenizer's <eos>).
        gen_kwargs = {"max_new_tokens": params.max_new_tokens, "pad_token_id": tok.pad_token_id,
                      "eos_token_id": sorted(end_ids) or None}
        if params.temperature > 0:
            gen_kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        else:
            gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        torch.manual_seed(params.seed)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            enc = tok([prompts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False)
            enc = {k: v.to(device) for k, v in enc.items()}
            t0 = time.perf_counter()
            with torch.inference_mode():
                out = self.model.generate(**enc, **gen_kwargs)
            if device.type == "cuda":
                torch.cuda.synchronize()
            self.stats["seconds"] += time.perf_counter() - t0
            new = out[:, enc["input_ids"].shape[1] :]
            # Finished rows are padded after their end token, so the first end token marks the answer's end.
            counts, ended = _count_until_eos(new, end_ids)
            n_new = [int(x) for x in counts.tolist()]
            cut = [not e and n >= params.max_new_tokens for e, n in zip(ended.tolist(), n_new, strict=True)]
            self.stats["new_tokens"] += sum(n_new)
            self.stats["truncated"] += sum(cut)
            texts = tok.batch_decode(new, skip_special_tokens=True)
            yield BatchResult(indices=idx, texts=texts, new_tokens=n_new, truncated=cut)

    def close(self) -> None:
        self.model = None
        self.loaded = None


def end_token_ids(model, tokenizer) -> set[int]:
    """Tokens that end an answer: the model's generation_config eos ids (an int or a list; Gemma-3 and
    Llama-3 list their end-of-turn tokens there) plus the tokenizer's eos."""
    ids: set[int] = set()
    for value in (getattr(getattr(model, "generation_config", None), "eos_token_id", None),
                  tokenizer.eos_token_id):
        if value is None:
            continue
        ids.update(int(v) for v in (value if isinstance(value, list | tuple) else [value]))
    return ids


def _count_until_eos(new, stop_ids: Iterable[int]):
    """(tokens per row up to and including the first stop token, whether the row has one).

    `new` holds the generated tokens of a batch; a finished row is padded after its end token. Rows without
    a stop token ran to the batch's last column.
    """
    import torch

    is_stop = torch.zeros_like(new, dtype=torch.bool)
    for sid in set(stop_ids):
        is_stop |= new == sid
    ended = is_stop.any(dim=1)
    first = is_stop.int().argmax(dim=1) + 1
    counts = torch.where(ended, first, torch.full_like(first, new.shape[1]))
    return counts, ended


class TransformersBackend(GenerationBackend):
    """The registered backend: each model in turn, loaded here with its adapter, answers its prompts in batches
    that are appended to its samples as they finish."""

    name = "transformers"

    def run(self, jobs: list[ModelJob]) -> dict[str, dict]:
        return {job.model: {"stats": self._run_one(job)} for job in jobs}

    def _run_one(self, job: ModelJob) -> dict:
        stats: dict = {}
        todo = job.todo  # fixed now: job.todo shrinks as answers are written
        if todo:
            gen = TransformersGenerator(job.checkpoint or self.cfg.model, job.adapter, self.cfg.generation.batch_size)
            texts = [render(gen.tokenizer, list(p.messages), add_generation_prompt=True,
                            date_string=self.cfg.model.date_string) for p in todo]
            budgets = prompt_budgets(self.cfg.generation, gen.tokenizer, job.prompts)
            bar = progress(total=len(job.prompts), initial=len(job.prompts) - len(todo),
                           desc=f"generate {job.model}", unit="prompt")
            for params, part in self._groups(todo, budgets):
                record = {"params": params.to_dict()}
                for batch in gen.generate([texts[i] for i in part], params):
                    cut: list[bool | None] = list(batch.truncated) or [None] * len(batch.indices)
                    job.write([Answer(todo[part[i]], texts[part[i]], raw, n, c, record) for i, raw, n, c in
                               zip(batch.indices, batch.texts, batch.new_tokens, cut, strict=True)])
                    bar.update(len(batch.indices))
            bar.close()
            stats = {**gen.stats, "max_new_tokens": budgets}
            gen.close()
        if stats.get("seconds"):
            stats["tokens_per_s"] = stats["new_tokens"] / stats["seconds"]
        return stats

    def _groups(self, todo: list, budgets: dict[str, int]) -> list[tuple[SamplingParams, list[int]]]:
        """The prompts (positions in todo) per answer budget: one group, batched across languages as before, when
        every language has the same budget; else one group per budget."""
        by_budget: dict[int, list[int]] = {}
        for i, p in enumerate(todo):
            by_budget.setdefault(budgets[p.language], []).append(i)
        return [(self.params.with_budget(n), part) for n, part in by_budget.items()]
