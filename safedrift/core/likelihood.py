"""How likely each of a few continuations is after each of many prefixes, on a causal LM loaded with transformers:
the scorer of a likelihood reading (safedrift/core/guard.py). torch is imported when it runs.

Per batch of prefixes (similar lengths, left-padded, positions counted from each row's first real token), one
forward pass with the cache kept; each candidate's first token is read from the prefix's last logits, and the
rest of the candidates from one more pass per candidate length over a copy of the cache repeated per candidate.
A candidate is tokenized on its own (no special tokens), so its tokens are the same after every prefix.
"""

from __future__ import annotations

from collections.abc import Sequence


def continuation_logprobs(model, tokenizer, prefixes: Sequence[str], candidates: Sequence[str], batch_size: int = 8,
                          add_special_tokens: bool = True) -> list[list[float]]:
    """Per prefix, per candidate: the summed log-probability of the candidate's tokens after the prefix."""
    import copy
    import inspect

    import torch

    if not prefixes:
        return []
    cand = [tokenizer(c, add_special_tokens=False)["input_ids"] for c in candidates]
    if any(not ids for ids in cand):
        raise ValueError("every candidate continuation needs at least one token")
    ids = [tokenizer(p, add_special_tokens=add_special_tokens)["input_ids"] for p in prefixes]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    device = next(model.parameters()).device
    by_length: dict[int, list[int]] = {}
    for j, c in enumerate(cand):
        if len(c) > 1:
            by_length.setdefault(len(c), []).append(j)
    # transformers renamed past_key_values to cache (5.x; the old name goes in 5.40): the forward's own name.
    accepts = inspect.signature(model.forward).parameters
    cache_name = "cache" if "cache" in accepts else "past_key_values"
    # The prefix needs its last position's logits only (the output layer is a fifth of a small model's compute).
    last_only = {"logits_to_keep": 1} if "logits_to_keep" in accepts else {}
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    out: list[list[float]] = [[] for _ in ids]
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        width = max(len(ids[i]) for i in idx)
        input_ids = torch.tensor([[pad] * (width - len(ids[i])) + ids[i] for i in idx], device=device)
        mask = torch.tensor([[0] * (width - len(ids[i])) + [1] * len(ids[i]) for i in idx], device=device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            first = model(input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=bool(by_length),
                          **last_only)
            logps = torch.log_softmax(first.logits[:, -1].float(), dim=-1)  # (B, V)
            scores = logps[:, [c[0] for c in cand]]  # (B, k)
            # The first token came from the prefix; the others of the candidates of one length in one pass on a
            # copy of the cache, one row per (prefix, candidate): row b * len(group) + j. No padding.
            for length, group in by_length.items():
                grown = copy.deepcopy(getattr(first, cache_name))
                grown.batch_repeat_interleave(len(group))
                fed = torch.tensor([cand[j][:-1] for j in group], device=device).repeat(len(idx), 1)
                more = model(input_ids=fed, attention_mask=torch.cat(
                    [mask.repeat_interleave(len(group), dim=0), torch.ones_like(fed)], -1),
                    position_ids=mask.sum(-1).repeat_interleave(len(group))[:, None] + torch.arange(
                        length - 1, device=device)[None, :], use_cache=False, **{cache_name: grown})
                more_logps = torch.log_softmax(more.logits.float(), dim=-1)  # token t + 1 at position t
                target = torch.tensor([cand[j][1:] for j in group], device=device).repeat(len(idx), 1)
                summed = more_logps.gather(-1, target[..., None])[..., 0].sum(-1).view(len(idx), len(group))
                scores[:, group] += summed
        for row, i in enumerate(idx):
            out[i] = scores[row].tolist()
    return out
