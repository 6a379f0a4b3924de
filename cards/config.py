"""The cards stage's config section, `hub`, and the whole release config it completes."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field

from safedrift.core.config import Strict, load_release_section
from validation.config import QAStageConfig


class HubConfig(Strict):
    """Where `--push` publishes the release (cards/push.py); the CLI flag --hub-org overrides `org`."""

    # the Hub organisation or user the datasets are pushed to (--hub-org wins)
    org: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    # push the repositories as private
    private: bool = False
    gated: Literal["manual", "auto"] = "manual"  # access requests for SORRY-Bench-Multilingual
    endpoint: str | None = None  # a self-hosted Hub (or a test server); default: HF_ENDPOINT / huggingface.co


class ReleaseConfig(QAStageConfig):
    """A whole release config: the build's sections, `qa` and `hub` (every key checked)."""

    hub: HubConfig = Field(default_factory=HubConfig)


def load_release_config(path: str | os.PathLike, overrides: dict | None = None) -> ReleaseConfig:
    return load_release_section(ReleaseConfig, path, overrides)
