"""Chat-template rendering with the model's own template, assistant-only labels, and <think> stripping."""

from __future__ import annotations

import os

IGNORE_INDEX = -100
# The date Llama-3.x templates print when no date is given and strftime is unavailable (their own fallback).
DEFAULT_DATE_STRING = "26 Jul 2024"


def is_qwen3(tokenizer) -> bool:
    template = tokenizer.chat_template or ""
    return "enable_thinking" in template


def render(tokenizer, messages: list[dict], add_generation_prompt: bool,
           date_string: str | None = DEFAULT_DATE_STRING) -> str:
    """Render a conversation to text; templates that can think (Qwen3) are rendered with thinking off.

    Templates that print a date (Llama-3.x reads `date_string`, else today's date) get a fixed one, so the
    same run on another day renders the same prompts; templates without a date ignore it.
    """
    return tokenizer.apply_chat_template(
        list(messages), tokenize=False, add_generation_prompt=add_generation_prompt,
        **template_kwargs(tokenizer, date_string)
    )


def template_kwargs(tokenizer, date_string: str | None = DEFAULT_DATE_STRING) -> dict:
    """What every rendering passes to the chat template: thinking off (Qwen3), the fixed date (Llama-3.x)."""
    kwargs: dict = {"enable_thinking": False} if is_qwen3(tokenizer) else {}
    if date_string is not None:
        kwargs["date_string"] = date_string
    return kwargs


def prompt_completion(tokenizer, messages: list[dict], date_string: str | None = DEFAULT_DATE_STRING) -> dict:
    """A conversation as TRL's conversational prompt-completion example: the loss falls on the final assistant
    turn only, and the template is rendered with the same arguments as render() (`chat_template_kwargs`)."""
    example = {"prompt": list(messages[:-1]), "completion": [messages[-1]]}
    kwargs = template_kwargs(tokenizer, date_string)
    return {**example, "chat_template_kwargs": kwargs} if kwargs else example


def encode_for_training(tokenizer, messages: list[dict], max_length: int,
                        date_string: str | None = DEFAULT_DATE_STRING) -> dict:
    """input_ids + labels with the loss on the final assistant turn only (prompt tokens are -100), and
    `truncated`: whether max_length cut the example."""
    prompt_text = render(tokenizer, messages[:-1], add_generation_prompt=True, date_string=date_string)
    full_text = render(tokenizer, messages, add_generation_prompt=False, date_string=date_string)
    # Some templates render the generation prompt differently from a finished turn; split at the common prefix.
    split = len(os.path.commonprefix([prompt_text, full_text]))
    prompt_ids = tokenizer(full_text[:split], add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full_text[split:], add_special_tokens=False)["input_ids"]
    input_ids = (prompt_ids + answer_ids)[:max_length]
    labels = ([IGNORE_INDEX] * len(prompt_ids) + answer_ids)[:max_length]
    return {"input_ids": input_ids, "labels": labels,
            "truncated": len(prompt_ids) + len(answer_ids) > max_length}


def strip_thinking(text: str) -> str:
    """Drop a <think>…</think> block; an unclosed block means the model never answered."""
    if "<think>" not in text:
        return text.strip()
    head, _, rest = text.partition("<think>")
    if "</think>" not in rest:
        return ""
    return (head + rest.split("</think>", 1)[1]).strip()
