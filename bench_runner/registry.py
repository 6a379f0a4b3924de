"""Name -> "module:Class" registries whose entries are imported only when used."""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from builders.errors import ConfigError


class LazyRegistry:
    def __init__(self, kind: str, entries: dict[str, str]):
        self.kind = kind
        self.entries = dict(entries)

    def names(self) -> list[str]:
        return sorted(self.entries)

    def check(self, name: str) -> str:
        if name not in self.entries:
            close = difflib.get_close_matches(name, self.entries, n=1)
            hint = f" did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"unknown {self.kind} {name!r};{hint} known {self.kind}s: {', '.join(self.names())}."
            )
        return name

    def get(self, name: str) -> Any:
        target = self.entries[self.check(name)]
        module_name, _, attr = target.partition(":")
        return getattr(importlib.import_module(module_name), attr)
