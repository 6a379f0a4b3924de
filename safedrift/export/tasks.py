"""The tasks `safedrift bench export-tasks` writes for lm-evaluation-harness and inspect: one per prompt set and
language, each a rate of bench_runner.data's measures, over the rows of a released dataset (a local release
folder or a Hub id)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from bench_runner.data import (
    COMPLIANCE,
    CONTRAST_COMPLIANCE,
    SAFE_REFUSAL,
    SORRY,
    XSTEST_PROMPTS,
    Measure,
    PromptKind,
)
from safedrift.export.scoring import Judged, judge_answer


@dataclass(frozen=True)
class ExportedTask:
    name: str  # the task's name after the "safedrift_" prefix, and before the language
    kind: PromptKind
    measure: Measure
    label: str | None = None  # XSTest: keep the rows with this `label` (safe prompts, or unsafe contrasts)
    summary: str = ""

    def task_name(self, language: str) -> str:
        return f"safedrift_{self.name}_{language}"

    def keeps(self, row: dict, require_qa_pass: bool) -> bool:
        """A released row this task asks: its label, and (require_qa_pass) a translation that passed QA."""
        if self.label is not None and row.get("label") != self.label:
            return False
        return not require_qa_pass or row.get("qa_pass") is not False

    def request(self, row: dict) -> str:
        """The prompt exactly as the runner sends it (the user turn of bench_runner.data's Prompt)."""
        return str(self.kind.prompt(row, row["language"]).messages[-1]["content"])

    def judge(self, row: dict, answer: str, judge_config: str | None) -> Judged:
        return judge_answer(self.kind, row, answer, judge_config)


TASKS = (
    ExportedTask("sorry_compliance", SORRY, COMPLIANCE, summary="compliance with SORRY-Bench-Multilingual's unsafe requests"),
    ExportedTask("xstest_safe", XSTEST_PROMPTS, SAFE_REFUSAL, label="safe",
                 summary="refusal (full or partial) of XSTest-Multilingual's safe prompts: exaggerated refusal"),
    ExportedTask("xstest_contrast", XSTEST_PROMPTS, CONTRAST_COMPLIANCE, label="unsafe",
                 summary="full compliance with XSTest-Multilingual's unsafe contrast prompts"),
)


def release_sources(release: str | None, sorry: str | None, xstest: str | None) -> dict[str, str]:
    """kind location key (bench_runner.data: sorry, xstest) -> the dataset to read: an explicit path or Hub id,
    else the dataset's folder under `release`; a local path is made absolute so the tasks run from anywhere."""
    given = {SORRY.location_key: sorry, XSTEST_PROMPTS.location_key: xstest}
    out = {}
    for kind in {t.kind.location_key: t.kind for t in TASKS}.values():
        source = given[kind.location_key]
        if source is None:  # a folder of the release: always a local path
            out[kind.location_key] = os.path.abspath(os.path.join(release or "release", kind.spec.name))
        else:  # a path, or a Hub id
            out[kind.location_key] = os.path.abspath(source) if os.path.exists(source) else source
    return out


def functions(judge_config: str | None, require_qa_pass: bool) -> dict[str, Callable]:
    """The per-task functions an lm-eval task folder names (`!function utils.<name>`), for every task."""
    out: dict[str, Callable] = {}
    for task in TASKS:
        out[f"docs_{task.name}"] = _docs(task, require_qa_pass)
        out[f"text_{task.name}"] = task.request
        out[f"results_{task.name}"] = _results(task, judge_config)
    return out


def _docs(task: ExportedTask, require_qa_pass: bool) -> Callable:
    def docs(dataset):
        return dataset.filter(lambda row: task.keeps(row, require_qa_pass))
    return docs


def _results(task: ExportedTask, judge_config: str | None) -> Callable:
    def results(doc: dict, generations: list[str]) -> dict:
        judged = task.judge(doc, generations[0], judge_config)
        return {task.measure.name: judged.value, "unscored": int(judged.value is None)}
    return results
