"""finetune: one LoRA adapter per fine-tune language on its benign `train` split (TRL's SFTTrainer + peft).

Folder: adapter/ (peft), train_stats.json (loss curve, tokens/s, what training saw). Under `accelerate launch`
every process trains; the main process writes the folder and its manifest, the others wait for it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bench_runner.data import hash_records, train_data
from bench_runner.stage import Stage, versions
from safedrift.core.files import atomic_write_json
from safedrift.core.log import log


class FinetuneStage(Stage):
    name = "finetune"

    @cache  # noqa: B019 - one stage object per run; the rows are read once per language
    def data(self, language: str) -> tuple[list[list[dict]], int]:
        return train_data(self.cfg.datasets, language)

    def inputs(self, language: str) -> dict:
        rows, _ = self.data(language)
        return {"model": self.ctx.model_identity, "language": language, "lora": self.cfg.lora.model_dump(),
                "training": self.cfg.training.model_dump(), "data": hash_records(rows), "versions": versions()}

    def outputs(self, language: str) -> list[str]:
        return ["adapter", "train_stats.json", "adapter/adapter_model.safetensors"]

    def finish(self, label: str, folder: Path, **extra) -> None:
        # "adapter" is a folder: the manifest hashes the files only.
        super().finish(label, folder, **extra)

    def compute(self, language: str, folder: Path) -> None:
        from bench_runner.finetune.trainer import train_lora
        from bench_runner.models import load_model

        rows, qa_excluded = self.data(language)
        loaded = load_model(self.cfg.model)

        def write(stats: dict) -> None:  # the main process only, under `accelerate launch`; the others wait
            stats["qa_excluded"] = qa_excluded
            atomic_write_json(folder / "train_stats.json", stats)
            self.finish(language, folder, qa_excluded=qa_excluded)
            log(f"finetune {language}: loss {stats['loss'][0]:.3f} -> {stats['loss'][-1]:.3f}, "
                f"{stats['tokens_per_s']:.0f} tokens/s, {stats['trained_tokens']} trained tokens, "
                f"{stats['examples_truncated']} examples cut by max_length, {qa_excluded} rows left out by QA")

        train_lora(loaded.model, loaded.tokenizer, rows, self.cfg.lora, self.cfg.training, folder / "adapter",
                   desc=f"finetune {language}", date_string=self.cfg.model.date_string, on_main=write)
        return None  # the main process finished the folder in `write`

    @staticmethod
    def adapter(folder: Path) -> Path:
        """The peft adapter inside a finished finetune folder."""
        return folder / "adapter"
