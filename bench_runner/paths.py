"""Where a config's datasets and models are: a local path (resolved against the config file's folder, then the
working directory) or a Hugging Face Hub id, decided before anything is read, and whether a Hub id is cached.

A value that looks like a path (it starts with `.`, `/` or `~`) or names something that exists locally is a
local path; anything else is a Hub id. A local path that does not exist is an error that names where it was
looked for, never a Hub request.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

# Config keys holding a dataset or model location (a Hub id or a path), and the ones that are always paths.
LOCATION_KEYS = ("datasets.benign", "datasets.sorry", "datasets.xstest")
PATH_KEYS = ("model.local_dir", "model.gguf_file", "judge.model.local_dir", "judge.model.gguf_file")


@dataclass(frozen=True)
class Location:
    key: str  # the config key, e.g. "datasets.sorry"
    given: str  # the value as written in the config
    local: bool
    path: str | None  # the resolved absolute path (local), None for a Hub id
    exists: bool
    looked_in: tuple[str, ...] = ()  # folders a relative path was looked for in

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def value(self) -> str:
        """What the config holds after resolution: the absolute path, or the Hub id."""
        return self.path if self.local and self.path else self.given

    def missing_sentence(self) -> str:
        """One sentence for a local path that does not exist."""
        if not self.looked_in:
            return f"{self.key}: {self.given!r} does not exist"
        if len(self.looked_in) == 1:
            return f"{self.key}: {self.given!r} does not exist in {self.looked_in[0]}"
        return (f"{self.key}: {self.given!r} does not exist (a relative path is looked for in the config file's "
                f"folder, {self.looked_in[0]}, then in the working directory, {self.looked_in[-1]})")


def looks_like_path(value: str) -> bool:
    return value.startswith((".", "/", "~"))


def locate(key: str, value: str, config_dir: str | os.PathLike | None = None, *, always_path: bool = False) -> Location:
    """Where `value` points: an existing local path (config folder first, then the working directory), a local
    path that does not exist (it looks like one, or the key only takes paths), or a Hub id."""
    expanded = Path(value).expanduser()
    if expanded.is_absolute():
        return Location(key, value, True, os.path.abspath(expanded), expanded.exists())
    bases = [Path(config_dir).resolve()] if config_dir is not None else []
    cwd = Path.cwd().resolve()
    if cwd not in bases:
        bases.append(cwd)
    looked = tuple(str(b) for b in bases)
    for base in bases:
        candidate = base / expanded
        if candidate.exists():
            return Location(key, value, True, os.path.abspath(candidate), True, looked)
    if always_path or looks_like_path(value):
        return Location(key, value, True, os.path.abspath(bases[0] / expanded), False, looked)
    return Location(key, value, False, None, False, looked)


def _get(data: dict, key: str):
    node = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _keys(data: dict) -> set[str]:
    """The dotted keys set in a raw config (an explicit null is set)."""
    return {f"{section}.{k}" for section, sub in data.items() if isinstance(sub, dict) for k in sub}


def _set(data: dict, key: str, value: str) -> None:
    *parents, last = key.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[last] = value


def resolve_config_paths(data: dict, config_dir: str | os.PathLike | None,
                         defaults: dict[str, str] | None = None) -> tuple[dict, dict[str, Location]]:
    """The raw config with its dataset and model locations resolved (local paths made absolute), and where each
    came from; `defaults` (config key -> value) are the values of keys the file leaves out. Keys that are unset,
    or not strings (a validation error later), are left alone."""
    import copy

    out = copy.deepcopy(data)
    found: dict[str, Location] = {}
    defaults = defaults or {}
    for key in (*LOCATION_KEYS, *PATH_KEYS):
        value = _get(out, key)
        if value is None and key in defaults and key not in _keys(out):
            # The default release folders are relative too: found beside the config, else in the working dir.
            value = defaults[key]
            out.setdefault("datasets", {})
            if not isinstance(out["datasets"], dict):
                continue
        if not isinstance(value, str) or not value:
            continue
        loc = locate(key, value, config_dir, always_path=key in PATH_KEYS)
        found[key] = loc
        _set(out, key, loc.value)
    return out, found


# ---- the Hugging Face cache, read without the network ---------------------------------------------------------

def hub_cache_dir() -> Path:
    """The Hub cache as set now (huggingface_hub reads HF_HUB_CACHE once, at import)."""
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    return Path(constants.HF_HUB_CACHE)


def cached_file(repo_id: str, filename: str, revision: str | None = None, repo_type: str = "model") -> str | None:
    """The cached copy of one file of a Hub repository, or None; never asks the Hub."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, filename, revision=revision, repo_type=repo_type,
                                       cache_dir=str(hub_cache_dir()))
    except Exception:  # noqa: BLE001 - a malformed id or revision: not cached
        return None
    return found if isinstance(found, str) else None


def cached_commit(repo_id: str, filename: str, revision: str | None = None, repo_type: str = "model") -> str | None:
    """The commit sha of the cached snapshot holding `filename` (the folder name of the snapshot), or None."""
    found = cached_file(repo_id, filename, revision, repo_type)
    if found is None:
        return None
    parts = Path(found).parts
    return parts[parts.index("snapshots") + 1] if "snapshots" in parts else None


def model_cached(repo_id: str, revision: str | None = None) -> bool:
    return cached_file(repo_id, "config.json", revision) is not None


def dataset_cached(repo_id: str, revision: str | None = None) -> bool:
    """A Hub dataset is usable offline when its card is in the Hub cache or `datasets` has prepared it."""
    import datasets

    if cached_file(repo_id, "README.md", revision, repo_type="dataset"):
        return True
    prepared = Path(datasets.config.HF_DATASETS_CACHE) / repo_id.replace("/", "___")
    return prepared.is_dir() and any(prepared.iterdir())
