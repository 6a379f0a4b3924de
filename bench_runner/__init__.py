"""bench_runner: LoRA fine-tune per language -> generate in every language -> judge -> metrics -> report."""

from __future__ import annotations

SCHEMA_VERSION = "1.2"
