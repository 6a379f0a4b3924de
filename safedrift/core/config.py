"""One strict YAML loader for every config: YAML -> a typed pydantic model; unknown keys are errors that
name the closest known key."""

from __future__ import annotations

import os
import re
import types
import typing
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from safedrift.core.errors import ConfigError
from safedrift.core.languages import SOURCE_LANGUAGE, check_languages
from safedrift.core.overrides import apply_overrides
from safedrift.core.registry import did_you_mean
from safedrift.core.specs import SPECS, DatasetSpec

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base of every config section: unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid")


def read_yaml(path: str | os.PathLike) -> dict:
    """A YAML file's top-level mapping; a missing file or bad YAML is one sentence."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte offset {exc.start}); re-encode it as UTF-8.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_error_line(path, exc)) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level.")
    return raw


def yaml_error_line(path: Path, exc: yaml.YAMLError) -> str:
    """A YAML syntax error in one line: file:line:column, what is wrong, and the fix (PyYAML's own message
    spans several lines with the offending text quoted)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    context = getattr(exc, "context", None)
    said = f"{problem} ({' '.join(context.split())})" if context else problem
    return f"{where}: not valid YAML: {said}; fix the file at that line and column."


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation may hold (X, X | None, list[X], dict[str, X])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is None and not isinstance(annotation, types.UnionType):
        return []
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the model found at `loc` inside `model` (list indexes and dict keys skipped)."""
    current = [model]
    for part in loc:
        nxt: list[type[BaseModel]] = []
        for m in current:
            if isinstance(part, str) and part in m.model_fields:
                nxt += _models_in(m.model_fields[part].annotation)
            else:
                nxt.append(m)  # an index or dict key: stay on this model's item type
        current = nxt
        if not current:
            return []
    return sorted({name for m in current for name in m.model_fields})


def format_validation_error(model: type[BaseModel], exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            known = _fields_at(model, loc[:-1])
            hint = did_you_mean(str(loc[-1]), known) if known else ""
            msg = f"unknown key;{hint}" if hint else "unknown key"
            if known and not hint:
                msg += f" (known keys: {', '.join(known)})"
        elif err["type"] == "literal_error":
            choices = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
            msg = err["msg"] + (f";{did_you_mean(str(err['input']), choices)}" if did_you_mean(
                str(err["input"]), choices) else "")
        else:
            msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


def validate_config(model: type[M], data: dict, where: str | os.PathLike = "<config>") -> M:
    """data -> model, every problem in one ConfigError naming `where`."""
    try:
        return model.model_validate(data)
    except ConfigError as exc:  # raised inside a validator with its own sentence
        raise ConfigError(f"{where}: {exc}") from None
    except ValidationError as exc:
        message = format_validation_error(model, exc)
        raise ConfigError(f"{where}: {message}{'' if message.endswith(('.', '?')) else '.'}") from None


def load_config(model: type[M], path: str | os.PathLike, overrides: dict | None = None,
                defaults: dict | None = None) -> M:
    """Read YAML at `path` into `model`; `defaults` fill keys the file lacks, `overrides` replace keys."""
    data = apply_overrides({**(defaults or {}), **read_yaml(path)}, overrides)
    return validate_config(model, data, path)


# --- the release config's shared part ---------------------------------------------------------------------
# A release config is composed by the stages: builders adds the dataset source sections and `translation`,
# validation adds `qa`, cards adds `hub` (each stage's model extends the one before). A stage run on its
# own reads the same file and ignores the sections of the stages after it.

STAGE_SECTIONS = ("translation", "qa", "hub")

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


class ReleaseBase(Strict):
    # the release's name (work/<name>/ by default; a plain folder name)
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    version: str = Field(default="0.1.0", description="semantic (1.2.0) or date (2025-06-01) release version")
    # the languages to build (English, the source, always; `safedrift engines` lists who translates what)
    languages: list[str] = Field(min_length=1)
    # where the published Hub-layout folders go
    output_dir: str = "release"
    # where sources, translations and QA are kept (default work/<name>)
    work_dir: str | None = None
    # dataset key -> published name; the datasets a release builds (default: every spec, default names)
    datasets: dict[str, str] = Field(default_factory=lambda: {k: s.name for k, s in SPECS.items()})
    # The command line's overrides (--work-dir, --set a.b=v), as given: recorded in the build's manifests.
    _overrides: dict = PrivateAttr(default_factory=dict)

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

    @field_validator("datasets")
    @classmethod
    def _known_datasets(cls, value: dict[str, str]) -> dict[str, str]:
        for key, name in value.items():
            if key not in SPECS:
                raise ConfigError(f"datasets: unknown dataset {key!r};{did_you_mean(key, SPECS)} known: "
                                  f"{', '.join(SPECS)}.")
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                raise ConfigError(f"datasets.{key}: {name!r} is not a valid repository name.")
        return value

    @property
    def work_path(self) -> Path:
        return Path(self.work_dir or f"build/{self.name}")

    @property
    def output_path(self) -> Path:
        return Path(self.output_dir)

    def specs(self) -> list[DatasetSpec]:
        """The datasets this release builds, in config order."""
        return [SPECS[key] for key in self.datasets]

    def published_name(self, spec: DatasetSpec) -> str:
        return self.datasets.get(spec.key, spec.name)


R = TypeVar("R", bound=ReleaseBase)


def load_release_section(model: type[R], path: str | os.PathLike, overrides: dict | None = None) -> R:
    """A release config read by one stage: the sections of later stages (and datasets' source sections
    that `model` lacks) are left to those stages; any other unknown top-level key is an error."""
    data = read_yaml(path)
    data.setdefault("name", Path(path).stem)
    data = apply_overrides(data, overrides)  # dotted keys (`--set translation.select=auto`) set inside
    later = set(STAGE_SECTIONS) | set(SPECS)
    data = {k: v for k, v in data.items() if k in model.model_fields or k not in later}
    cfg = validate_config(model, data, path)
    cfg._overrides = dict(overrides or {})
    return cfg
