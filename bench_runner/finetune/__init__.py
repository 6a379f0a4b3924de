"""finetune: one LoRA adapter per fine-tune language and training seed on the language's benign `train` split
(TRL's SFTTrainer + peft). A label is an adapter's (bench_runner.stage.RunContext.adapters): "en" for the first
seed, "en-seed1" for seed 1; with one seed the label, the cache key and the adapter are the language's own.

Folder: adapter/ (peft), train_stats.json (loss curve, tokens/s, what training saw). Under `accelerate launch`
every process trains; the main process writes the folder and its manifest, the others wait for it.

Models brought in (config `models:`, imported.py) are not trained here; `weights` and `source_key` tell the later
stages, for every model, what to load and what keys their folders.
"""

from __future__ import annotations

from functools import cache, cached_property
from pathlib import Path

from bench_runner.config import BASE, TrainingConfig, launched_processes
from bench_runner.data import equal_dose_ids, hash_records, train_data
from bench_runner.finetune.imported import Weights
from bench_runner.finetune.imported import identity as imported_identity
from bench_runner.finetune.imported import weights as imported_weights
from bench_runner.stage import Stage, versions
from safedrift.core.files import atomic_write_json
from safedrift.core.log import log


class FinetuneStage(Stage):
    name = "finetune"

    @cache  # noqa: B019 - one stage object per run; the rows are read once per language
    def data(self, language: str) -> tuple[list[list[dict]], int]:
        # training.equal_dose: every language trains on the same example ids (those that passed QA in all of them).
        ids = self.dose_ids() if self.cfg.training.equal_dose else None
        return train_data(self.cfg.datasets, language, ids)

    @cache  # noqa: B019 - the common ids are read once per run
    def dose_ids(self) -> list[str]:
        return equal_dose_ids(self.cfg.datasets, list(self.ctx.adapters))

    def training(self, label: str) -> TrainingConfig:
        """The training settings of one adapter: the run's, with this adapter's seed."""
        return self.cfg.training.model_copy(update={"seed": self.ctx.adapter(label)[1]})

    def inputs(self, label: str) -> dict:
        language = self.ctx.adapter(label)[0]
        rows, _ = self.data(language)
        # The adapter's own seed, and not the list of seeds: one adapter's key does not move when seeds are added.
        training = self.training(label).model_dump(exclude={"seeds"})
        if self.cfg.training.global_batch_size is not None:  # the per-process batch is derived from the count
            training["processes"] = launched_processes()
        return {"model": self.ctx.model_identity, "language": language, "lora": self.cfg.lora.model_dump(),
                "training": training, "data": hash_records(rows), "versions": versions()}

    def outputs(self, label: str) -> list[str]:
        return ["adapter", "train_stats.json", "adapter/adapter_model.safetensors"]

    def finish(self, label: str, folder: Path, **extra) -> None:
        # "adapter" is a folder: the manifest hashes the files only.
        super().finish(label, folder, **extra)

    def compute(self, label: str, folder: Path) -> None:
        from bench_runner.finetune.trainer import train_lora
        from bench_runner.models import load_model

        language = self.ctx.adapter(label)[0]
        rows, qa_excluded = self.data(language)
        loaded = load_model(self.cfg.model)

        def write(stats: dict) -> None:  # the main process only, under `accelerate launch`; the others wait
            stats["qa_excluded"] = qa_excluded
            atomic_write_json(folder / "train_stats.json", stats)
            self.finish(label, folder, qa_excluded=qa_excluded)
            log(f"finetune {label}: loss {stats['loss'][0]:.3f} -> {stats['loss'][-1]:.3f}, "
                f"{stats['tokens_per_s']:.0f} tokens/s, {stats['trained_tokens']} trained tokens, "
                f"{stats['examples_truncated']} examples cut by max_length, {qa_excluded} rows left out by QA")

        train_lora(loaded.model, loaded.tokenizer, rows, self.cfg.lora, self.training(label), folder / "adapter",
                   desc=f"finetune {label}", date_string=self.cfg.model.date_string, on_main=write)
        return None  # the main process finished the folder in `write`

    @staticmethod
    def adapter(folder: Path) -> Path:
        """The peft adapter inside a finished finetune folder."""
        return folder / "adapter"

    # ---- every model's weights, for the stages after this one -------------------------------------------
    def source_key(self, model: str) -> dict:
        """A model's weights in a later stage's cache key: the finetune folder of an adapter trained here (not
        trained for it), a brought-in model's identity (bench_runner/finetune/imported.py), nothing for base."""
        if model in self.ctx.imported:
            return {"adapter": None, "imported": self.imported_identity[model]}
        return {"adapter": None if model == BASE else self.folder(model).name}

    @cached_property
    def imported_identity(self) -> dict[str, dict]:
        """label -> what a brought-in model's answers depend on (its stage folders' key), hashed once per run."""
        return {label: imported_identity(self.cfg, entry) for label, entry in self.ctx.imported.items()}

    def weights(self, model: str) -> Weights | None:
        """The model to load and the adapter to put on it (an adapter trained here is trained now when missing);
        None for a served model."""
        if model in self.ctx.imported:
            return imported_weights(self.cfg, self.ctx.imported[model])
        return Weights(self.cfg.model, None if model == BASE else self.adapter(self(model)))
