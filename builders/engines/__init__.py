"""Translation engines: a protocol and a registry of names, each imported only when asked for."""

from __future__ import annotations

from builders.engines.base import Engine
from safedrift.core.registry import LazyRegistry

ENGINES = LazyRegistry("translation engine", {
    "identity": "builders.engines.identity:IdentityEngine",
    "bergamot": "builders.engines.bergamot:BergamotEngine",
    "argos": "builders.engines.argos:ArgosEngine",
    "nllb": "builders.engines.nllb:NllbEngine",
})


def engine_names() -> list[str]:
    return ENGINES.names()


def get_engine(name: str, **options) -> Engine:
    """Build the engine registered under name with its options (e.g. beam_size=2 for argos)."""
    engine: Engine = ENGINES.create(name, **options)
    return engine


__all__ = ["ENGINES", "Engine", "engine_names", "get_engine"]
