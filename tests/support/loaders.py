"""The loaders' rows without their counts and card lines: what the tests of one source or rule look at."""

from __future__ import annotations

from builders.config import BenignSourceConfig, HygieneConfig, XSTestConfig
from builders.sources import load_benign_counted, refusal_rule
from builders.xstest import read_xstest


def load_benign(spec: BenignSourceConfig, hygiene: HygieneConfig | None = None) -> list[dict]:
    """One benign source's records."""
    return load_benign_counted(spec, hygiene)[0]


def load_xstest(cfg: XSTestConfig) -> list[dict]:
    """Every prompt of the configured file or Hub copy, validated, sorted by id."""
    return read_xstest(cfg)[0]


def refusal_reason(text: str) -> str | None:
    """The phrase that makes `text` a refusal or safety lecture, or None for an ordinary answer."""
    rule = refusal_rule(text)
    return rule[1] if rule else None
