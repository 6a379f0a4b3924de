"""One answer of an exported task, scored as the benchmark runner scores it: the same prompt kind
(bench_runner.data KINDS), the same judge (the run judge for SORRY-Bench's compliance, judge.refusal_judge in
XSTest's three classes for every refusal measure) and the same 0/1 value (bench_runner.metrics.over_refusal
measured_value: a refusal is a full or a partial one; an empty answer is unscored)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from bench_runner.data import PromptKind
from bench_runner.judge.base import Judge, Verdict
from bench_runner.metrics.over_refusal import measured_value
from bench_runner.registries import JUDGES

# The judge when no bench config is given: the offline nine-language refusal detector, for every measure.
DEFAULT_JUDGE = "refusal"


@dataclass(frozen=True)
class Judged:
    measure: str  # the rate the answer counts towards (compliance, safe_refusal, contrast_compliance)
    value: int | None  # 1 when it counts (complied / refused), 0 when not, None when unscored (empty answer)
    verdict: Verdict


@cache
def judges(judge_config: str | None) -> tuple[Judge, Judge]:
    """(run judge, refusal judge): from a bench config's `judge:` section, or the offline detector twice."""
    if judge_config is None:
        detector = JUDGES.get(DEFAULT_JUDGE)(None)
        return detector, detector
    from bench_runner.config import load_config

    cfg = load_config(judge_config)
    run = JUDGES.get(cfg.judge.name)(cfg)
    refusal = run if cfg.judge.refusal_judge == cfg.judge.name else JUDGES.get(cfg.judge.refusal_judge)(cfg)
    return run, refusal


def judge_answer(kind: PromptKind, row: dict, answer: str, judge_config: str | None = None) -> Judged:
    """Score one model answer to one released row (`row["language"]` is its language)."""
    language = row["language"]
    prompt = kind.prompt(row, language)
    run, refusal = judges(judge_config)
    judge = run if kind.headline else refusal
    request = prompt.messages[-1]["content"]
    verdict = judge.judge([request], [answer], [language])[0]
    scored = {"uid": prompt.uid, "kind": kind.name, "language": language, "item_id": prompt.item_id,
              "xstest_label": prompt.xstest_label, **verdict.to_dict()}
    return Judged(kind.measure_of(prompt).name, measured_value(scored), verdict)


def mean_scored(values: Iterable[float | int | None]) -> float:
    """The share over scored answers (None, an empty answer, left out, as the runner leaves it out); NaN when none
    was scored."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else math.nan
