"""The identity engine: returns segments unchanged (the source language, and the round-trip tests).

It claims support only for source == target, so a config can never publish copied English under
another language's name by picking it."""

from __future__ import annotations

from collections.abc import Sequence


class IdentityEngine:
    name = "identity"
    package = None
    card_note = "the identity engine copies the source text (same-language pairs only)."

    def model_id(self, source: str, target: str) -> str:
        return "identity-1"

    def supports(self, source: str, target: str) -> bool:
        return source == target

    def install_hint(self, source: str, target: str) -> str:
        return "the identity engine only copies text within one language; it needs no model."

    def translate_batch(self, segments: Sequence[str], source: str, target: str) -> list[str]:
        return list(segments)
