"""The summary.md of a run that holds only the given metrics: for tests of one summary section."""

from __future__ import annotations

from bench_runner.report.schema import Metrics, Results
from bench_runner.report.summary import summary_markdown


def summary_of(metrics: Metrics, *, config: dict | None = None, judge: str = "refusal") -> str:
    results = Results(schema_version="x", run_id="r", created="now", config=config or {}, versions={}, seeds={},
                      hardware={}, model={"label": "m"}, judge={"name": judge}, finetune={}, generation={},
                      metrics=metrics, stage_keys={})
    return summary_markdown(results)
