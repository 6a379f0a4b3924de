"""Name -> "module:attribute" registries whose entries are imported only when used (lm-eval's pattern).

Every pluggable piece (translation engines, QA scorers, dataset loaders, generation backends, judges) is
one entry; an unknown name answers with "did you mean …" and the known names.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from typing import Any

from safedrift.core.errors import ConfigError


def did_you_mean(value: str, known: list[str] | tuple[str, ...] | dict) -> str:
    """" did you mean 'x'?" for the closest known name, or ""."""
    close = difflib.get_close_matches(value, list(known), n=1)
    return f" did you mean {close[0]!r}?" if close else ""


class LazyRegistry:
    def __init__(self, kind: str, entries: dict[str, str]):
        self.kind = kind
        self.entries = dict(entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def names(self) -> list[str]:
        return sorted(self.entries)

    def check(self, name: str) -> str:
        if name not in self.entries:
            raise ConfigError(
                f"unknown {self.kind} {name!r};{did_you_mean(name, self.entries)} "
                f"known {self.kind}s: {', '.join(self.names())}."
            )
        return name

    def get(self, name: str) -> Any:
        """The registered object (class or function), imported now."""
        module_name, _, attr = self.entries[self.check(name)].partition(":")
        return getattr(importlib.import_module(module_name), attr)

    def create(self, name: str, *args: Any, **options: Any) -> Any:
        """An instance of the registered class; options it does not take are one clear error."""
        cls = self.get(name)
        params = inspect.signature(cls).parameters
        if options and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            unknown = sorted(set(options) - set(params))
            if unknown:
                known = ", ".join(sorted(p for p in params if p != "self")) or "none"
                raise ConfigError(f"{self.kind} {name!r} has no option(s) {', '.join(unknown)}; "
                                  f"its options: {known}.")
        return cls(*args, **options)
