"""The identity engine: returns segments unchanged (en->en, and the round-trip tests)."""

from __future__ import annotations

from collections.abc import Sequence


class IdentityEngine:
    name = "identity"

    def model_id(self, source: str, target: str) -> str:
        return "identity-1"

    def supports(self, source: str, target: str) -> bool:
        return True

    def install_hint(self, source: str, target: str) -> str:
        return "the identity engine needs no model."

    def translate_batch(self, segments: Sequence[str], source: str, target: str) -> list[str]:
        return list(segments)
