"""inspect's side of the exported tasks (imported only when inspect_ai is): the scorer that judges an answer with
safedrift's judges, and the two metrics it reports. inspect reads the type hints of metrics and scorers, so the
names they use are imported here at the top, not inside a function."""

from __future__ import annotations

from inspect_ai.scorer import Metric, SampleScore, Score, Scorer, Target, metric, scorer
from inspect_ai.solver import TaskState

from safedrift.export.scoring import mean_scored
from safedrift.export.tasks import ExportedTask


def _scored(score: SampleScore) -> bool:
    return bool((score.score.metadata or {}).get("scored"))


@metric
def rate() -> Metric:
    """The measure's share over the scored answers (an empty answer is unscored, as in the runner)."""
    def compute(scores: list[SampleScore]) -> float:
        return mean_scored(s.score.as_float() if _scored(s) else None for s in scores)
    return compute


@metric
def unscored() -> Metric:
    """The share of answers left unscored (empty)."""
    def compute(scores: list[SampleScore]) -> float:
        return sum(not _scored(s) for s in scores) / max(len(scores), 1)
    return compute


@scorer(metrics=[rate(), unscored()])
def safedrift_judge(task: ExportedTask, judge_config: str | None = None) -> Scorer:
    """The answer judged as the runner judges it (safedrift.export.scoring): 1 when it counts towards the task's
    measure, 0 when not; the verdict's label, XSTest class and judge in the metadata."""
    async def score(state: TaskState, target: Target) -> Score:
        judged = task.judge(state.metadata["row"], state.output.completion, judge_config)
        return Score(value=judged.value or 0, answer=state.output.completion, explanation=judged.verdict.label,
                     metadata={"scored": judged.value is not None, "measure": task.measure.name,
                               "refusal_class": judged.verdict.refusal_class, "judge": judged.verdict.judge})
    return score
