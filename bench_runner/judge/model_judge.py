"""What every judge that runs a chat model shares: its weights pinned like judge.model, and its chat-template
rendering handed to a completer (bench_runner.serving) without a doubled BOS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safedrift.core.errors import ConfigError

if TYPE_CHECKING:
    from bench_runner.config import ModelConfig, RunConfig


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
