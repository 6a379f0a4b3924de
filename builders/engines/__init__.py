"""Translation engines: a protocol and a registry of names, each imported only when asked for."""

from __future__ import annotations

import difflib
import importlib
import inspect

from builders.engines.base import Engine
from builders.errors import ConfigError

ENGINES: dict[str, str] = {
    "identity": "builders.engines.identity:IdentityEngine",
    "bergamot": "builders.engines.bergamot:BergamotEngine",
    "argos": "builders.engines.argos:ArgosEngine",
}


def engine_names() -> list[str]:
    return sorted(ENGINES)


def get_engine(name: str, **options) -> Engine:
    """Build the engine registered under name with its options (e.g. beam_size=2 for argos)."""
    if name not in ENGINES:
        close = difflib.get_close_matches(name, ENGINES, n=1)
        hint = f" did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"unknown translation engine {name!r};{hint} known engines: {', '.join(engine_names())}."
        )
    module_name, _, class_name = ENGINES[name].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    params = inspect.signature(cls).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(options) - set(params))
        if unknown:
            known = ", ".join(sorted(params)) or "none"
            raise ConfigError(f"engine {name!r} has no option(s) {', '.join(unknown)}; its options: {known}.")
    return cls(**options)


__all__ = ["ENGINES", "Engine", "engine_names", "get_engine"]
