"""The Hugging Face Hub environment, read when asked: huggingface_hub reads it once, at import."""

from __future__ import annotations

import os
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
