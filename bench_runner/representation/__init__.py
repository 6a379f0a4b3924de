"""representation: how far each fine-tune moved the model's hidden states, per layer, on a fixed probe set.

Folder: <eval language>.npz (per-layer cosine, CKA and debiased CKA against the base model per pooling, the
per-probe cosines, probe uids) and drift.json (the per-language summary with bootstrap CIs over probes). The base
model's probe states are computed once per process for every comparison.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from bench_runner.chat import render
from bench_runner.data import BENIGN_PROMPTS, SORRY, Prompt, common_set, hash_records, stratified_sample
from bench_runner.finetune import FinetuneStage
from bench_runner.stage import RunContext, Stage, versions
from safedrift.core.files import atomic_write_json


class RepresentationStage(Stage):
    name = "representation"

    def __init__(self, ctx: RunContext, finetune: FinetuneStage):
        super().__init__(ctx)
        self.finetune = finetune

    @cached_property
    def probes(self) -> dict[str, list[Prompt]]:
        """Per eval language the probe set: SORRY-Bench prompts spread evenly over its categories (the same seeded,
        stratified draw as the eval set's limits: data.stratified_sample) and the first benign test prompts."""
        rcfg = self.cfg.representation
        out: dict[str, list[Prompt]] = {}
        # the items asked in every eval language (English also has its full set: data.eval_set), so every
        # language's probes are the same items
        common = common_set(self.ctx.prompts, self.cfg.eval_languages)
        for lang in self.cfg.eval_languages:
            mine = [p for p in common if p.language == lang]
            sorry = stratified_sample([p for p in mine if p.kind == SORRY.name], rcfg.sorry_probes,
                                      self.cfg.datasets.sample_seed)
            benign = [p for p in mine if p.kind == BENIGN_PROMPTS.name][:rcfg.benign_probes]
            out[lang] = sorry + benign
        return out

    def reference(self, model: str) -> str | None:
        """For a replicate adapter (a later training seed), its language's first adapter: the two are compared with
        each other for the seed noise floor. A brought-in model has none."""
        if model in self.ctx.imported:
            return None
        first = self.ctx.adapters[self.ctx.adapter(model)[0]][0]
        return None if first == model else first

    def inputs(self, model: str) -> dict:
        ref = self.reference(model)
        return {"model": self.ctx.model_identity, **self.finetune.source_key(model),
                "reference": None if ref is None else self.finetune.folder(ref).name,
                "probes": hash_records([p for ps in self.probes.values() for p in ps]),
                "representation": self.cfg.representation.model_dump(), "bootstrap": self._bootstrap,
                "versions": versions()}

    @property
    def _bootstrap(self) -> dict:
        """The CIs over probes use the metrics section's resamples, confidence and seed."""
        m = self.cfg.metrics
        return {"n_resamples": m.n_resamples, "confidence": m.confidence, "seed": m.seed}

    def outputs(self, model: str) -> list[str]:
        return [f"{lang}.npz" for lang in self.cfg.eval_languages] + ["drift.json"]

    def _probe_states(self, loaded, model: str) -> dict[str, dict]:
        from bench_runner.representation.states import hidden_states, probe_tokens

        rcfg = self.cfg.representation
        out = {}
        for lang, probes in self.probes.items():
            texts = [render(loaded.tokenizer, list(p.messages), add_generation_prompt=True,
                            date_string=self.cfg.model.date_string) for p in probes]
            tokens = [probe_tokens(loaded.tokenizer, text, [m["content"] for m in p.messages if m["role"] == "user"],
                                   rcfg.max_length) for text, p in zip(texts, probes, strict=True)]
            out[lang] = hidden_states(loaded.model, tokens, rcfg.batch_size, desc=f"hidden states {model} ({lang})")
        return out

    @cached_property
    def base_states(self) -> dict[str, dict]:
        from bench_runner.config import BASE
        from bench_runner.models import load_model

        return self._probe_states(load_model(self.cfg.model), BASE)

    def compute(self, model: str, folder: Path) -> dict:
        from bench_runner.models import load_model
        from bench_runner.representation.drift import cell_drift, save_arrays, seed_floor

        base = self.base_states
        weights = self.finetune.weights(model)
        if weights is None:  # a served model: the metrics stage records why it has no drift figures
            raise ValueError(f"representation has no weights to read for the served model {model!r}")
        tuned = self._probe_states(load_model(weights.model, weights.adapter), model)
        ref = self.reference(model)
        first = None if ref is None else self._probe_states(load_model(self.cfg.model, self.finetune(ref) / "adapter"),
                                                            ref)
        # An adapter trained here is recorded with its fine-tune language and seed; a brought-in model has neither.
        adapter = None if model in self.ctx.imported else dict(zip(("language", "seed"), self.ctx.adapter(model),
                                                                  strict=True))
        summary = {}
        for lang in self.cfg.eval_languages:
            arrays, summary[lang] = cell_drift(base[lang], tuned[lang], stream=lang, **self._bootstrap)
            if adapter is not None:
                summary[lang]["adapter"] = adapter
            if first is not None and ref is not None:
                summary[lang]["seed_floor"] = seed_floor(first[lang], tuned[lang], ref)
            save_arrays(folder / f"{lang}.npz", arrays, [p.uid for p in self.probes[lang]])
        atomic_write_json(folder / "drift.json", summary)
        return {}
