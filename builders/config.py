"""Release configuration: YAML validated into typed objects (unknown keys are errors)."""

from __future__ import annotations

import re
from datetime import date
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


STRUCTURE_CHECKS = ("code_block", "inline_code", "url", "number", "placeholder", "length_ratio",
                    "untranslated", "empty")


class QAThresholds(_Strict):
    """Per-metric minimums; a row under one is flagged and fails (None: the metric never fails a row)."""

    chrf: float | None = Field(default=None, ge=0, le=100, description="back-translation chrF")
    bleu: float | None = Field(default=None, ge=0, le=100, description="back-translation BLEU")
    lang_id_score: float | None = Field(default=None, ge=0, le=1,
                                        description="a different detected language fails from this score on")
    comet_min: float | None = Field(default=None, description="reference-free COMET (when it ran)")
    length_ratio_width: float | None = Field(default=None, gt=0,
                                             description="allowed length ratio: median +- width robust SDs")
    structure_fail: list[str] | None = Field(default=None, description="structure checks that fail a row")

    @field_validator("structure_fail")
    @classmethod
    def _known_checks(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - set(STRUCTURE_CHECKS))
        if unknown:
            raise ValueError(f"unknown structure checks {unknown}; known: {list(STRUCTURE_CHECKS)}")
        return value


class CometConfig(_Strict):
    """COMET runs in its own venv (make comet-env) as a subprocess; skipped with a recorded reason otherwise."""

    enabled: Literal["auto", "on", "off"] = "auto"  # auto: run when the COMET venv and models load
    python: str = ".venv-comet/bin/python"
    qe_model: str | None = "Unbabel/wmt22-cometkiwi-da"  # reference-free, on source/translation pairs
    ref_model: str | None = "Unbabel/wmt22-comet-da"  # reference-based, on the back-translation
    batch_size: int = Field(default=16, ge=1)
    gpus: int = Field(default=0, ge=0)

    @field_validator("enabled", mode="before")
    @classmethod
    def _yaml_booleans(cls, value):
        # YAML 1.1 reads a bare on/off as a boolean.
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


class GateConfig(_Strict):
    """The great-expectations release gate (validation/gate.py): a failing suite blocks the release."""

    enabled: bool = True
    lang_id_agreement: float = Field(default=0.9, ge=0, le=1, description="share of rows whose lang_id is the config language")


class QAConfig(_Strict):
    # Defaults measured on the sample with bergamot en<->pt; see README "Quality gate".
    # comet runs when the COMET venv and its models load, and is skipped with the reason otherwise.
    scorers: list[str] = Field(
        default_factory=lambda: ["backtranslation", "lang_id", "structure", "reference", "comet"])
    chrf: float | None = Field(default=35.0, ge=0, le=100)
    bleu: float | None = Field(default=None, ge=0, le=100)
    lang_id_score: float | None = Field(default=0.7, ge=0, le=1)
    comet_min: float | None = None
    length_ratio_width: float = Field(default=4.0, gt=0)
    structure_fail: list[str] = Field(default_factory=lambda: list(STRUCTURE_CHECKS))
    per_language: dict[str, QAThresholds] = Field(default_factory=dict)
    on_fail: Literal["keep", "drop"] = "keep"  # drop: a failing row leaves every language of the release
    references: dict[str, str] = Field(default_factory=dict, description="language -> reference JSONL")
    worst_rows: int = Field(default=5, ge=0)
    # Languages are scored in parallel processes once there is enough work to pay for starting them
    # (about 3 s each); None = one per CPU core, at most 4.
    workers: int | None = Field(default=None, ge=1)
    comet: CometConfig = Field(default_factory=CometConfig)
    gate: GateConfig = Field(default_factory=GateConfig)

    @field_validator("structure_fail")
    @classmethod
    def _known_checks(cls, value: list[str]) -> list[str]:
        return QAThresholds._known_checks(value)

    def thresholds(self, lang: str) -> QAThresholds:
        """This language's thresholds: its per_language entry where set, the top-level value otherwise."""
        own = self.per_language.get(lang, QAThresholds())
        return QAThresholds(**{
            name: getattr(own, name) if getattr(own, name) is not None else getattr(self, name)
            for name in QAThresholds.model_fields
        })


class HubConfig(_Strict):
    """Where `--push` publishes the release (cards/push.py); the CLI flags --hub-org/--org override `org`."""

    org: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    private: bool = False
    gated: Literal["manual", "auto"] = "manual"  # access requests for SORRY-Bench-Multilingual
    endpoint: str | None = None  # a self-hosted Hub (or a test server); default: HF_ENDPOINT / huggingface.co


class DatasetNames(_Strict):
    benign: str = "Multilingual-Benign-Tune"
    sorry_bench: str = "SORRY-Bench-Multilingual"


# semver.org's grammar: MAJOR.MINOR.PATCH, optional -prerelease and +build, no leading zeros.
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)


def _valid_date(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


class ReleaseConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    version: str = Field(default="0.1.0", description="semantic (1.2.0) or date (2025-06-01) release version")
    languages: list[str] = Field(min_length=1)
    output_dir: str = "release"
    work_dir: str | None = None
    datasets: DatasetNames = Field(default_factory=DatasetNames)
    benign: BenignConfig
    sorry_bench: SorryBenchConfig = Field(default_factory=SorryBenchConfig)
    translation: TranslationConfig = Field(default_factory=TranslationConfig)
    qa: QAConfig = Field(default_factory=QAConfig)
    hub: HubConfig = Field(default_factory=HubConfig)

    @field_validator("version", mode="before")
    @classmethod
    def _release_version(cls, value: object) -> object:
        # YAML reads an unquoted 2025-06-01 as a date and 1.0 as a float; take the date, refuse the float.
        if isinstance(value, date):
            value = value.isoformat()
        if not isinstance(value, str) or not (_SEMVER.fullmatch(value) or _valid_date(value)):
            raise ConfigError(
                f"version: {value!r} is neither a semantic version (MAJOR.MINOR.PATCH, e.g. \"1.0.0\") nor a "
                f"date (YYYY-MM-DD, e.g. \"2025-06-01\")"
                + ("; quote it in the YAML." if not isinstance(value, str) else ".")
            )
        return value

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
