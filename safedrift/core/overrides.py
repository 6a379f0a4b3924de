"""`--set a.b=value` on the command line: one config key replaced for one run, validated with the file.

A value is read as YAML (`--set training.lr=1e-4`, `--set eval_languages=[en,pt]`, `--set tracking.comet=off`),
so it means what it would mean written in the config. The dotted key is set inside the file's mapping before the
whole config is validated, so an unknown key or a bad value is the loader's one error naming that key.
"""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from safedrift.core.errors import ConfigError


def add_set_argument(p: argparse.ArgumentParser, example: str) -> None:
    """`--set KEY=VALUE` (repeatable) on a command that reads a config; parse_sets(args.sets) reads it."""
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help=f"replace one config key for this run, e.g. --set {example} (the value is read as YAML; "
                        "repeatable; validated with the file and recorded in the provenance)")


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """["a.b=1", ...] -> {"a.b": 1, ...} (later ones win); a malformed item is one ConfigError."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, eq, raw = item.partition("=")
        key = key.strip()
        if not eq or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE with a dotted key, e.g. --set "
                              "datasets.sorry_limit=20.")
        try:
            out[key] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            raise ConfigError(f"--set {key}: {raw!r} is not a YAML value; quote it, e.g. --set '{key}=\"...\"'."
                              ) from None
    return out


def apply_overrides(data: dict, overrides: dict[str, Any] | None) -> dict:
    """A copy of `data` with each dotted key of `overrides` set (intermediate mappings created as needed)."""
    out = _copy(data)
    for key, value in (overrides or {}).items():
        parts = key.split(".")
        node = out
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                where = ".".join(parts[: i + 1])
                raise ConfigError(f"--set {key}: {where} is a {type(child).__name__} in the config, not a section; "
                                  f"set {where} itself.")
            node = child
        node[parts[-1]] = value
    return out


def _copy(data: dict) -> dict:
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in data.items()}
