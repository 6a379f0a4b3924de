"""capability: each model's held-out benign loss in every eval language, and its lm-eval tasks when configured.

Folder: heldout.jsonl (per example: negative log-likelihood and token count of the reference answer), and
lm_eval.json when `capability.lm_eval_tasks` is set. The statistics over them are the metrics stage's.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from bench_runner.data import hash_records, heldout_conversations
from bench_runner.finetune import FinetuneStage
from bench_runner.stage import RunContext, Stage, versions
from safedrift.core.files import atomic_write_json, atomic_write_jsonl, package_versions, stable_hash


def measures_capability(ctx: RunContext) -> bool:
    cap = ctx.cfg.capability
    return cap.heldout_loss or bool(cap.lm_eval_tasks)


class CapabilityStage(Stage):
    name = "capability"

    def __init__(self, ctx: RunContext, finetune: FinetuneStage):
        super().__init__(ctx)
        self.finetune = finetune

    @cached_property
    def heldout(self) -> dict[str, list[tuple[str, list[dict]]]]:
        if not self.cfg.capability.heldout_loss:
            return {}
        return heldout_conversations(self.cfg.datasets, self.cfg.eval_languages, self.cfg.capability.heldout_limit)

    def inputs(self, model: str) -> dict:
        lm_eval = package_versions(["lm-eval"]) if self.cfg.capability.lm_eval_tasks else {}
        return {"model": self.ctx.model_identity, **self.finetune.source_key(model),
                "capability": self.cfg.capability.model_dump(), "data": hash_records([self.heldout]),
                "builtin_tasks": builtin_tasks_hash() if self.cfg.capability.lm_eval_tasks else None,
                "seed": self.cfg.metrics.seed, "versions": {**versions(), **lm_eval}}

    def outputs(self, model: str) -> list[str]:
        return ["heldout.jsonl"] + (["lm_eval.json"] if self.cfg.capability.lm_eval_tasks else [])

    def compute(self, model: str, folder: Path) -> dict:
        from bench_runner.capability.measure import heldout_nll, run_lm_eval
        from bench_runner.models import load_model

        weights = self.finetune.weights(model)
        if weights is None:  # a served model: the metrics stage records why it has no capability figures
            raise ValueError(f"capability has no weights to measure for the served model {model!r}")
        adapter = weights.adapter
        cap = self.cfg.capability
        rows: list[dict] = []
        if self.heldout:
            loaded = load_model(weights.model, adapter)
            for lang, conversations in self.heldout.items():
                rows += [{"language": lang, **r} for r in heldout_nll(
                    loaded.model, loaded.tokenizer, conversations, cap.max_length, cap.batch_size,
                    self.cfg.model.date_string, desc=f"held-out loss {model} ({lang})")]
            del loaded
        atomic_write_jsonl(folder / "heldout.jsonl", rows)
        if cap.lm_eval_tasks:
            atomic_write_json(folder / "lm_eval.json", run_lm_eval(weights.model, adapter, cap, self.cfg.metrics.seed))
        return {}


def builtin_tasks_hash() -> str:
    """The content of safedrift's own lm-eval task folder (its items and YAMLs), part of the cache key."""
    from bench_runner.capability.measure import BUILTIN_TASKS

    return stable_hash([(p.name, p.read_text(encoding="utf-8")) for p in sorted(BUILTIN_TASKS.iterdir())
                        if p.suffix in (".py", ".yaml")])
