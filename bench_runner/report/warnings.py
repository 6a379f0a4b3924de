"""Runs that refuse to lie: what makes a run's figures meaningless or thin, found from the finished stages and
written to results.json `warnings`, summary.md's first section and the log; `safedrift bench --strict` exits 1
when there is any.

- a model whose answers are all empty, or all the same text (a broken template, an adapter that was not applied,
  a server that returned nothing): every rate and every "vs base" cell of that model means nothing;
- a fine-tune whose training loss rose (the mean of the last quarter of its logged steps above the first
  quarter's): the adapter did not learn what it was trained on;
- a cell with fewer verdicts than metrics.min_verdicts: its rate and interval rest on a handful of answers;
- a figure with nothing to plot (the report draws a panel saying why instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bench_runner.report.schema import Cell, FinetuneSummary, Metrics, OverRefusalCell, RunWarning
from safedrift.core.files import iter_jsonl


def answer_warnings(generations: Mapping[str, Path]) -> list[RunWarning]:
    """Per model (generate folder with samples.jsonl): all answers empty, or all identical."""
    out = []
    for model, folder in generations.items():
        answers = [str(r.get("response") or "").strip() for r in iter_jsonl(folder / "samples.jsonl")]
        if not answers:
            continue
        if not any(answers):
            out.append(RunWarning(kind="empty_answers", subject=model, message=(
                f"every answer of the {model} model is empty ({len(answers)} answers): its rates and every cell "
                "compared with it mean nothing; check the chat template, generation.max_new_tokens and the backend")))
        elif len(answers) > 1 and len(set(answers)) == 1:
            out.append(RunWarning(kind="identical_answers", subject=model, message=(
                f"every answer of the {model} model is the same text ({len(answers)} answers: "
                f"{answers[0][:60]!r}): its rates mean nothing; check the chat template and the backend")))
    return out


def loss_warnings(finetune: Mapping[str, FinetuneSummary]) -> list[RunWarning]:
    """A fine-tune whose mean logged loss over its last quarter of steps is above its first quarter's."""
    out = []
    for label, f in finetune.items():
        if len(f.loss) < 2:
            continue
        k = max(1, len(f.loss) // 4)
        first, last = sum(f.loss[:k]) / k, sum(f.loss[-k:]) / k
        if last > first:
            steps = f"step{'s' if k > 1 else ''} 1{f'-{k}' if k > 1 else ''}"
            out.append(RunWarning(kind="loss_rose", subject=label, message=(
                f"the {label} fine-tune's training loss rose: {first:.4f} ({steps}) -> {last:.4f} (the last {k} of "
                f"{len(f.loss)}); lower training.lr or check the training data")))
    return out


def thin_cell_warnings(metrics: Metrics, min_verdicts: int) -> list[RunWarning]:
    """One warning per measure whose cells have fewer than `min_verdicts` verdicts, naming those cells."""
    measures = {"SORRY-Bench compliance": [(_name(c), c.n) for c in metrics.cells if c.n < min_verdicts]}
    over = metrics.over_refusal.cells if metrics.over_refusal is not None else []
    for label, n_of in (("XSTest safe-prompt refusal", lambda c: c.safe_refusal.n),
                        ("XSTest contrast compliance", lambda c: c.contrast_compliance.n),
                        ("benign-prompt refusal", lambda c: c.benign_refusal.n)):
        # n = 0: the measure is not in this run's eval set (no XSTest), not a thin cell
        measures[label] = [(_name(c), n_of(c)) for c in over if 0 < n_of(c) < min_verdicts]
    return [RunWarning(kind="thin_cells", subject=label, message=(
        f"{label}: {len(cells)} cell{'s' if len(cells) > 1 else ''} with fewer than {min_verdicts} verdicts ("
        + ", ".join(f"{name} n={n}" for name, n in cells)
        + "); their rates and intervals rest on few answers (raise the dataset limits, or metrics.min_verdicts "
        "states the floor)")) for label, cells in measures.items() if cells]


def _name(cell: Cell | OverRefusalCell) -> str:
    return f"{cell.finetune_language}/{cell.eval_language}"


def figure_warnings(empty: Mapping[str, str]) -> list[RunWarning]:
    """Figure file -> why it had nothing to plot (the reason its placeholder panel shows)."""
    return [RunWarning(kind="empty_figure", subject=name, message=f"{name} has nothing to plot: {why}")
            for name, why in empty.items()]


def run_warnings(finetune: Mapping[str, FinetuneSummary], metrics: Metrics, generations: Mapping[str, Path],
                 min_verdicts: int) -> list[RunWarning]:
    """Every warning the finished stages give (figures are added when drawn: figure_warnings)."""
    return [*answer_warnings(generations), *loss_warnings(finetune), *thin_cell_warnings(metrics, min_verdicts)]


def warning_lines(warnings: list[RunWarning]) -> list[str]:
    """summary.md's first section: each warning as a bullet (nothing when there is none)."""
    if not warnings:
        return []
    return ["## Warnings", "", *(f"- **{w.kind}** ({w.subject}): {w.message}" for w in warnings), ""]
