"""The run: finetune -> generate -> judge -> metrics -> report, each stage cached by a hash of its inputs."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from bench_runner.chat import render, strip_thinking
from bench_runner.config import BASE, RunConfig
from bench_runner.data import Prompt, eval_prompts, hash_records, train_rows
from safedrift.errors import DataError
from safedrift.files import (
    JsonlAppender,
    atomic_write_bytes,
    atomic_write_json,
    is_done,
    iter_jsonl,
    package_versions,
    stage_dir,
    write_manifest,
)
from safedrift.log import log, progress

# Package versions that change a stage's output: part of every stage's cache key.
VERSIONS_THAT_MATTER = ("torch", "transformers", "peft", "safedrift")


def versions() -> dict[str, str]:
    return package_versions(VERSIONS_THAT_MATTER)


def finish(folder: Path, stage: str, inputs: dict, outputs: list[str], **extra) -> None:
    """The stage's manifest, written last: it marks the folder finished (safedrift.files.is_done)."""
    write_manifest(folder, stage, inputs, [o for o in outputs if (folder / o).is_file()], **extra)


class BenchRun:
    def __init__(self, cfg: RunConfig):
        self.cfg = cfg
        self.run_dir = cfg.run_dir
        self._memo: dict[tuple[str, str], Path] = {}

    def _once(self, stage: str, name: str, compute) -> Path:
        """Each stage runs (or is found cached) once per process, however many stages ask for it."""
        if (stage, name) not in self._memo:
            self._memo[(stage, name)] = compute(name)
        return self._memo[(stage, name)]

    # ---- inputs -------------------------------------------------------------------------------------
    @property
    def models(self) -> list[str]:
        """base first: every adapter's outputs are checked against it."""
        return [BASE] + [x for x in self.cfg.finetune_languages if x != BASE]

    @cached_property
    def model_identity(self) -> dict:
        from bench_runner.models import model_fingerprint

        spec = self.cfg.model.model_dump(exclude={"device"})
        return {"spec": spec, "fingerprint": model_fingerprint(self.cfg.model)}

    @cached_property
    def prompts(self) -> list[Prompt]:
        return eval_prompts(self.cfg.datasets, self.cfg.eval_languages)

    # ---- finetune -----------------------------------------------------------------------------------
    def finetune_inputs(self, language: str, rows: list) -> dict:
        return {"model": self.model_identity, "language": language, "lora": self.cfg.lora.model_dump(),
                "training": self.cfg.training.model_dump(), "data": hash_records(rows), "versions": versions()}

    def finetune(self, language: str) -> Path:
        return self._once("finetune", language, self._finetune)

    def _finetune(self, language: str) -> Path:
        from bench_runner.finetune import train_lora
        from bench_runner.models import load_model

        rows = train_rows(self.cfg.datasets, language)
        inputs = self.finetune_inputs(language, rows)
        folder = stage_dir(self.run_dir, "finetune", language, inputs)
        if is_done(folder, ["adapter", "train_stats.json"]):
            log(f"finetune {language}: cached ({folder})")
            return folder
        loaded = load_model(self.cfg.model)
        stats = train_lora(loaded.model, loaded.tokenizer, rows, self.cfg.lora, self.cfg.training,
                           folder / "adapter", desc=f"finetune {language}")
        atomic_write_json(folder / "train_stats.json", stats)
        finish(folder, "finetune", inputs, ["train_stats.json", "adapter/adapter_model.safetensors"])
        log(f"finetune {language}: loss {stats['loss'][0]:.3f} -> {stats['loss'][-1]:.3f}, "
            f"{stats['tokens_per_s']:.0f} tokens/s")
        return folder

    # ---- generate -----------------------------------------------------------------------------------
    def generate_inputs(self, model: str, adapter: Path | None) -> dict:
        return {"model": self.model_identity, "adapter": adapter.name if adapter else None,
                "generation": self.cfg.generation.model_dump(), "prompts": hash_records(self.prompts),
                "versions": versions()}

    def generate(self, model: str) -> Path:
        return self._once("generate", model, self._generate)

    def _generate(self, model: str) -> Path:
        from bench_runner.generation import SamplingParams, create_backend

        adapter = self.finetune(model) if model != BASE else None
        inputs = self.generate_inputs(model, adapter)
        folder = stage_dir(self.run_dir, "generate", model, inputs)
        if is_done(folder, ["samples.jsonl"]):
            log(f"generate {model}: cached ({folder})")
        else:
            gcfg = self.cfg.generation
            params = SamplingParams(gcfg.max_new_tokens, gcfg.temperature, gcfg.top_p, gcfg.seed)
            with JsonlAppender(folder / "samples.jsonl") as out:
                todo = [p for p in self.prompts if p.uid not in out.done]
                stats = {}
                if todo:
                    backend = create_backend(gcfg.backend, self.cfg.model,
                                             adapter / "adapter" if adapter else None, gcfg.batch_size)
                    texts = [render(backend.tokenizer, list(p.messages), add_generation_prompt=True) for p in todo]
                    bar = progress(total=len(self.prompts), initial=len(self.prompts) - len(todo),
                                   desc=f"generate {model}", unit="prompt")
                    for batch in backend.generate(texts, params):
                        rows = [self._sample_row(todo[i], model, adapter, texts[i], raw, n, params)
                                for i, raw, n in zip(batch.indices, batch.texts, batch.new_tokens, strict=True)]
                        out.write_batch(rows)
                        bar.update(len(rows))
                    bar.close()
                    stats = dict(getattr(backend, "stats", {}))
                    backend.close()
            if stats.get("seconds"):
                stats["tokens_per_s"] = stats["new_tokens"] / stats["seconds"]
            finish(folder, "generate", inputs, ["samples.jsonl"], stats=stats)
        if model != BASE:
            self.check_adapter_applied(model, folder)
        return folder

    @staticmethod
    def _sample_row(p: Prompt, model: str, adapter: Path | None, prompt_text: str, raw: str, n_new: int,
                    params) -> dict:
        return {**p.to_dict(), "model": model, "finetune_language": None if model == BASE else model,
                "adapter": adapter.name if adapter else None, "prompt": prompt_text, "raw_response": raw,
                "response": strip_thinking(raw), "new_tokens": n_new, "params": params.to_dict()}

    def check_adapter_applied(self, model: str, folder: Path) -> None:
        base = {r["uid"]: r["raw_response"] for r in iter_jsonl(self.generate(BASE) / "samples.jsonl")}
        mine = {r["uid"]: r["raw_response"] for r in iter_jsonl(folder / "samples.jsonl")}
        if all(base.get(uid) == text for uid, text in mine.items()):
            raise DataError(
                f"the {model} adapter left every answer identical to the base model's, so it was not applied "
                "or did not train; raise training.lr or training.max_steps (LoRA starts as a no-op)."
            )

    # ---- judge --------------------------------------------------------------------------------------
    def judge_inputs(self, gen_folder: Path) -> dict:
        from bench_runner.refusal import REFUSAL_PATTERNS

        return {"generate": gen_folder.name, "judge": self.cfg.judge.model_dump(),
                "refusal_patterns": hash_records([REFUSAL_PATTERNS]), "versions": versions()}

    def judge(self, model: str) -> Path:
        return self._once("judge", model, self._judge)

    def _judge(self, model: str) -> Path:
        from bench_runner.judges import Judge, RefusalJudge, create_judge

        gen = self.generate(model)
        inputs = self.judge_inputs(gen)
        folder = stage_dir(self.run_dir, "judge", model, inputs)
        if is_done(folder, ["scores.jsonl"]):
            log(f"judge {model}: cached ({folder})")
            return folder
        samples = list(iter_jsonl(gen / "samples.jsonl"))
        judges: dict[str, Judge | None] = {"sorry": None, "benign": RefusalJudge()}
        chunk = max(self.cfg.judge.batch_size * 4, 32)
        with JsonlAppender(folder / "scores.jsonl") as out:
            todo = [s for s in samples if s["uid"] not in out.done]
            bar = progress(total=len(samples), initial=len(samples) - len(todo), desc=f"judge {model}",
                           unit="answer")
            for kind in ("sorry", "benign"):
                items = [s for s in todo if s["kind"] == kind]
                judge = judges[kind]
                if items and judge is None:
                    judge = judges[kind] = create_judge(self.cfg.judge, self.cfg.generation.backend,
                                                        self.cfg.model.device)
                for start in range(0, len(items), chunk):
                    part = items[start : start + chunk]
                    assert judge is not None
                    verdicts = judge.judge([s["messages"][-1]["content"] for s in part],
                                                  [s["response"] for s in part], [s["language"] for s in part])
                    out.write_batch([self._score_row(s, v) for s, v in zip(part, verdicts, strict=True)])
                    bar.update(len(part))
            bar.close()
        finish(folder, "judge", inputs, ["scores.jsonl"], judge=create_judge(self.cfg.judge).describe())
        return folder

    @staticmethod
    def _score_row(sample: dict, verdict) -> dict:
        keep = ("uid", "kind", "language", "item_id", "category", "category_name", "prompt_style", "model")
        return {**{k: sample[k] for k in keep}, **verdict.to_dict()}

    # ---- metrics ------------------------------------------------------------------------------------
    def metrics(self) -> Path:
        return self._once("metrics", "all", lambda _: self._metrics())

    def _metrics(self) -> Path:
        from bench_runner.compliance import compute_metrics

        judged = {m: self.judge(m) for m in self.models}
        inputs = {"judge": {m: f.name for m, f in judged.items()}, "metrics": self.cfg.metrics.model_dump(),
                  "finetune_languages": self.models, "eval_languages": self.cfg.eval_languages}
        folder = stage_dir(self.run_dir, "metrics", "all", inputs)
        if is_done(folder, ["metrics.json"]):
            log(f"metrics: cached ({folder})")
            return folder
        scores = [row for f in judged.values() for row in iter_jsonl(f / "scores.jsonl")]
        m = self.cfg.metrics
        result = compute_metrics(scores, self.models, self.cfg.eval_languages, m.n_resamples, m.confidence, m.seed)
        atomic_write_json(folder / "metrics.json", result)
        finish(folder, "metrics", inputs, ["metrics.json"])
        return folder

    # ---- report -------------------------------------------------------------------------------------
    def report(self) -> Path:
        from bench_runner.report import write_report

        metrics = self.metrics()
        finetunes = {m: self.finetune(m) for m in self.models if m != BASE}
        generations = {m: self.generate(m) for m in self.models}
        judged = {m: self.judge(m) for m in self.models}
        inputs = {"metrics": metrics.name, "finetune": {k: v.name for k, v in finetunes.items()},
                  "generate": {k: v.name for k, v in generations.items()},
                  "judge": {k: v.name for k, v in judged.items()}, "comet": self.cfg.comet}
        folder = stage_dir(self.run_dir, "report", "all", inputs)
        outputs = ["results.json", "samples.jsonl", "heatmap.png", "summary.md"]
        if is_done(folder, outputs):
            log(f"report: cached ({folder})")
        else:
            write_report(self.cfg, self.model_identity, folder, metrics, finetunes, generations, judged)
            finish(folder, "report", inputs, outputs)
        self._publish(folder, outputs)
        return folder

    def _publish(self, folder: Path, outputs: list[str]) -> None:
        """Copy the latest report to runs/<run-id>/ so it is found without knowing stage keys."""
        for name in outputs:
            atomic_write_bytes(self.run_dir / name, (folder / name).read_bytes())
        log(f"report: {self.run_dir / 'results.json'}, {self.run_dir / 'heatmap.png'}, "
            f"{self.run_dir / 'summary.md'}")

    def run(self) -> Path:
        return self.report()
