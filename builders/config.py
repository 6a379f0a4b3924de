"""The builders' config sections: the dataset sources and `translation` (a release config's first part)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field

from safedrift.config import ReleaseBase, Strict, load_release_section


class BenignSourceConfig(Strict):
    name: str
    path: str | None = None
    hub_id: str | None = None
    revision: str | None = None
    format: Literal["auto", "alpaca", "dolly"] = "auto"


class BenignConfig(Strict):
    sources: list[BenignSourceConfig] = Field(min_length=1)
    subset: int | None = Field(default=None, ge=1, description="seeded subset of N rows (all rows when unset)")
    seed: int = 0
    safety_filter: bool = True
    test_fraction: float = Field(default=0.1, gt=0, lt=1)


class SorryBenchConfig(Strict):
    path: str | None = None
    hub_id: str | None = None
    revision: str | None = None
    filename: str | None = None
    prompt_style: str = "base"
    limit: int | None = Field(default=None, ge=1, description="first N prompts only (quick runs)")


class TranslationConfig(Strict):
    # Engines in order of preference: a language uses the first one that has a model for en<->L.
    engines: list[str] = Field(default_factory=lambda: ["argos"], min_length=1)
    per_language: dict[str, str] = Field(default_factory=dict, description="language -> engine override")
    engine_options: dict[str, dict] = Field(default_factory=dict)
    include_installed_argos: bool = False
    batch_segments: int = Field(default=64, ge=1)
    back_translate: bool = True


class BuildConfig(ReleaseBase):
    """What the build stage reads: one source section per dataset (named by its spec key)."""

    benign: BenignConfig
    sorry_bench: SorryBenchConfig = Field(default_factory=SorryBenchConfig)
    translation: TranslationConfig = Field(default_factory=TranslationConfig)


def load_build_config(path: str | os.PathLike, overrides: dict | None = None) -> BuildConfig:
    return load_release_section(BuildConfig, path, overrides)
