"""What a generation backend is: a Plugin that answers every prompt of one or more models' jobs.

The generate stage hands a backend one ModelJob per model (its adapter, the prompts still to answer, a writer
that appends finished answers to the model's samples.jsonl) and gets back each model's manifest extras. A
backend whose `together` is True (vLLM: one server, every adapter at once) is handed every model of the run in
one call; the others one model at a time. Backends are found by name in bench_runner.registries.BACKENDS.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from bench_runner.plugin import Plugin
from bench_runner.registries import BACKENDS
from bench_runner.serving.sampling import SamplingParams

if TYPE_CHECKING:
    from bench_runner.config import ModelConfig, RunConfig
    from bench_runner.data import Prompt
    from safedrift.core.files import JsonlAppender


@dataclass
class Answer:
    """One finished answer, as a backend hands it to the stage."""

    prompt: Prompt
    text: str  # the rendered prompt text the model saw
    raw: str  # the decoded completion (special tokens removed)
    new_tokens: int
    truncated: bool | None  # reached max_new_tokens without an end token; None: unknown
    extra: dict = field(default_factory=dict)  # backend-specific fields of the samples row


@dataclass
class ModelJob:
    """One model's prompts: `prompts` is the run's whole prompt list, `todo` those not answered yet (a resumed
    run, or after a backend's first pass); `write` appends finished answers (any order, any batch size) to the
    model's samples."""

    model: str  # "base", an adapter trained here or a brought-in model's label
    adapter: Path | None  # the peft adapter folder; None for the base model (or a checkpoint)
    folder: Path  # the model's generate stage folder
    prompts: list[Prompt]
    out: JsonlAppender  # the model's samples.jsonl
    write: Callable[[list[Answer]], None]
    checkpoint: ModelConfig | None = None  # a brought-in full model loaded in place of model (None: model)

    @property
    def todo(self) -> list[Prompt]:
        return [p for p in self.prompts if p.uid not in self.out.done]


class GenerationBackend(Plugin):
    # True: the stage hands every model of the run to one `run` call (they share a server's batches).
    together: ClassVar[bool] = False

    def __init__(self, cfg: RunConfig, log_dir: Path):
        self.cfg = cfg
        self.log_dir = log_dir

    @property
    def params(self) -> SamplingParams:
        g = self.cfg.generation
        return SamplingParams(g.max_new_tokens, g.temperature, g.top_p, g.seed)

    @abstractmethod
    def run(self, jobs: list[ModelJob]) -> dict[str, dict]:
        """Answer every job's `todo`; per model, the manifest's extra fields (at least "stats")."""


def create_backend(cfg: RunConfig, log_dir: Path) -> GenerationBackend:
    return BACKENDS.get(cfg.generation.backend)(cfg, log_dir)
