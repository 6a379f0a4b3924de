"""What every judge that runs a chat model shares: its weights pinned like judge.model, and its chat-template
rendering handed to a completer (bench_runner.serving) without a doubled BOS."""

from __future__ import annotations

import os
from abc import abstractmethod
from typing import TYPE_CHECKING

from bench_runner.judge.base import Judge, Verdict
from bench_runner.registries import COMPLETERS
from safedrift.core.errors import ConfigError

if TYPE_CHECKING:
    from bench_runner.config import ModelConfig, RunConfig
    from bench_runner.plugin import Findings


def pinned_model(cfg: RunConfig, model: ModelConfig | None, key: str, missing: str) -> ModelConfig:
    """`model` (the config's `key`) with its device (its own, else the judge's) and a Hub revision resolved to its
    commit; `missing` is the error when it is not set. A branch would let the judge change between runs."""
    from bench_runner.judge.sorry_bench import judge_device
    from bench_runner.models import resolve_revision

    if model is None:
        raise ConfigError(missing)
    update: dict = {"device": model.device if "device" in model.model_fields_set else judge_device(cfg)}
    if model.hub_id:
        if "revision" not in model.model_fields_set:
            raise ConfigError(f"{key}.revision must pin {model.hub_id} to a commit sha; a branch would let the "
                              "judge change between runs.")
        update["revision"] = resolve_revision(model.hub_id, model.revision, key=key)
    return model.model_copy(update=update)


def without_bos(tokenizer, text: str) -> str:
    """`text` without a leading BOS when the tokenizer adds one itself (the completers tokenize with special
    tokens), so the model sees it once."""
    bos = tokenizer.bos_token
    adds_bos = bos is not None and tokenizer("a")["input_ids"][:1] == [tokenizer.bos_token_id]
    return text[len(bos):] if adds_bos and bos and text.startswith(bos) else text


def judge_backend(cfg: RunConfig) -> str:
    """Where a model judge runs: judge.backend, `same` meaning generation.backend."""
    return cfg.generation.backend if cfg.judge.backend == "same" else cfg.judge.backend


class ChatModelJudge(Judge):
    """A judge that renders each (request, answer) in a chat model's template, completes it greedily for
    `max_new_tokens` on a completer (judge.backend, `same` = the generation backend; never the configured judge
    server, which serves judge.model) and parses the output: the XSTest classifier and the guard. A subclass
    says which weights (`judge_weights`, read from the config key `model_key`), how it renders and parses."""

    max_new_tokens: int
    model_key: str  # the config key of the weights, named in errors
    checked_as: str  # how preflight names the judge: "judge <checked_as> on <model>"

    def __init__(self, cfg: RunConfig, log_path: str | os.PathLike | None = None):
        self.model_cfg = self.judge_weights(cfg)
        settings = cfg.judge.model_copy(update={"base_url": None, "served_name": None})
        self.backend_name = judge_backend(cfg)
        self.completer = COMPLETERS.get(self.backend_name).for_judge(self.model_cfg, settings, cfg.generation.vllm,
                                                                     log_path)
        self._tokenizer = None

    @classmethod
    @abstractmethod
    def judge_weights(cls, cfg: RunConfig) -> ModelConfig:
        """The judge's model, pinned (pinned_model); a ConfigError saying what to set when there is none."""

    @classmethod
    def check(cls, cfg: RunConfig, found: Findings) -> None:
        try:
            model = cls.judge_weights(cfg)
        except ConfigError as exc:
            found.problems.append(str(exc).rstrip("."))
            return
        found.checked.append(f"judge {cls.checked_as} on {model.label}")

    @property
    def tag(self) -> str:
        return f"{self.name}:{self.model_cfg.label}"

    def close(self) -> None:
        self.completer.close()

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            from bench_runner.models import load_tokenizer

            self._tokenizer = load_tokenizer(self.model_cfg, key=self.model_key)
        return self._tokenizer

    @abstractmethod
    def render(self, request: str, answer: str) -> str:
        """The prompt text for one answer, without a leading BOS (without_bos)."""

    @abstractmethod
    def verdict(self, output: str) -> Verdict:
        """The verdict the model's output gives."""

    def judge(self, requests: list[str], responses: list[str], languages: list[str]) -> list[Verdict]:
        texts = [self.render(q, a) for q, a in zip(requests, responses, strict=True)]
        return [self.verdict(out) for out in self.completer.complete(texts, max_tokens=self.max_new_tokens)]
