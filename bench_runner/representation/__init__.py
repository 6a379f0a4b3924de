"""representation: how far each fine-tune moved the model's hidden states, per layer, on a fixed probe set.

Folder: <eval language>.npz (per-layer cosine and CKA against the base model, probe uids) and drift.json (the
per-language summary). The base model's probe states are computed once per process for every comparison.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from bench_runner.chat import render
from bench_runner.data import BENIGN_PROMPTS, SORRY, Prompt, hash_records
from bench_runner.stage import RunContext, Stage, versions
from safedrift.core.files import atomic_write_json


class RepresentationStage(Stage):
    name = "representation"

    def __init__(self, ctx: RunContext, finetune: Stage):
        super().__init__(ctx)
        self.finetune = finetune

    @cached_property
    def probes(self) -> dict[str, list[Prompt]]:
        """Per eval language the probe set: the first SORRY-Bench and benign prompts of the eval set."""
        rcfg = self.cfg.representation
        counts = {SORRY: rcfg.sorry_probes, BENIGN_PROMPTS: rcfg.benign_probes}
        out: dict[str, list[Prompt]] = {}
        for lang in self.cfg.eval_languages:
            mine = [p for p in self.ctx.prompts if p.language == lang]
            out[lang] = [p for kind, n in counts.items() for p in [q for q in mine if q.kind == kind.name][:n]]
        return out

    def inputs(self, model: str) -> dict:
        return {"model": self.ctx.model_identity, "adapter": self.finetune.folder(model).name,
                "probes": hash_records([p for ps in self.probes.values() for p in ps]),
                "representation": self.cfg.representation.model_dump(), "versions": versions()}

    def outputs(self, model: str) -> list[str]:
        return [f"{lang}.npz" for lang in self.cfg.eval_languages] + ["drift.json"]

    def _probe_states(self, loaded, model: str) -> dict[str, dict]:
        from bench_runner.representation.drift import hidden_states

        rcfg = self.cfg.representation
        out = {}
        for lang, probes in self.probes.items():
            texts = [render(loaded.tokenizer, list(p.messages), add_generation_prompt=True,
                            date_string=self.cfg.model.date_string) for p in probes]
            out[lang] = hidden_states(loaded.model, loaded.tokenizer, texts, rcfg.max_length, rcfg.batch_size,
                                      desc=f"hidden states {model} ({lang})")
        return out

    @cached_property
    def base_states(self) -> dict[str, dict]:
        from bench_runner.config import BASE
        from bench_runner.models import load_model

        return self._probe_states(load_model(self.cfg.model), BASE)

    def compute(self, model: str, folder: Path) -> dict:
        from bench_runner.models import load_model
        from bench_runner.representation.drift import compare, save_arrays, summarize

        adapter = self.finetune(model) / "adapter"
        base = self.base_states
        tuned = self._probe_states(load_model(self.cfg.model, adapter), model)
        summary = {}
        for lang in self.cfg.eval_languages:
            arrays = compare(base[lang], tuned[lang])
            save_arrays(folder / f"{lang}.npz", arrays, [p.uid for p in self.probes[lang]])
            summary[lang] = summarize(arrays)
        atomic_write_json(folder / "drift.json", summary)
        return {}
