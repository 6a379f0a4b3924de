"""Checks on a model's location that take seconds (preflight, and each plugin's own `check`): a local folder
with a config.json, a Hub model cached or answering, its rough size against this machine's memory."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bench_runner.paths import Location, cached_file
from bench_runner.plugin import Findings
from safedrift.core.errors import short_reason
from safedrift.core.hub import hub_offline

HUB_TIMEOUT_S = 10.0


def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_local_model(key: str, loc: Location, found: Findings) -> dict | None:
    """The model folder at `loc` (config key `key`) and its config.json, or a problem naming the key."""
    if not loc.exists:
        found.problems.append(loc.missing_sentence() + "; point it at a saved model's folder")
        return None
    folder = Path(loc.path or loc.given)
    if not (folder / "config.json").is_file():
        found.problems.append(f"{key} {folder} has no config.json; point it at a saved model's folder")
        return None
    found.checked.append(f"{key} {folder}")
    return read_json(folder / "config.json")


def check_hub_model(section: str, hub_id: str, revision: str | None, found: Findings,
                    probe: str = "config.json") -> bool:
    """A Hub model is usable: in the Hugging Face cache (its `probe` file: a model's config.json, an adapter's
    adapter_config.json), or (online) the Hub answers for it."""
    if cached_file(hub_id, probe, revision) is not None:
        found.checked.append(f"{section}.hub_id {hub_id}@{revision or 'main'} in the Hugging Face cache")
        return True
    if hub_offline():
        found.problems.append(f"{section}.hub_id {hub_id}@{revision or 'main'} is not in the Hugging Face cache and "
                              f"the Hub is offline (HF_HUB_OFFLINE); download it once online, or set "
                              f"{section}.local_dir to a downloaded copy")
        return False
    try:
        from huggingface_hub import HfApi

        HfApi().model_info(hub_id, revision=revision, timeout=HUB_TIMEOUT_S, token=os.environ.get("HF_TOKEN") or None)
    except Exception as exc:  # not found, gated without a token, or no network
        found.problems.append(f"{section}.hub_id {hub_id}@{revision or 'main'} is not cached and the Hub did not give "
                              f"it ({short_reason(exc, os.environ.get('HF_TOKEN'))}); set HF_TOKEN for a gated model, "
                              f"or {section}.local_dir to a downloaded copy")
        return False
    found.checked.append(f"{section}.hub_id {hub_id}@{revision or 'main'} on the Hub (downloaded on first use)")
    return True


def param_count(config: dict | None) -> float | None:
    """Roughly the parameters of a decoder-only transformer from its config.json."""
    if not config or not config.get("hidden_size") or not config.get("num_hidden_layers"):
        return None
    h, n = config["hidden_size"], config["num_hidden_layers"]
    inter = config.get("intermediate_size") or 4 * h
    vocab = config.get("vocab_size") or 32000
    return float(n * (4 * h * h + 3 * h * inter) + 2 * vocab * h)


def total_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())
