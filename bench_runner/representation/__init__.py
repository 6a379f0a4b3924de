"""representation: how far each fine-tune moved the model's hidden states, per layer, on a fixed probe set.

Folder: <eval language>.npz (per-layer cosine, CKA and debiased CKA against the base model per pooling, the
per-probe cosines, probe uids) and drift.json (the per-language summary with bootstrap CIs over probes). The base
model's probe states are computed once per process for every comparison.
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
        """Per eval language the probe set: SORRY-Bench prompts spread evenly over its categories (round robin in
        category order) and the first benign test prompts of the eval set."""
        rcfg = self.cfg.representation
        out: dict[str, list[Prompt]] = {}
        for lang in self.cfg.eval_languages:
            mine = [p for p in self.ctx.prompts if p.language == lang]
            sorry = stratified([p for p in mine if p.kind == SORRY.name], rcfg.sorry_probes)
            benign = [p for p in mine if p.kind == BENIGN_PROMPTS.name][:rcfg.benign_probes]
            out[lang] = sorry + benign
        return out

    def reference(self, model: str) -> str | None:
        """For a replicate adapter (a later training seed), its language's first adapter: the two are compared with
        each other for the seed noise floor."""
        first = self.ctx.adapters[self.ctx.adapter(model)[0]][0]
        return None if first == model else first

    def inputs(self, model: str) -> dict:
        ref = self.reference(model)
        return {"model": self.ctx.model_identity, "adapter": self.finetune.folder(model).name,
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
        tuned = self._probe_states(load_model(self.cfg.model, self.finetune(model) / "adapter"), model)
        ref = self.reference(model)
        first = None if ref is None else self._probe_states(load_model(self.cfg.model, self.finetune(ref) / "adapter"),
                                                            ref)
        language, seed = self.ctx.adapter(model)
        summary = {}
        for lang in self.cfg.eval_languages:
            arrays, summary[lang] = cell_drift(base[lang], tuned[lang], stream=lang, **self._bootstrap)
            summary[lang]["adapter"] = {"language": language, "seed": seed}
            if first is not None and ref is not None:
                summary[lang]["seed_floor"] = seed_floor(first[lang], tuned[lang], ref)
            save_arrays(folder / f"{lang}.npz", arrays, [p.uid for p in self.probes[lang]])
        atomic_write_json(folder / "drift.json", summary)
        return {}


def stratified(prompts: list[Prompt], n: int | None) -> list[Prompt]:
    """At most n prompts taken round robin over their categories (in category order, each in eval-set order), so a
    small probe set still covers every category instead of the first few."""
    by_category: dict[str, list[Prompt]] = {}
    for p in prompts:
        by_category.setdefault(p.category, []).append(p)
    order = sorted(by_category, key=lambda c: (0, int(c), "") if c.isdigit() else (1, 0, c))
    picked = [by_category[c][i] for i in range(max(map(len, by_category.values()), default=0))
              for c in order if i < len(by_category[c])]
    return picked if n is None else picked[:n]
