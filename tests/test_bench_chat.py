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


# Shaped like Llama-3.2's template where it matters here: it prints a date, `date_string` or else today's.
DATED = (
    "{%- if not date_string is defined %}{%- if strftime_now is defined %}"
    "{%- set date_string = strftime_now('%d %b %Y') %}{%- else %}{%- set date_string = '26 Jul 2024' %}"
    "{%- endif %}{%- endif %}"
    "<|im_start|>system\nToday Date: {{ date_string }}<|im_end|>\n"
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def test_templates_that_print_a_date_get_a_fixed_one():
    import datetime as dt

    tok = train_tokenizer(DATED)
    assert "Today Date: 26 Jul 2024<|im_end|>" in render(tok, CONV[:1], add_generation_prompt=True)
    assert "Today Date: 01 Jan 2000<|im_end|>" in render(tok, CONV[:1], True, date_string="01 Jan 2000")
    # None leaves the template to itself: it prints today's date, so prompts would change from day to day.
    today = dt.date.today().strftime("%d %b %Y")
    assert f"Today Date: {today}" in render(tok, CONV[:1], True, date_string=None)
    enc = encode_for_training(tok, CONV, max_length=256)
    assert "Today Date: 26 Jul 2024" in tok.decode(enc["input_ids"]) and enc["truncated"] is False
    # A template without a date ignores the variable.
    plain = train_tokenizer()
    assert render(plain, CONV[:1], True) == render(plain, CONV[:1], True, date_string="01 Jan 2000")


def test_truncation_is_reported(tok):
    assert encode_for_training(tok, CONV, max_length=10)["truncated"] is True
    assert encode_for_training(tok, CONV, max_length=256)["truncated"] is False
