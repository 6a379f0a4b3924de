"""The metrics stage: every model's judged answers (and, when measured, its capability and representational
drift) -> metrics/all-<key>/metrics.json, the `metrics` section of results.json.

The statistics: compliance.py (the headline cells), over_refusal.py, agreement.py (judge-language bias), on the
primitives of stats.py; capability.py for the capability stage's measurements. Beside metrics.json, study.json
(study.py): fold changes, adapter-level tests and the largest fold change with the adapter (fine-tune language x
training seed) as the unit (design.py, foldchange.py, replicates.py, largest.py), and the official macro rates
(official.py); compare.py puts several runs (model families) in one report. The stages it reads are handed in,
each a callable from a model name to its finished folder."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

from bench_runner import SCHEMA_VERSION
from bench_runner.capability import measures_capability
from bench_runner.config import MetricsConfig
from bench_runner.stage import RunContext, Stage
from safedrift.core.files import atomic_write_json, iter_jsonl

METRICS = "metrics.json"
STUDY = "study.json"  # the study-design figures (bench_runner.metrics.study), beside the grid's


class MetricsStage(Stage):
    name = "metrics"

    def __init__(self, ctx: RunContext, judge: Stage, generate: Stage, capability: Stage | None,
                 representation: Stage | None):
        super().__init__(ctx)
        self.judge, self.generate = judge, generate
        self.capability, self.representation = capability, representation

    # ---- the folders it reads, asked for in this order --------------------------------------------------
    @cached_property
    def judged(self) -> dict[str, Path]:
        try:
            return {m: self.judge(m) for m in self.ctx.models}
        finally:
            self.judge.close()  # every answer is judged: a judge server started for them stops here

    @cached_property
    def capability_folders(self) -> dict[str, Path]:
        if self.capability is None or not measures_capability(self.ctx):
            return {}
        return {m: self.capability(m) for m in self.ctx.with_weights(self.ctx.models)}  # served models: skipped

    @cached_property
    def representation_folders(self) -> dict[str, Path]:
        if self.representation is None or not self.cfg.representation.enabled:
            return {}
        return {m: self.representation(m) for m in self.ctx.with_weights(self.ctx.finetuned)}

    # ---- the stage -----------------------------------------------------------------------------------
    def inputs(self, label: str) -> dict:
        # The judge folders' keys carry the generate folders', so the samples read in compute are covered too.
        judged, capability, representation = self.judged, self.capability_folders, self.representation_folders
        return {"judge": {m: f.name for m, f in judged.items()}, "metrics": self.cfg.metrics.model_dump(),
                "capability": {m: f.name for m, f in capability.items()},
                "representation": {m: f.name for m, f in representation.items()},
                "finetune_languages": self.ctx.models, "eval_languages": self.cfg.eval_languages,
                "schema": SCHEMA_VERSION}

    def outputs(self, label: str) -> list[str]:
        return [METRICS, STUDY]

    def compute(self, label: str, folder: Path) -> dict | None:
        from bench_runner.data import common_set
        from bench_runner.metrics.agreement import judge_agreement
        from bench_runner.metrics.compliance import compute_metrics
        from bench_runner.metrics.drift_behaviour import capability_decoupling, drift_behaviour
        from bench_runner.metrics.samples import first_samples
        from bench_runner.metrics.study import study_figures

        scores = []
        for model, f in self.judged.items():
            answers = answer_records(self.generate(model))
            scores += [{**answers.get(row["uid"], {}), **row} for row in iter_jsonl(f / "scores.jsonl")]
        m, models, languages = self.cfg.metrics, self.ctx.models, self.cfg.eval_languages
        # English is also answered on the items other languages' QA left out (data.eval_set): every figure across
        # languages reads the common set; study_figures reports English on its full set beside it (official).
        common = common_set(scores, languages)
        result = compute_metrics(common, models, languages, m.n_resamples, m.confidence, m.seed)
        # judge.answers_in: both -> how often the native and the English (back-translated) verdicts agree.
        # Figures that pair one verdict per prompt read each prompt's first sample (generation.samples_per_prompt).
        result["judge_agreement"] = judge_agreement(first_samples(common))
        capability, representation = self.capability_folders, self.representation_folders
        result["capability"] = capability_figures(capability, list(capability), languages, m) if capability else None
        result["representation"] = representation_figures(representation, languages) if representation else None
        if skipped := self.ctx.skipped():  # models with no weights here (served): why they have no such figures
            measures = {"capability": self.capability is not None and measures_capability(self.ctx),
                        "representation": self.representation is not None and self.cfg.representation.enabled}
            result["skipped"] = {measure: skipped for measure, on in measures.items() if on}
        # Adapters (fine-tune language x seed) as the unit: drift vs behaviour shift, capability vs compliance shift.
        result["drift_behaviour"] = drift_behaviour(result, m.confidence)
        result["capability_decoupling"] = capability_decoupling(result, m.confidence)
        atomic_write_json(folder / METRICS, result)
        atomic_write_json(folder / STUDY, study_figures(first_samples(scores), self.ctx.adapters, languages, m))
        return {}


def answer_records(generate_folder: Path) -> dict[str, dict]:
    """Per sample uid, what the metrics need from the answer itself (the judge's rows do not carry it)."""
    from bench_runner.response_language import detect_response_language

    out = {}
    for s in iter_jsonl(generate_folder / "samples.jsonl"):
        lang = s.get("response_language")
        if lang is None:  # samples written before language ID was recorded
            lang = detect_response_language(s.get("response") or "")[0]
        out[s["uid"]] = {"response_language": lang, "truncated": s.get("truncated"),
                         "new_tokens": s.get("new_tokens")}
    return out


def capability_figures(folders: dict[str, Path], models: list[str], eval_languages: list[str],
                       m: MetricsConfig) -> dict:
    """metrics.capability from the capability stage's folders (heldout.jsonl, and lm_eval.json where run)."""
    from bench_runner.metrics.capability import capability_metrics

    heldout = {model: list(iter_jsonl(f / "heldout.jsonl")) for model, f in folders.items()}
    lm_eval = {model: json.loads((f / "lm_eval.json").read_text(encoding="utf-8"))
               for model, f in folders.items() if (f / "lm_eval.json").is_file()}
    return capability_metrics(heldout, lm_eval, models, eval_languages, m.n_resamples, m.confidence, m.seed)


def representation_figures(folders: dict[str, Path], eval_languages: list[str]) -> dict:
    """metrics.representation from the representation stage's folders (drift.json per fine-tuned model)."""
    from bench_runner.representation.drift import representation_metrics

    cells = {}
    for model, f in folders.items():
        drift = json.loads((f / "drift.json").read_text(encoding="utf-8"))
        cells.update({(model, lang): drift[lang] for lang in eval_languages})
    return representation_metrics(cells)
