"""The report stage: results.json, samples.jsonl, the figures and summary.md, made from the finished stages and
published to runs/<run-id>/.

schema.py holds results.json's models, results.py assembles them from the stage folders, figures.py draws every
PNG, summary.py writes the markdown and tracking.py the optional comet-ml experiment.
"""

from __future__ import annotations

from pathlib import Path

from bench_runner.metrics.agreement import labels_key
from bench_runner.report.figures import FIGURES, HEATMAP, write_figures
from bench_runner.report.results import build_results, merged_samples
from bench_runner.report.summary import summary_markdown
from bench_runner.report.tracking import log_to_comet
from bench_runner.report.warnings import figure_warnings
from bench_runner.stage import RunContext, Stage
from safedrift.core.files import atomic_write_bytes, atomic_write_jsonl, atomic_write_text
from safedrift.core.log import log


class ReportStage(Stage):
    """One label, "all". Each stage it is given is called with a label and returns its finished folder: metrics
    ("all"), finetune (a fine-tune language), generate and judge (a model: base or a fine-tune language) and
    representation (a fine-tune language; None when the run measures no representational drift)."""

    name = "report"

    def __init__(self, ctx: RunContext, metrics: Stage, finetune: Stage, generate: Stage, judge: Stage,
                 representation: Stage | None):
        super().__init__(ctx)
        self.metrics = metrics
        self.finetune = finetune
        self.generate = generate
        self.judge = judge
        self.representation = representation

    def _sources(self) -> tuple[Path, dict[str, Path], dict[str, Path], dict[str, Path]]:
        """The metrics folder, and per model its finetune, generate and judge folders."""
        metrics = self.metrics("all")
        finetunes = {m: self.finetune(m) for m in self.ctx.trained}
        generations = {m: self.generate(m) for m in self.ctx.models}
        judged = {m: self.judge(m) for m in self.ctx.models}
        return metrics, finetunes, generations, judged

    def _arrays(self) -> dict[str, Path]:
        """The representation arrays copied beside results.json: representation/<fine-tune>/<eval>.npz -> the
        representation stage's file."""
        if self.representation is None:
            return {}
        return {f"representation/{m}/{lang}.npz": self.representation(m) / f"{lang}.npz"
                for m in self.ctx.with_weights(self.ctx.finetuned)
                for lang in self.cfg.eval_languages}

    def inputs(self, label: str) -> dict:
        # The metrics folder's key carries the judge, capability and representation folders' keys.
        metrics, finetunes, generations, judged = self._sources()
        return {"metrics": metrics.name, "finetune": {k: v.name for k, v in finetunes.items()},
                "generate": {k: v.name for k, v in generations.items()},
                "judge": {k: v.name for k, v in judged.items()}, "comet": self.cfg.tracking.comet,
                "require_qa_pass": self.cfg.datasets.require_qa_pass,
                # people's label sheets (`safedrift bench labels`): a new sheet recomputes the report
                "human_labels": labels_key(self.ctx.run_dir)}

    def outputs(self, label: str) -> list[str]:
        return ["results.json", "samples.jsonl", "summary.md", *FIGURES, *self._arrays()]

    def compute(self, label: str, folder: Path) -> dict:
        metrics, finetunes, generations, judged = self._sources()
        for name, src in self._arrays().items():
            atomic_write_bytes(folder / name, src.read_bytes())
        results = build_results(self.cfg, self.ctx.model_identity, metrics, finetunes, generations, judged)
        atomic_write_jsonl(folder / "samples.jsonl", merged_samples(generations, judged))
        # A figure with nothing to plot is a warning too (summary, results.json warnings, --strict).
        results.warnings += figure_warnings(write_figures(results.model_dump(mode="json"), folder))
        atomic_write_text(folder / "summary.md", summary_markdown(results))
        atomic_write_text(folder / "results.json", results.model_dump_json(indent=2) + "\n")
        log_to_comet(results, self.cfg.tracking.comet, self.cfg.tracking.project, folder)
        return {}

    def after(self, label: str, folder: Path) -> None:
        """Copy the report, new or cached, to runs/<run-id>/ so it is found without knowing stage keys."""
        run_dir = self.ctx.run_dir
        for name in self.outputs(label):
            atomic_write_bytes(run_dir / name, (folder / name).read_bytes())
        log(f"report: {run_dir / 'results.json'}, {run_dir / HEATMAP}, {run_dir / 'summary.md'}")
