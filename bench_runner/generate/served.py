"""A served model's answers (config `models:` with `served:`): the prompts rendered with model's chat template,
exactly as for the base model, sent as text to the server's /v1/completions (bench_runner.serving.server's
client), one request per prompt with the language's answer budget and the sample's seed; or, with `api: chat`
(a hosted API without completions), the messages to /v1/chat/completions, rendered by the server's own template.

The server is asked first whether it serves the model under the configured name (/v1/models); the API key is read
from the environment variable the config names, sent as a Bearer token and never written down.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bench_runner.chat import render
from bench_runner.generate.backend import Answer, ModelJob
from bench_runner.generate.decoding import sample_index
from bench_runner.serving.sampling import SamplingParams, prompt_budgets
from bench_runner.serving.server import CHAT, COMPLETIONS, ServerClient, ServerError
from bench_runner.serving.vllm import request_body
from safedrift.core.errors import ConfigError
from safedrift.core.log import progress

if TYPE_CHECKING:
    from bench_runner.config import RunConfig, ServedModelConfig
    from bench_runner.data import Prompt


def generate_served(cfg: RunConfig, served: ServedModelConfig, job: ModelJob) -> dict:
    """Answer `job.todo` through the served model; the manifest's extra fields ("stats", "server")."""
    from bench_runner.models import load_tokenizer

    g = cfg.generation
    client, entry = served_model(served, job.model, g.vllm.request_timeout_s)
    tok = load_tokenizer(cfg.model)
    budgets = prompt_budgets(g, tok, job.prompts)
    params = SamplingParams(g.max_new_tokens, g.temperature, g.top_p, g.seed)
    todo = job.todo
    texts = [render(tok, list(p.messages), add_generation_prompt=True, date_string=cfg.model.date_string)
             for p in todo]
    bodies = [{**request(served, params.with_budget(budgets[p.language]), p, text), "seed": g.seed + sample_index(p.uid)}
              for p, text in zip(todo, texts, strict=True)]
    endpoint = CHAT if served.api == "chat" else COMPLETIONS
    # the samples row's `prompt` is the text the model saw: unknown under chat (the server renders the messages)
    shown = texts if endpoint == COMPLETIONS else [""] * len(todo)
    new_tokens = truncated = 0
    bar = progress(total=len(job.prompts), initial=len(job.prompts) - len(todo), desc=f"generate {job.model} "
                   f"(served)", unit="prompt")
    t0 = time.perf_counter()
    batch: list[Answer] = []
    for i, c in client.stream_completions(bodies, served.max_concurrency, endpoint):
        sent = params.with_budget(budgets[todo[i].language])
        recorded = {k: v for k, v in bodies[i].items() if k not in ("prompt", "messages")}
        batch.append(Answer(todo[i], shown[i], c.text, c.completion_tokens, c.finish_reason == "length",
                            {"backend": "served", "api": served.api, "request": recorded,
                             "params": {**sent.to_dict(), "seed": bodies[i]["seed"]}}))
        new_tokens += c.completion_tokens
        truncated += c.finish_reason == "length"
        if len(batch) >= g.batch_size:
            job.write(batch)
            bar.update(len(batch))
            batch = []
    if batch:
        job.write(batch)
        bar.update(len(batch))
    bar.close()
    seconds = time.perf_counter() - t0
    stats = {"backend": "served", "new_tokens": new_tokens, "truncated": truncated, "requests": len(bodies),
             "max_new_tokens": budgets, "seconds": seconds, "tokens_per_s": new_tokens / seconds if seconds else None}
    return {"stats": stats, "server": {"base_url": client.url, "name": served.name, "api": served.api,
                                       "root": entry.get("root"), "version": client.version()}}


def served_model(served: ServedModelConfig, label: str, timeout_s: float = 3600.0) -> tuple[ServerClient, dict]:
    """A client of the model's server (with the API key from the environment) and the server's /v1/models entry for
    it; a key not set, a server not answering or a model it does not list is one sentence (ConfigError)."""
    from bench_runner.finetune.imported import api_key

    client = ServerClient(served.base_url, timeout_s, api_key(served, label))
    where = f"models: {label!r} is served at {served.base_url}"
    try:
        listed = client.models()
    except ServerError as exc:
        reason = str(exc).split("; ")[0].rstrip(".")
        raise ConfigError(f"{where}, which did not list its models ({reason}); start the server, or fix base_url "
                          "(and api_key_env for a server that needs a key).") from None
    entry = next((m for m in listed if str(m.get("id")) == served.name), None)
    if entry is None:
        have = ", ".join(repr(str(m.get("id"))) for m in listed) or "none"
        raise ConfigError(f"{where}, which serves no model named {served.name!r} (it has {have}); fix served.name.")
    return client, entry


def request(served: ServedModelConfig, params: SamplingParams, prompt: Prompt, text: str) -> dict:
    """One request: the rendered text to /v1/completions (exactly as vLLM serves the base model and its adapters),
    or the messages to /v1/chat/completions with only the standard OpenAI fields (a hosted API refuses others)."""
    if served.api == "completions":
        return {**request_body(served.name, params), "prompt": text}
    return {"model": served.name, "messages": list(prompt.messages), "max_tokens": params.max_new_tokens,
            "temperature": params.temperature, "top_p": params.top_p, "n": 1}
