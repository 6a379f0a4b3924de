"""Load a causal LM and its tokenizer from a Hub id, a local directory or a GGUF file (dequantized once)."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_runner.config import ModelConfig
from safedrift.core.errors import ConfigError, SafedriftError, short_reason
from safedrift.core.files import sha256_file

CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] "
    "+ '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    source: str  # where the weights came from, for manifests
    fingerprint: str  # identifies the weights (revision, file hash or directory)


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("model.device is cuda but no CUDA device is available; set device: auto or cpu.")
    return name


def torch_dtype(name: str, device: str):
    import torch

    if name == "auto":
        # bf16 on GPU; fp32 on CPU, where half precision is slow and lossy.
        return torch.bfloat16 if device == "cuda" else torch.float32
    return getattr(torch, name)


_COMMIT_SHA = re.compile(r"[0-9a-fA-F]{40}")
_RESOLVED_REVISIONS: dict[tuple[str, str], str] = {}


def resolve_revision(hub_id: str, revision: str | None, key: str = "model", probe: str = "config.json") -> str:
    """The commit sha of `hub_id` at `revision`: a sha is kept; a branch or tag is read from the local Hub cache's
    refs (the snapshot holding `probe`: a model's config.json, an adapter's adapter_config.json), else resolved on
    the Hub (the sha is what keys caches and gets recorded); offline and not cached, a name is an error that asks
    for the sha. `key` is the config section named in the errors."""
    fix = (f"set {key}.revision to the commit sha of {hub_id} (40 hex characters, listed under the model's "
           f"'Files and versions' history on the Hub), or point {key}.local_dir at a downloaded copy")
    if not revision:
        raise ConfigError(f"{key}.revision must pin {hub_id}, so results are reproducible: {fix}.")
    if _COMMIT_SHA.fullmatch(revision):
        return revision.lower()
    cache_key = (hub_id, revision)
    if cache_key in _RESOLVED_REVISIONS:
        return _RESOLVED_REVISIONS[cache_key]
    from bench_runner.paths import cached_commit
    from safedrift.core.hub import hub_offline
    from safedrift.core.log import log

    sha = cached_commit(hub_id, probe, revision)
    if sha is None:
        if hub_offline():
            raise ConfigError(f"{key}.revision {revision!r} is a branch or tag, which cannot be resolved to a commit "
                              f"while the Hub is offline (HF_HUB_OFFLINE) and {hub_id} is not cached; {fix}.")
        try:
            from huggingface_hub import HfApi

            sha = HfApi().model_info(hub_id, revision=revision, token=os.environ.get("HF_TOKEN") or None).sha
        except Exception as exc:  # unreachable Hub, unknown repository or revision, gated without a token
            raise ConfigError(f"{key}.revision {revision!r} could not be resolved to a commit of {hub_id} "
                              f"({short_reason(exc, os.environ.get('HF_TOKEN'))}); {fix}.") from None
    if not sha or not _COMMIT_SHA.fullmatch(sha):
        raise ConfigError(f"the Hub gave no commit for {hub_id}@{revision}; {fix}.")
    log(f"{key}: {hub_id}@{revision} is commit {sha}")
    _RESOLVED_REVISIONS[cache_key] = sha
    return sha


def model_spec(cfg: ModelConfig) -> dict:
    """The model settings that key a stage's cache (not the device; a revision only for a Hub id, where the
    fingerprint holds its commit)."""
    return cfg.model_dump(exclude={"device", "revision"})


def model_fingerprint(cfg: ModelConfig, key: str = "model") -> str:
    """A stable identity of the weights, used in stage cache keys: the Hub id at its commit (a branch or tag
    resolved), or the content hash of a local copy (bench_runner.provenance caches it by path, size and mtime,
    so it is read once)."""
    if cfg.hub_id:
        return f"hub:{cfg.hub_id}@{resolve_revision(cfg.hub_id, cfg.revision, key)}"
    if cfg.builtin:
        return f"builtin:{cfg.builtin}"
    from bench_runner.provenance import weights_sha256

    path = Path(cfg.local_dir or cfg.gguf_file or "")
    if not path.exists():
        return f"missing:{os.path.abspath(path)}"
    return f"sha256:{weights_sha256(path)}"


def _hub_error(hub_id: str, exc: Exception, key: str = "model") -> SafedriftError:
    return SafedriftError(
        f"could not load model {hub_id!r} from the Hugging Face Hub ({type(exc).__name__}); if it is gated "
        "set HF_TOKEN to a token with access, unset HF_HUB_OFFLINE (offline mode) if it is set, "
        f"or point {key}.local_dir at a downloaded copy."
    )


def dequantized_dir(gguf_path: Path) -> Path:
    """Folder holding the plain safetensors copy of a GGUF file (one per file content)."""
    from bench_runner.assets import cache_dir

    return cache_dir() / "dequantized" / f"{gguf_path.stem}-{sha256_file(gguf_path)[:12]}"


def dequantize_gguf(gguf_path: str | os.PathLike) -> Path:
    """Dequantize a GGUF file once into a safetensors folder; later loads take seconds, not half a minute."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path = Path(gguf_path)
    if not gguf_path.is_file():
        raise ConfigError(f"model.gguf_file {gguf_path} does not exist; point it at a .gguf file (relative paths "
                          "are read from the config file's folder, then the working directory).")
    out = dequantized_dir(gguf_path)
    if (out / "config.json").is_file() and (out / "tokenizer_config.json").is_file():
        return out
    try:
        tok = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    except ImportError as exc:
        from safedrift.core.errors import missing_extra

        raise missing_extra("gguf", "bench") from exc
    if not tok.chat_template:
        # SmolLM2 and most small GGUF chat models are ChatML; a missing template would break fine-tuning.
        tok.chat_template = CHATML_TEMPLATE
    # The quantizer marker blocks save_pretrained; the weights are already plain tensors.
    model.hf_quantizer = None  # type: ignore[assignment]
    # Written to a side folder and renamed, so an interrupted dequantization is never mistaken for a cache.
    tmp = out.with_name(out.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out


def weights_location(cfg: ModelConfig, key: str = "model") -> tuple[str, dict]:
    """(path or hub id, extra from_pretrained kwargs) for a model config; `key` names its config section in
    errors (model, or judge for a judge model)."""
    if cfg.builtin == "smollm2-135m-instruct":
        from bench_runner.assets import ensure_smollm2

        return str(dequantize_gguf(ensure_smollm2())), {}
    if cfg.gguf_file:
        return str(dequantize_gguf(cfg.gguf_file)), {}
    if cfg.local_dir:
        if not Path(cfg.local_dir).is_dir():
            raise ConfigError(f"{key}.local_dir {cfg.local_dir} does not exist; point it at a saved model's folder "
                              "(relative paths are read from the config file's folder, then the working directory).")
        if not Path(cfg.local_dir, "config.json").is_file():
            raise ConfigError(f"{key}.local_dir {cfg.local_dir} has no config.json; point it at a saved model.")
        return cfg.local_dir, {}
    assert cfg.hub_id is not None  # ModelConfig checks that exactly one source is set
    return cfg.hub_id, {"revision": cfg.revision, "token": os.environ.get("HF_TOKEN") or None}


def load_tokenizer(cfg: ModelConfig, key: str = "model"):
    from transformers import AutoTokenizer

    where, kwargs = weights_location(cfg, key)
    try:
        tok = AutoTokenizer.from_pretrained(where, **kwargs)
    except OSError as exc:
        raise _hub_error(where, exc, key) from None
    if cfg.chat_template:
        template = cfg.chat_template
        if template.endswith(".jinja") and Path(template).is_file():
            template = Path(template).read_text(encoding="utf-8")
        tok.chat_template = template
    if not tok.chat_template:
        raise ConfigError(f"model {cfg.label} has no chat template; set model.chat_template in the config.")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(cfg: ModelConfig, adapter_dir: str | os.PathLike | None = None, key: str = "model") -> LoadedModel:
    from transformers import AutoModelForCausalLM

    device = resolve_device(cfg.device)
    where, kwargs = weights_location(cfg, key)
    tok = load_tokenizer(cfg, key)
    model: Any
    try:
        model = AutoModelForCausalLM.from_pretrained(where, dtype=torch_dtype(cfg.dtype, device), **kwargs)
    except OSError as exc:
        raise _hub_error(where, exc, key) from None
    if adapter_dir is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter_dir))
    model.to(device)
    model.eval()
    return LoadedModel(model, tok, source=str(where), fingerprint=model_fingerprint(cfg))
