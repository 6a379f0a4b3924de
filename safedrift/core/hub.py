"""The Hugging Face Hub: its environment, read when asked (huggingface_hub reads it once, at import), a dataset
card's `data_files`, and the release layout (one writer's names, one reader)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def hub_offline() -> bool:
    """HF_HUB_OFFLINE as it is set now, or as huggingface_hub read it at import."""
    from huggingface_hub import constants

    return (os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
            or constants.is_offline_mode())


def data_files_by_split(spec: Any) -> dict[str, list[str]]:
    """`data_files` of a dataset card's `configs:` entry, in any form the Hub allows (a pattern, split -> pattern(s),
    or a list of patterns / {split, path} items) -> split -> patterns. An item without a path adds an empty list
    for its split; what that means (an error, a split not there) is the caller's to say."""
    if isinstance(spec, str):
        return {"train": [spec]}
    if isinstance(spec, dict):
        return {split: [p] if isinstance(p, str) else list(p) for split, p in spec.items()}
    out: dict[str, list[str]] = {}
    for item in spec or []:
        if isinstance(item, str):
            out.setdefault("train", []).append(item)
        elif isinstance(item, dict):
            paths = item.get("path") or []
            out.setdefault(item.get("split", "train"), []).extend([paths] if isinstance(paths, str) else paths)
    return out


# --- the release layout: a dataset folder as the Hub holds it ----------------------------------------------
# README.md (the card, whose `configs:` name each config's data files) and data/<config>/<split>-<i>-of-<n>.parquet,
# the Hub's own shard naming; the split of a file is the part of its name before the first "-" (the Hub allows
# no "-" in a split name). The publish stage writes this layout with shard_path and split_pattern; every reader
# (validation, cards, the benchmark's preflight) lists it with release_shards or folder_layout.

DATA_DIR = "data"


@dataclass(frozen=True)
class Shard:
    """One parquet file of a release folder and the split it belongs to."""

    split: str
    path: Path


def shard_path(config: str, split: str, index: int, count: int) -> str:
    """The path of shard `index` (0-based) of `count` of a config's split, inside its release folder."""
    return f"{DATA_DIR}/{config}/{split}-{index:05d}-of-{count:05d}.parquet"


def split_pattern(config: str, split: str) -> str:
    """The `data_files` glob the card gives for every shard of a config's split."""
    return f"{DATA_DIR}/{config}/{split}-*.parquet"


def release_shards(folder: str | os.PathLike) -> dict[str, list[Shard]]:
    """config -> its parquet shards in a release folder, in file-name order (split, then shard index); {} when
    the folder has no data/."""
    out: dict[str, list[Shard]] = {}
    for path in sorted((Path(folder) / DATA_DIR).glob("*/*.parquet")):
        out.setdefault(path.parent.name, []).append(Shard(path.name.split("-", 1)[0], path))
    return out


def card_metadata(readme: str | os.PathLike) -> dict:
    """The YAML front matter of a dataset card (README.md); {} when there is none or it is not a mapping."""
    import yaml

    try:
        text = Path(readme).read_text(encoding="utf-8")
    except OSError:
        return {}
    if not text.startswith("---"):
        return {}
    front, sep, _ = text[3:].partition("\n---")
    if not sep:
        return {}
    try:
        data = yaml.safe_load(front)
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def card_layout(meta: dict, folder: str | os.PathLike | None = None) -> dict[str, set[str]]:
    """config name -> splits, from a card's `configs:`; with the folder, a split counts only when its data files
    match a file there."""
    layout: dict[str, set[str]] = {}
    for config in meta.get("configs") or []:
        if not isinstance(config, dict) or "config_name" not in config:
            continue
        splits = data_files_by_split(config.get("data_files"))
        layout[str(config["config_name"])] = {
            s for s, patterns in splits.items()
            if folder is None or any(any(Path(folder).glob(p)) for p in patterns)}
    return layout


def folder_layout(folder: str | os.PathLike) -> dict[str, set[str]]:
    """config -> splits of a release folder: its card's `configs:`, else its data files' names."""
    layout = card_layout(card_metadata(Path(folder) / "README.md"), folder)
    if layout:
        return layout
    return {config: {s.split for s in shards} for config, shards in release_shards(folder).items()}
