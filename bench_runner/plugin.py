"""What every pluggable piece of the runner (generation backends, judges) is: a base class whose optional hooks
have defaults (inspect's ModelAPI), found by name in a lazy registry (bench_runner.registries).

A plugin checks its own dependencies and settings in `check` (preflight asks every plugin the config uses, and
knows none of their internals), states what besides the config decides its output in `cache_identity` (part
of the stage's cache key), describes itself for the results in `describe`, and frees what it holds in `close`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from bench_runner.config import RunConfig


@dataclass
class Findings:
    """What a check found: problems stop the run (every one reported at once), warnings are printed."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # one line per thing found in order

    def text(self) -> str:
        lines = [f"ok: {c}" for c in self.checked] + [f"warning: {w}" for w in self.warnings]
        lines += [f"problem: {p}" for p in self.problems]
        return "\n".join(lines)


class Plugin:
    name: ClassVar[str] = ""

    @classmethod
    def check(cls, cfg: RunConfig, found: Findings) -> None:
        """Add to `found` what this plugin needs and the config lacks (seconds; no weights are loaded)."""

    @classmethod
    def cache_identity(cls, cfg: RunConfig) -> dict:
        """What, besides the config, decides this plugin's output (a template, a parser, a resolved revision)."""
        return {}

    def describe(self) -> dict:
        return {"name": self.name}

    def close(self) -> None:
        """Free what the plugin holds (a model, a server)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
