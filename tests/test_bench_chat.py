"""Chat rendering: assistant-only labels, Qwen3-style thinking disabled, <think> stripping."""

from __future__ import annotations

import pytest
from support.tiny_lm import QWEN3_LIKE, train_tokenizer

from bench_runner.chat import IGNORE_INDEX, encode_for_training, render, strip_thinking

CONV = [{"role": "user", "content": "Name three colours of a rainbow."},
        {"role": "assistant", "content": "Red, green and blue."}]


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer()


def test_loss_only_on_the_assistant_turn(tok):
    enc = encode_for_training(tok, CONV, max_length=256)
    assert len(enc["input_ids"]) == len(enc["labels"])
    trained = [t for t, lab in zip(enc["input_ids"], enc["labels"], strict=True) if lab != IGNORE_INDEX]
    n_prompt = enc["labels"].index(next(x for x in enc["labels"] if x != IGNORE_INDEX))
    assert all(x == IGNORE_INDEX for x in enc["labels"][:n_prompt])
    assert tok.decode(trained) == "Red, green and blue.<|im_end|>\n"
    assert tok.decode(enc["input_ids"][:n_prompt]).endswith("<|im_start|>assistant\n")


def test_max_length_truncates(tok):
    enc = encode_for_training(tok, CONV, max_length=10)
    assert len(enc["input_ids"]) == len(enc["labels"]) == 10


def test_qwen3_templates_render_with_thinking_disabled():
    tok = train_tokenizer(QWEN3_LIKE)
    text = render(tok, CONV[:1], add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    enc = encode_for_training(tok, CONV, max_length=256)
    trained = [t for t, lab in zip(enc["input_ids"], enc["labels"], strict=True) if lab != IGNORE_INDEX]
    assert tok.decode(trained) == "Red, green and blue.<|im_end|>\n"


@pytest.mark.parametrize(
    "raw, answer",
    [("Plain answer.", "Plain answer."), ("<think>reasoning</think>\n\nThe answer.", "The answer."),
     ("<think>\n\n</think>\n\nHi", "Hi"), ("<think>never closed because max tokens", ""), ("  x  ", "x")],
)
def test_strip_thinking(raw, answer):
    assert strip_thinking(raw) == answer
