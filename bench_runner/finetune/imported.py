"""Models brought in (config `models:`), compared against the base beside the fine-tunes trained here: a peft
adapter on the base model, a full fine-tuned checkpoint, or a model behind an OpenAI-compatible server.

Each is located once (a local path is looked for in the config file's folder, then the working directory; anything
else is a Hub id, pinned by `revision` and resolved to its commit) and keyed in every stage cache by what its
answers depend on: an adapter or a local checkpoint by the content hash of its files, a Hub one by its commit, a
served model by its server and name (the API key is read from the environment when asked, never stored).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench_runner.config import ImportedModelConfig, ModelConfig, RunConfig, ServedModelConfig
from safedrift.core.errors import ConfigError

if TYPE_CHECKING:
    from bench_runner.paths import Location


@dataclass(frozen=True)
class Weights:
    """A model whose weights load here: the model to load and the peft adapter put on it (None: none)."""

    model: ModelConfig
    adapter: Path | None


def location(cfg: RunConfig, entry: ImportedModelConfig) -> Location:
    """Where an adapter or checkpoint entry points: a local folder, or a Hub id."""
    from bench_runner.paths import locate

    source = entry.adapter or entry.checkpoint
    assert source is not None  # served entries have no weights
    kind = "adapter" if entry.adapter else "checkpoint"
    config_dir = Path(cfg._config_path).parent if cfg._config_path else None
    return locate(f"models[{entry.label}].{kind}", source, config_dir)


def _hub_revision(entry: ImportedModelConfig, hub_id: str) -> str:
    from bench_runner.models import resolve_revision

    probe = "adapter_config.json" if entry.adapter else "config.json"
    return resolve_revision(hub_id, entry.revision, key=f"models[{entry.label}]", probe=probe)


def _local_folder(loc: Location) -> Path:
    if not loc.exists:
        raise ConfigError(loc.missing_sentence() + "; point it at a saved folder, or give a Hub id and revision.")
    return Path(loc.value)


def identity(cfg: RunConfig, entry: ImportedModelConfig) -> dict:
    """What the model's answers depend on besides the run's settings: the key of its stage folders."""
    from bench_runner.provenance import weights_sha256

    if entry.served:
        return {"served": {"base_url": entry.served.base_url.rstrip("/"), "name": entry.served.name}}
    loc = location(cfg, entry)
    kind = "adapter" if entry.adapter else "checkpoint"
    if loc.local:
        return {kind: f"sha256:{weights_sha256(_local_folder(loc))}"}
    return {kind: f"hub:{loc.given}@{_hub_revision(entry, loc.given)}"}


def weights(cfg: RunConfig, entry: ImportedModelConfig) -> Weights | None:
    """How to load the model here (a Hub adapter is downloaded once); None for a served model."""
    if entry.served:
        return None
    loc = location(cfg, entry)
    if entry.checkpoint:
        # The base model's settings (dtype, device, template, date) with the checkpoint's weights.
        source = {"local_dir": str(_local_folder(loc))} if loc.local else \
            {"hub_id": loc.given, "revision": _hub_revision(entry, loc.given)}
        spec = cfg.model.model_dump(exclude={"hub_id", "revision", "local_dir", "gguf_file", "builtin"})
        return Weights(ModelConfig.model_validate({**spec, **source}), None)
    if loc.local:
        folder = _local_folder(loc)
        if not (folder / "adapter_config.json").is_file():
            raise ConfigError(f"{loc.key}: {folder} has no adapter_config.json; point it at a peft adapter folder "
                              "(save_pretrained of a PeftModel), or list a full model as checkpoint:.")
        return Weights(cfg.model, folder)
    return Weights(cfg.model, _hub_snapshot(loc.given, _hub_revision(entry, loc.given)))


def _hub_snapshot(hub_id: str, sha: str) -> Path:
    """The folder of `hub_id` at commit `sha`: the cached snapshot (a commit never changes, so the Hub is not asked),
    else downloaded once."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    token = os.environ.get("HF_TOKEN") or None
    try:
        return Path(snapshot_download(hub_id, revision=sha, token=token, local_files_only=True))
    except LocalEntryNotFoundError:
        return Path(snapshot_download(hub_id, revision=sha, token=token))


def api_key(served: ServedModelConfig, label: str) -> str | None:
    """The served model's API key from the environment variable the config names; unset is one sentence."""
    if served.api_key_env is None:
        return None
    key = os.environ.get(served.api_key_env)
    if not key:
        raise ConfigError(f"models: {label!r} reads its API key from ${served.api_key_env}, which is not set; "
                          f"export {served.api_key_env}=<key> before the run, or remove api_key_env for a server "
                          "without a key.")
    return key
