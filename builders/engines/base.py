"""The protocol every translation engine implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Engine(Protocol):
    """A machine translation backend. Language codes are ours (safedrift.core.languages), not the engine's."""

    name: str

    @property
    def package(self) -> str | None:
        """The distribution whose version is the engine's version (recorded in manifests)."""
        ...

    @property
    def card_note(self) -> str:
        """What a dataset card's reader should know about this engine's translations."""
        ...

    def model_id(self, source: str, target: str) -> str:
        """Model id + version for the pair; part of the translation-memory key, e.g. "enpt-1693087644"."""
        ...

    def supports(self, source: str, target: str) -> bool:
        """Whether a model for the pair is available; cheap, loads no model."""
        ...

    def install_hint(self, source: str, target: str) -> str:
        """One sentence: how to get a model for this pair."""
        ...

    def translate_batch(self, segments: Sequence[str], source: str, target: str) -> list[str]:
        """Translate segments (already protected by builders.segments), one output per input, in order."""
        ...
