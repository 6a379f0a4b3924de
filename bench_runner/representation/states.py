"""Hidden states of a probe set, per layer, pooled three ways.

A probe is rendered with the chat template and the generation prompt (the state the model answers from), so
most of its tokens are the template's: on SmolLM2 only ~8 of 38 are the user's words, and the first token's
state has a norm ~150x the median. Pooling:

- "content": the mean over the tokens of the user's own text (found through the tokenizer's offsets, every user
  turn; BOS, role headers, system prompt and generation prompt excluded): what the fine-tune did to the request;
- "last": the last prompt token, the state the first answer token is read from;
- "mean": the mean over every prompt token, template included (kept to compare with earlier runs).

Layers are the raw residual stream after each transformer block. transformers hands back the final norm's output
in place of the last block's raw stream; the raw one is read from the final norm's input instead, and the final
norm's output is kept apart under its own name ("final_norm").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from safedrift.core.errors import ConfigError
from safedrift.core.log import progress

POOLINGS = ("content", "last", "mean")


@dataclass(frozen=True)
class ProbeTokens:
    """One rendered probe: its token ids and which of them are the user's text."""

    ids: list[int]
    content: list[bool]


def content_spans(text: str, contents: Sequence[str]) -> list[tuple[int, int]]:
    """Character spans of each user turn's text inside the rendered prompt, searched left to right."""
    spans, start = [], 0
    for content in contents:
        at = text.find(content, start) if content else -1
        if at < 0:
            raise ValueError(f"a user turn is not in its rendered prompt (the chat template rewrites it): {content[:60]!r}")
        spans.append((at, at + len(content)))
        start = at + len(content)
    return spans


def probe_tokens(tokenizer, text: str, contents: Sequence[str], max_length: int) -> ProbeTokens:
    """Token ids of a rendered probe and its content mask; a prompt longer than max_length keeps its last
    max_length tokens (the generation prompt stays)."""
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError("content-token pooling needs a fast tokenizer (character offsets); load the model's "
                          "tokenizer.json with transformers' AutoTokenizer")
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    spans = content_spans(text, contents)
    # A token is content when it overlaps a user span (a merge across the edge counts: BPE joins "\n" and a word).
    mask = [any(s < hi and e > lo for lo, hi in spans) and e > s for s, e in enc["offset_mapping"]]
    ids = list(enc["input_ids"])
    return ProbeTokens(ids[-max_length:], mask[-max_length:])


def _final_norm(model):
    """The decoder's final norm (its input is the last block's raw residual stream)."""
    decoder = model.get_decoder()  # a peft model hands the call on to the model it wraps
    if not hasattr(decoder, "norm"):
        raise ConfigError(f"{type(decoder).__name__} has no final `norm` module to read the last raw layer from; "
                          "representational drift supports decoder-only models with a final norm (Llama, Qwen, Gemma)")
    return decoder.norm


def hidden_states(model, probes: Sequence[ProbeTokens], batch_size: int,
                  desc: str = "hidden states") -> dict[str, np.ndarray]:
    """{pooling: [layers, n, d]} for every pooling in POOLINGS, and {"final_norm_<pooling>": [n, d]}, float32."""
    import torch

    device = next(model.parameters()).device
    norm_io: list = []  # (the final norm's input, its output): the last block's raw stream and the normed one
    hook = _final_norm(model).register_forward_hook(lambda _module, args, out: norm_io.append((args[0], out)))
    out: dict[str, list[np.ndarray]] = {key: [] for key in (*POOLINGS, *(f"final_norm_{p}" for p in POOLINGS))}
    bar = progress(total=len(probes), desc=desc, unit="probe")
    try:
        for start in range(0, len(probes), batch_size):
            part = probes[start : start + batch_size]
            width = max(len(p.ids) for p in part)
            ids = torch.zeros((len(part), width), dtype=torch.long)
            mask = torch.zeros((len(part), width), dtype=torch.long)
            content = torch.zeros((len(part), width), dtype=torch.float32)
            for i, p in enumerate(part):  # right padding: causal attention never looks at it
                ids[i, : len(p.ids)], mask[i, : len(p.ids)] = torch.tensor(p.ids), 1
                content[i, : len(p.ids)] = torch.tensor(p.content, dtype=torch.float32)
            if (content.sum(dim=1) == 0).any():
                raise ValueError("a probe has no user-text token left after representation.max_length; raise it")
            norm_io.clear()
            with torch.no_grad():
                res = model(input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True)
            # hidden_states[0] is the embeddings and [-1] (in current transformers) the final norm's output: the
            # blocks' raw outputs are [1:-1] and the final norm's input, read from the norm itself either way.
            raw = torch.stack([*res.hidden_states[1:-1], norm_io[-1][0]]).float()  # [layers, batch, tokens, d]
            normed = norm_io[-1][1].float()[None]
            for states, prefix in ((raw, ""), (normed, "final_norm_")):
                for pool, pooled in _pool(states, mask.to(device), content.to(device)).items():
                    arr = pooled.cpu().numpy()
                    out[prefix + pool].append(arr[0] if prefix else arr)
            bar.update(len(part))
    finally:
        hook.remove()
        bar.close()
    return {key: np.concatenate(parts, axis=1 if key in POOLINGS else 0) for key, parts in out.items()}


def _pool(states, mask, content) -> dict:
    """[layers, batch, tokens, d] -> {pooling: [layers, batch, d]}."""
    import torch

    lengths = mask.sum(dim=1)
    last = states[:, torch.arange(states.shape[1], device=states.device), lengths - 1]
    weights = {"content": content, "mean": mask.float()}
    pooled = {name: (states * w[None, :, :, None]).sum(dim=2) / w.sum(dim=1)[None, :, None]
              for name, w in weights.items()}
    return {"content": pooled["content"], "last": last, "mean": pooled["mean"]}
