"""Chat-template rendering with the model's own template, assistant-only labels, and <think> stripping."""

from __future__ import annotations

import os

IGNORE_INDEX = -100


def is_qwen3(tokenizer) -> bool:
    template = tokenizer.chat_template or ""
    return "enable_thinking" in template


def render(tokenizer, messages: list[dict], add_generation_prompt: bool) -> str:
    """Render a conversation to text; templates that can think (Qwen3) are rendered with thinking off."""
    kwargs = {"enable_thinking": False} if is_qwen3(tokenizer) else {}
    return tokenizer.apply_chat_template(
        list(messages), tokenize=False, add_generation_prompt=add_generation_prompt, **kwargs
    )


def encode_for_training(tokenizer, messages: list[dict], max_length: int) -> dict:
    """input_ids + labels with the loss on the final assistant turn only (prompt tokens are -100)."""
    prompt_text = render(tokenizer, messages[:-1], add_generation_prompt=True)
    full_text = render(tokenizer, messages, add_generation_prompt=False)
    # Some templates render the generation prompt differently from a finished turn; split at the common prefix.
    split = len(os.path.commonprefix([prompt_text, full_text]))
    prompt_ids = tokenizer(full_text[:split], add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full_text[split:], add_special_tokens=False)["input_ids"]
    input_ids = (prompt_ids + answer_ids)[:max_length]
    labels = ([IGNORE_INDEX] * len(prompt_ids) + answer_ids)[:max_length]
    return {"input_ids": input_ids, "labels": labels}


def strip_thinking(text: str) -> str:
    """Drop a <think>…</think> block; an unclosed block means the model never answered."""
    if "<think>" not in text:
        return text.strip()
    head, _, rest = text.partition("<think>")
    if "</think>" not in rest:
        return ""
    return (head + rest.split("</think>", 1)[1]).strip()
