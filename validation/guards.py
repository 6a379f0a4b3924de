"""Prompt guards for the harm-preserved check: a multilingual safety classifier asked whether a *prompt* is
unsafe, in English and in its translation (validation/scorers/harm.py).

A guard is a small protocol and a name in GUARDS, imported only when used; the validation stage never imports
the benchmark runner (a later stage), so the guard runs here on transformers directly.

`qwen3guard`: Qwen3Guard-Gen (Qwen, 2025; 119 languages, all nine of the study's) in prompt moderation, in the
format safedrift/core/guard.py holds once (shared with the benchmark's guard judge): the guard's own chat template
over [user: the prompt], greedy decoding, the card's `Safety:` line read. `qwen3guard-likelihood`: the same guard,
its Safety label the most likely of the three after "Safety:" (one batched forward pass per batch of prompts, no
decoding: fast, and a verdict from a model that never writes the format itself). Unsafe and Controversial count as
unsafe (a softened request that the guard still finds borderline is not lost); a generated output without a
Safety line is unparsed (None) and never flags a row.
"""

from __future__ import annotations

from typing import Any, Protocol

from safedrift.core.guard import is_unsafe, parse_guard, read_by_likelihood, render_guard
from safedrift.core.registry import LazyRegistry
from validation.config import HarmConfig

GUARDS = LazyRegistry("prompt guard", {
    "qwen3guard": "validation.guards:Qwen3GuardPrompt",
    "qwen3guard-likelihood": "validation.guards:Qwen3GuardPromptLikelihood",
})


class PromptGuard(Protocol):
    def describe(self) -> str:
        """The guard and its weights, as the report names them."""
        ...

    def unsafe(self, prompts: list[str]) -> list[bool | None]:
        """Per prompt: True when the guard finds it unsafe, False safe, None when its output is unparsed."""
        ...


def read_safety(output: str) -> bool | None:
    """The model card's Safety line as unsafe (True), safe (False) or missing (None)."""
    return is_unsafe(parse_guard(output)["safety"])


class Qwen3GuardPrompt:
    """Qwen3Guard-Gen's prompt moderation on transformers (see the module)."""

    def __init__(self, cfg: HarmConfig):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        assert cfg.model is not None  # HarmConfig requires it with a guard
        where = str(cfg.model.local_dir or cfg.model.hub_id)
        revision = None if cfg.model.local_dir else cfg.model.revision
        self.cfg = cfg
        self.label = f"{cfg.guard}:{where}" + (f"@{revision}" if revision else "")
        self.tokenizer = AutoTokenizer.from_pretrained(where, revision=revision)
        if cfg.chat_template:
            self.tokenizer.chat_template = cfg.chat_template
        self.tokenizer.padding_side = "left"  # a decoder continues the right end of every prompt
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        model: Any = AutoModelForCausalLM.from_pretrained(where, revision=revision)
        model.to(cfg.device)
        self.model = model.eval()

    def describe(self) -> str:
        return self.label

    def outputs(self, prompts: list[str]) -> list[str]:
        """The guard's raw text per prompt, greedy, in batches of `batch_size`."""
        import torch

        texts = [render_guard(self.tokenizer, p) for p in prompts]
        out: list[str] = []
        for start in range(0, len(texts), self.cfg.batch_size):
            batch = self.tokenizer(texts[start:start + self.cfg.batch_size], return_tensors="pt", padding=True,
                                   add_special_tokens=False).to(self.cfg.device)
            with torch.inference_mode():
                generated = self.model.generate(**batch, max_new_tokens=self.cfg.max_new_tokens, do_sample=False,
                                                pad_token_id=self.tokenizer.pad_token_id)
            new = generated[:, batch["input_ids"].shape[1]:]
            out += self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return out

    def unsafe(self, prompts: list[str]) -> list[bool | None]:
        return [read_safety(text) for text in self.outputs(prompts)]


class Qwen3GuardPromptLikelihood(Qwen3GuardPrompt):
    """The Safety label by likelihood (safedrift/core/guard.py, read_by_likelihood): no generation."""

    def reads(self, prompts: list[str]) -> list[dict]:
        """Per prompt: the chosen labels and their probabilities."""
        from safedrift.core.likelihood import continuation_logprobs

        def scorer(prefixes, candidates):
            # The rendered template carries its own special tokens, as in generation (add_special_tokens off).
            return continuation_logprobs(self.model, self.tokenizer, prefixes, candidates,
                                         batch_size=self.cfg.batch_size, add_special_tokens=False)

        return read_by_likelihood(scorer, [render_guard(self.tokenizer, p) for p in prompts], refusal=False)

    def unsafe(self, prompts: list[str]) -> list[bool | None]:
        return [is_unsafe(read["safety"]) for read in self.reads(prompts)]


# One guard per configuration and process: every language of every dataset shares its weights and its verdicts.
_LOADED: dict[str, tuple[PromptGuard, dict[str, bool | None]]] = {}


def classify(cfg: HarmConfig, prompts: list[str]) -> tuple[str, list[bool | None]]:
    """(the guard's description, its verdict per prompt); each distinct text is classified once per process."""
    assert cfg.guard is not None
    key = cfg.model_dump_json()
    if key not in _LOADED:
        _LOADED[key] = (GUARDS.create(cfg.guard, cfg), {})
    guard, seen = _LOADED[key]
    todo = list(dict.fromkeys(p for p in prompts if p not in seen))
    if todo:
        seen.update(zip(todo, guard.unsafe(todo), strict=True))
    return guard.describe(), [seen[p] for p in prompts]
