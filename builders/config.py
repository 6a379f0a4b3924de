"""Release configuration: YAML validated into typed objects (unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from builders.errors import ConfigError
from builders.languages import SOURCE_LANGUAGE, check_languages


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BenignSourceConfig(_Strict):
    name: str
    path: str | None = None
    hub_id: str | None = None
    revision: str | None = None
    format: Literal["auto", "alpaca", "dolly"] = "auto"


class BenignConfig(_Strict):
    sources: list[BenignSourceConfig] = Field(min_length=1)
    subset: int | None = Field(default=None, ge=1, description="seeded subset of N rows (all rows when unset)")
    seed: int = 0
    safety_filter: bool = True
    test_fraction: float = Field(default=0.1, gt=0, lt=1)


class SorryBenchConfig(_Strict):
    path: str | None = None
    hub_id: str | None = None
    revision: str | None = None
    filename: str | None = None
    prompt_style: str = "base"
    limit: int | None = Field(default=None, ge=1, description="first N prompts only (quick runs)")


class TranslationConfig(_Strict):
    # Engines in order of preference: a language uses the first one that has a model for en<->L.
    engines: list[str] = Field(default_factory=lambda: ["argos"], min_length=1)
    per_language: dict[str, str] = Field(default_factory=dict, description="language -> engine override")
    engine_options: dict[str, dict] = Field(default_factory=dict)
    include_installed_argos: bool = False
    batch_segments: int = Field(default=64, ge=1)
    back_translate: bool = True


class QAThresholds(_Strict):
    chrf: float | None = Field(default=None, ge=0, le=100)
    bleu: float | None = Field(default=None, ge=0, le=100)
    lang_id_score: float | None = Field(default=None, ge=0, le=1)


class CometConfig(_Strict):
    """COMET runs in its own venv (make comet-env) as a subprocess; skipped with a recorded reason otherwise."""

    enabled: Literal["auto", "on", "off"] = "auto"  # auto: run when the COMET venv and models load
    python: str = ".venv-comet/bin/python"
    qe_model: str | None = "Unbabel/wmt22-cometkiwi-da"  # reference-free, on source/translation pairs
    ref_model: str | None = "Unbabel/wmt22-comet-da"  # reference-based, on the back-translation
    batch_size: int = Field(default=16, ge=1)
    gpus: int = Field(default=0, ge=0)


class GateConfig(_Strict):
    """The great-expectations release gate (validation/gate.py): a failing suite blocks the release."""

    enabled: bool = True
    lang_id_agreement: float = Field(default=0.9, ge=0, le=1, description="share of rows whose lang_id is the config language")


class QAConfig(_Strict):
    # Defaults measured on the sample with bergamot en<->pt; see README "Quality gate".
    chrf: float = Field(default=35.0, ge=0, le=100)
    bleu: float | None = Field(default=None, ge=0, le=100)
    lang_id_score: float = Field(default=0.5, ge=0, le=1)
    per_language: dict[str, QAThresholds] = Field(default_factory=dict)
    comet: CometConfig = Field(default_factory=CometConfig)
    gate: GateConfig = Field(default_factory=GateConfig)

    def thresholds(self, lang: str) -> QAThresholds:
        own = self.per_language.get(lang, QAThresholds())
        return QAThresholds(
            chrf=own.chrf if own.chrf is not None else self.chrf,
            bleu=own.bleu if own.bleu is not None else self.bleu,
            lang_id_score=own.lang_id_score if own.lang_id_score is not None else self.lang_id_score,
        )


class DatasetNames(_Strict):
    benign: str = "Multilingual-Benign-Tune"
    sorry_bench: str = "SORRY-Bench-Multilingual"


class ReleaseConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    version: str = "0.1.0"
    languages: list[str] = Field(min_length=1)
    output_dir: str = "release"
    work_dir: str | None = None
    datasets: DatasetNames = Field(default_factory=DatasetNames)
    benign: BenignConfig
    sorry_bench: SorryBenchConfig = Field(default_factory=SorryBenchConfig)
    translation: TranslationConfig = Field(default_factory=TranslationConfig)
    qa: QAConfig = Field(default_factory=QAConfig)

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        check_languages(value)
        if SOURCE_LANGUAGE not in value:
            value = [SOURCE_LANGUAGE, *value]
        return value

    @property
    def work_path(self) -> Path:
        return Path(self.work_dir or f"build/{self.name}")

    @property
    def output_path(self) -> Path:
        return Path(self.output_dir)


def _format_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def load_release_config(path: str | Path) -> ReleaseConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}).") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level.")
    raw.setdefault("name", path.stem)
    try:
        return ReleaseConfig.model_validate(raw)
    except ConfigError as exc:  # raised by a validator (unknown or repeated language)
        raise ConfigError(f"{path}: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_format_validation_error(exc)}.") from None
