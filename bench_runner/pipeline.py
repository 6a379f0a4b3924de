"""The run as a graph of stages, each cached under runs/<run-id>/<stage>/ by a hash of its inputs.

    finetune(language) ─┬─> generate(model) ──> judge(model) ──┐
                        ├─> capability(model) ─────────────────┼─> metrics ──> report
                        └─> representation(language) ──────────┘

A model is "base" (no fine-tune), an adapter trained here (a fine-tune language, per seed), or a model brought in
(config `models:`: an adapter, a checkpoint or a served model; bench_runner/finetune/imported.py), which skips
finetune, and capability and representation when served. Each stage holds the stages it needs and asks them for
their folders, so asking the report for its folder runs exactly what is missing, in data order, and a rerun
finds every finished stage in its cache. Where the grid runs (here, or as Ray tasks) is bench_runner.executor's
business; what each stage computes is its own package's (bench_runner/<stage>/).
"""

from __future__ import annotations

from pathlib import Path

from bench_runner.capability import CapabilityStage, measures_capability
from bench_runner.config import RunConfig
from bench_runner.data import Prompt
from bench_runner.finetune import FinetuneStage
from bench_runner.generate import GenerateStage
from bench_runner.judge import JudgeStage
from bench_runner.metrics import MetricsStage
from bench_runner.plugin import Findings
from bench_runner.report import ReportStage
from bench_runner.representation import RepresentationStage
from bench_runner.stage import RunContext, Stage

# The stages a user can run on their own (`safedrift bench STAGE CONFIG`), in data order; "run" is all of them.
STAGES = ("finetune", "generate", "judge", "metrics", "report")
# Stages that take fine-tune languages (--language); the others cover the whole grid.
PER_MODEL = ("finetune", "generate", "judge")


class BenchRun:
    """One config's grid of stages. `run.generate("pt")` is the generate stage's folder for the model fine-tuned
    on Portuguese (fine-tuning it first if needed); `run.report()` the whole run's."""

    def __init__(self, cfg: RunConfig):
        self.cfg = cfg
        ctx = self.ctx = RunContext(cfg)
        self.finetune = FinetuneStage(ctx)
        self.generate = GenerateStage(ctx, self.finetune)
        self.judge = JudgeStage(ctx, self.generate)
        self.capability = CapabilityStage(ctx, self.finetune) if measures_capability(ctx) else None
        self.representation = RepresentationStage(ctx, self.finetune) if cfg.representation.enabled else None
        self.metrics = MetricsStage(ctx, self.judge, self.generate, self.capability, self.representation)
        self.report = ReportStage(ctx, self.metrics, self.finetune, self.generate, self.judge, self.representation)

    @property
    def run_dir(self) -> Path:
        return self.ctx.run_dir

    @property
    def models(self) -> list[str]:
        """base first: every adapter's outputs are checked against it."""
        return self.ctx.models

    @property
    def prompts(self) -> list[Prompt]:
        return self.ctx.prompts

    def stage(self, name: str) -> Stage:
        return {"finetune": self.finetune, "generate": self.generate, "judge": self.judge,
                "metrics": self.metrics, "report": self.report}[name]

    def labels(self, name: str, chosen: list[str] | None = None) -> list[str]:
        """What a stage is run for: the chosen fine-tune languages (each with all its seeds' adapters) or adapter
        labels, or every model; finetune runs for the adapters trained here only (not base, not models brought in)."""
        if name not in PER_MODEL:
            return ["all"]
        adapters = self.ctx.adapters
        picked = [label for x in chosen for label in adapters.get(x, [x])] if chosen else self.models
        return [m for m in picked if name != "finetune" or m in self.ctx.trained]

    def close(self) -> None:
        """Stop what a stage holds across models (a judge server); safe to call more than once."""
        self.judge.close()

    def preflight(self, languages: list[str] | None = None) -> Findings:
        """Check everything cheap before the first stage (bench_runner/preflight.py): every problem at once."""
        from bench_runner.preflight import check

        return check(self.cfg, languages)

    def run(self) -> Path:
        """Every stage in this process, in data order as the graph asks for them (bench_runner.executor runs the
        grid here through this, or as Ray tasks); the report folder."""
        try:
            return self.report()
        finally:
            self.close()
