"""The builders' config sections: the dataset sources and `translation` (a release config's first part)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, field_validator

from safedrift.core.config import ReleaseBase, Strict, load_release_section
from safedrift.core.registry import did_you_mean
from safedrift.core.specs import XSTEST

# `demo:` on a source: its rows are demo data written for the toolkit (the cards then say so, and do not name a
# public dataset as their origin); None: decided from the path (a file of the shipped data/sample folder is demo).
DEMO_HELP = "demo data written for the toolkit (None: a file under the shipped data/sample folder is)"


class BenignSourceConfig(Strict):
    # a source's name (its rows' `source` column)
    name: str
    # a local JSON/JSONL file of instruction rows
    path: str | None = None
    demo: bool | None = Field(default=None, description=DEMO_HELP)
    # a Hub dataset id (instead of path)
    hub_id: str | None = None
    # the Hub dataset's commit (pin it: the build's provenance records it)
    revision: str | None = None
    # the row schema: alpaca (instruction/input/output), dolly (instruction/context/response), auto = detect
    format: Literal["auto", "alpaca", "dolly"] = "auto"


class HygieneConfig(Strict):
    """Source hygiene for benign rows (builders/hygiene.py); every rule's count goes to the sources manifest and
    the card. Control and invisible characters are always removed and exact duplicates always dropped."""

    # Clear placeholder inputs ("<noinput>", "N/A") and drop rows whose output is one ("<nooutput>").
    placeholders: bool = True
    # Tasks whose answer depends on English itself (fix the spelling/grammar of English text, rhymes and verse
    # forms, anagrams, puns, letters/syllables, "translate into English"): counted either way; `drop` removes
    # them, `keep` leaves them in.
    language_bound: Literal["drop", "keep"] = "keep"


class BenignConfig(Strict):
    sources: list[BenignSourceConfig] = Field(min_length=1)
    subset: int | None = Field(default=None, ge=1, description="seeded subset of N rows (all rows when unset)")
    # the seed of the train/test split and the row sampling
    seed: int = 0
    # drop rows whose answer is a refusal or a model limitation (builders/hygiene.py)
    safety_filter: bool = True
    # the share of rows in the test split
    test_fraction: float = Field(default=0.1, gt=0, lt=1)
    hygiene: HygieneConfig = Field(default_factory=HygieneConfig)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, value: list[BenignSourceConfig]) -> list[BenignSourceConfig]:
        # Rows, ids and the card's per-source counts are keyed by the name: two sources with one name would
        # be counted as one.
        names = [src.name for src in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"source name {', '.join(map(repr, twice))} is used by more than one source; give "
                             "every source its own `name:`")
        return value


class SorryBenchConfig(Strict):
    # a local SORRY-Bench-schema JSONL file
    path: str | None = None
    demo: bool | None = Field(default=None, description=DEMO_HELP)
    # the Hub dataset id (gated: needs HF_TOKEN)
    hub_id: str | None = None
    # the Hub dataset's commit
    revision: str | None = None
    # the file inside the Hub dataset
    filename: str | None = None
    # the SORRY-Bench prompt style to keep (base = the unmutated prompts)
    prompt_style: str = "base"
    limit: int | None = Field(default=None, ge=1, description="first N prompts only (quick runs)")


class XSTestConfig(Strict):
    """XSTest: a local CSV/JSONL (`path:`) or a Hub copy (`hub_id:`/`revision:`, default: `source`'s)."""

    # which known source the rows are (safedrift.core.specs.XSTEST.sources): its Hub id, licence and citation
    source: str = "xstest"
    # a local XSTest-schema CSV/JSONL file
    path: str | None = None
    demo: bool | None = Field(default=None, description=DEMO_HELP)
    # the Hub dataset id
    hub_id: str | None = None
    # the Hub dataset's commit
    revision: str | None = None
    split: str | None = None  # Hub split to read (default: the dataset's only split)
    types: list[str] | None = Field(default=None, min_length=1, description="keep only these prompt types")
    limit: int | None = Field(default=None, ge=1, description="first N prompts (by id) only (quick runs)")

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value not in XSTEST.sources:
            raise ValueError(f"unknown source {value!r};{did_you_mean(value, XSTEST.sources)} known: "
                             f"{', '.join(XSTEST.sources)}")
        return value


class CalibrationConfig(Strict):
    """The sample `select: auto` scores engines on (builders/select.py)."""

    size: int = Field(default=200, ge=1, description="English texts sampled from every dataset's fields")
    # the seed of the calibration sample
    seed: int = 0
    # An engine qualifies with at least this share of translations identified as the target language ...
    min_lang_id: float = Field(default=0.8, ge=0, le=1)
    # ... and at least this share of protected spans (URLs, numbers, code, placeholders) back in place.
    min_spans: float = Field(default=0.9, ge=0, le=1)


class TranslationConfig(Strict):
    # Engines in order of preference: with `select: first` a language uses the first one that has a model
    # for en<->L; with `select: auto` every one that has translates a calibration sample and the best by
    # measured quality is used (the rule and the table go to translated/manifest.json).
    engines: list[str] = Field(default_factory=lambda: ["argos"], min_length=1)
    # first: the first engine that can do a pair; auto: the engine measured best on the calibration sample
    select: Literal["first", "auto"] = "first"
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    # language -> engine: a fixed choice, never calibrated
    per_language: dict[str, str] = Field(default_factory=dict, description="language -> engine override")
    # per engine name, options passed to it (e.g. a model folder)
    engine_options: dict[str, dict] = Field(default_factory=dict)
    # also use argos packages installed in the user's argos folder
    include_installed_argos: bool = False
    # Segments per engine call and per memory commit: a CTranslate2 engine splits one call into token
    # batches run in parallel, so a call needs a few thousand tokens; a killed build loses one chunk.
    batch_segments: int = Field(default=512, ge=1)
    # translate every row back to English for the back-translation checks
    back_translate: bool = True


class BuildConfig(ReleaseBase):
    """What the build stage reads: one source section per dataset (named by its spec key)."""

    benign: BenignConfig
    sorry_bench: SorryBenchConfig = Field(default_factory=SorryBenchConfig)
    xstest: XSTestConfig = Field(default_factory=XSTestConfig)  # default: walledai/XSTest from the Hub
    translation: TranslationConfig = Field(default_factory=TranslationConfig)


def load_build_config(path: str | os.PathLike, overrides: dict | None = None) -> BuildConfig:
    return load_release_section(BuildConfig, path, overrides)
