"""finetune: one LoRA adapter per fine-tune language and training seed on the language's benign `train` split
(TRL's SFTTrainer + peft). A label is an adapter's (bench_runner.stage.RunContext.adapters): "en" for the first
seed, "en-seed1" for seed 1; with one seed the label, the cache key and the adapter are the language's own.

Folder: adapter/ (peft), train_stats.json (loss curve, tokens/s, what training saw). Under `accelerate launch`
every process trains; the main process writes the folder and its manifest, the others wait for it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bench_runner.config import TrainingConfig
from bench_runner.data import hash_records, train_data
from bench_runner.stage import Stage, versions
from safedrift.core.files import atomic_write_json
from safedrift.core.log import log


class FinetuneStage(Stage):
    name = "finetune"

    @cache  # noqa: B019 - one stage object per run; the rows are read once per language
    def data(self, language: str) -> tuple[list[list[dict]], int]:
        return train_data(self.cfg.datasets, language)

    def training(self, label: str) -> TrainingConfig:
        """The training settings of one adapter: the run's, with this adapter's seed."""
        return self.cfg.training.model_copy(update={"seed": self.ctx.adapter(label)[1]})

    def inputs(self, label: str) -> dict:
        language = self.ctx.adapter(label)[0]
        rows, _ = self.data(language)
        # The adapter's own seed, and not the list of seeds: one adapter's key does not move when seeds are added.
        training = self.training(label).model_dump(exclude={"seeds"})
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
