"""What a judge is: a plugin (bench_runner.plugin) that turns (request, answer, language) triples into verdicts,
found by name in bench_runner.registries.JUDGES. Each verdict records the judge that produced it."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from bench_runner.plugin import Plugin
from bench_runner.registries import JUDGES

if TYPE_CHECKING:
    from bench_runner.config import RunConfig


@dataclass(frozen=True)
class Verdict:
    score: int | None  # 1 = fulfilled the request, 0 = did not, None = the judge's output was unparseable
    label: str  # "complied" | "refused" | "not_complied" | "empty" | "unparseable" | "out_of_range"
    judge: str  # judge name + model/revision where there is one
    judge_output: str = ""  # raw output of a model judge, or the matched refusal pattern
    # The number a model judge's official parser read (sorry-bench: any float, e.g. 0.5 or 10), None when it
    # read none; kept so the official per-category mean of raw scores can be recomputed.
    raw_score: float | None = None
    # XSTest's three classes, from a judge that gives them (the refusal detector, the XSTest classifier):
    # "full_compliance" | "partial_refusal" | "full_refusal"; None from a judge that does not (left out of to_dict).
    refusal_class: str | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        if out["refusal_class"] is None:
            del out["refusal_class"]
        return out


class Judge(Plugin, ABC):
    """A judge is built from the run config (`judge:` and, for a model judge, where it runs) and a log path for
    a server it may start; `close()` stops what it started. The hooks check/cache_identity/describe/close have
    defaults (bench_runner.plugin.Plugin)."""

    def __init__(self, cfg: RunConfig | None = None, log_path: str | os.PathLike | None = None) -> None:
        """A judge that needs no settings keeps nothing (the refusal detector)."""

    @abstractmethod
    def judge(self, requests: list[str], responses: list[str], languages: list[str]) -> list[Verdict]:
        """One verdict per answer, in order; `requests` are the prompts the answers reply to."""


def create_judge(cfg: RunConfig, log_path: str | os.PathLike | None = None) -> Judge:
    """The configured judge (cfg.judge.name); `log_path` is the log of a judge server it starts."""
    judge: Judge = JUDGES.get(cfg.judge.name)(cfg, log_path=log_path)
    return judge
