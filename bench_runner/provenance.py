"""What a result was made from, for results.json: the dataset releases (card version, content hash of the data
files, Hub commit), the toolkit (version, git commit of a checkout) and the model weights (content hash of a
local copy, or the Hub commit).

File hashes are cached by (path, size, mtime), so a model's gigabytes are read once, not on every run.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from bench_runner.assets import REPO_ROOT, cache_dir
from safedrift.core.files import atomic_write_json, sha256_file, stable_hash
from safedrift.core.hub import card_metadata

HASH_CACHE = "file-hashes.json"
# The files that make a model: its weights, config and tokenizer (top level of the folder; hidden files skipped).
MODEL_FILE_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth", ".json", ".model", ".txt", ".jinja",
                       ".tiktoken")


def _cache_path() -> Path:
    return cache_dir() / HASH_CACHE


def cached_sha256(paths: list[Path]) -> dict[str, str]:
    """sha256 of each file, read from the cache when its size and mtime are unchanged."""
    store = _cache_path()
    try:
        cache = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    out, changed = {}, False
    for path in paths:
        st = path.stat()
        key = f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}"
        if key not in cache:
            cache[key] = sha256_file(path)
            changed = True
        out[str(path)] = cache[key]
    if changed:
        try:
            atomic_write_json(store, cache)
        except OSError:  # a read-only cache only costs the next run a re-read
            pass
    return out


def files_digest(root: Path, files: list[Path]) -> str:
    """One sha256 over the files' paths (relative to `root`) and contents."""
    hashes = cached_sha256(files)
    return stable_hash(sorted((f.relative_to(root).as_posix(), hashes[str(f)]) for f in files))


def model_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.suffix in MODEL_FILE_SUFFIXES)


def weights_sha256(path: str | os.PathLike) -> str:
    """Content hash of a local model: a GGUF (or other single) file, or a folder's weights, config and tokenizer."""
    path = Path(path)
    if path.is_file():
        return cached_sha256([path])[str(path)]
    return files_digest(path, model_files(path))


# ---- datasets ------------------------------------------------------------------------------------------------

def data_files(folder: Path) -> list[Path]:
    """The data files of a release folder (everything under data/)."""
    return sorted(p for p in (folder / "data").rglob("*") if p.is_file()) if (folder / "data").is_dir() else []


def dataset_provenance(key: str, location, revision: str | None = None) -> dict:
    """One dataset of a run: where it was read from, its release version (the card's `version`), a content hash
    of its data files and, from the Hub, the commit of the cached snapshot."""
    from bench_runner.paths import cached_commit, cached_file

    out: dict = {"key": key, "given": location.given, "local": location.local}
    if location.local:
        folder = Path(location.path)
        files = data_files(folder)
        out.update(path=str(folder), version=card_metadata(folder / "README.md").get("version"),
                   data_sha256=files_digest(folder, files) if files else None, n_files=len(files))
        return out
    repo = location.given
    readme = cached_file(repo, "README.md", revision, repo_type="dataset")
    commit = cached_commit(repo, "README.md", revision, repo_type="dataset")
    out.update(hub_id=repo, revision=revision or "main", hub_commit=commit,
               version=card_metadata(Path(readme)).get("version") if readme else None)
    if readme:
        snapshot = Path(readme).parent
        files = data_files(snapshot)
        out.update(data_sha256=files_digest(snapshot, files) if files else None, n_files=len(files))
    return out


# ---- the toolkit ---------------------------------------------------------------------------------------------

def toolkit_provenance() -> dict:
    """The safedrift version and, run from a git checkout, its commit and whether the tree had changes."""
    from importlib import metadata

    try:
        version = metadata.version("safedrift")
    except metadata.PackageNotFoundError:
        version = None
    out: dict = {"version": version, "git_commit": None, "git_dirty": None}
    if not (REPO_ROOT / ".git").exists():
        return out
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=10)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return out
    if commit.returncode == 0:
        out["git_commit"] = commit.stdout.strip()
        out["git_dirty"] = bool(status.stdout.strip()) if status.returncode == 0 else None
    return out


# ---- model weights -------------------------------------------------------------------------------------------

def model_provenance(cfg) -> dict:
    """The weights a run used: a local copy's content hash, or the Hub commit of the cached snapshot."""
    from bench_runner.paths import cached_commit

    if cfg.hub_id:
        return {"hub_id": cfg.hub_id, "revision": cfg.revision,
                "hub_commit": cached_commit(cfg.hub_id, "config.json", cfg.revision)}
    if cfg.builtin:
        from bench_runner.assets import SMOLLM2_WHEEL

        gguf = cache_dir() / "smollm2"
        files = sorted(gguf.rglob("*.gguf")) if gguf.is_dir() else []
        return {"builtin": cfg.builtin, "package": SMOLLM2_WHEEL,
                "weights_sha256": cached_sha256(files)[str(files[0])] if files else None}
    path = cfg.local_dir or cfg.gguf_file
    return {"path": os.path.abspath(path), "weights_sha256": weights_sha256(path) if Path(path).exists() else None}


def run_provenance(cfg) -> dict:
    """results.json's provenance of a run: {"datasets": key -> dataset_provenance, "toolkit", "weights",
    "judge_weights", "config_file"}."""
    from bench_runner.config import BASE, config_locations
    from bench_runner.data import KINDS

    locations = config_locations(cfg)
    used = {f"datasets.{k.location_key}": k.used(cfg.datasets) for k in KINDS.values()}
    used["datasets.benign"] = used["datasets.benign"] or any(x != BASE for x in cfg.finetune_languages)
    datasets = {key.partition(".")[2]: dataset_provenance(key, locations[key], cfg.datasets.revision)
                for key, wanted in used.items() if wanted and key in locations}
    judge = model_provenance(cfg.judge.model) if cfg.judge.model is not None else None
    return {"datasets": datasets, "toolkit": toolkit_provenance(), "weights": model_provenance(cfg.model),
            "judge_weights": judge, "config_file": cfg._config_path}
