"""Load a causal LM and its tokenizer from a Hub id, a local directory or a GGUF file (dequantized once)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_runner.config import ModelConfig
from safedrift.errors import ConfigError, SafedriftError
from safedrift.files import sha256_file

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


def model_fingerprint(cfg: ModelConfig) -> str:
    """A stable identity of the weights, used in stage cache keys: the Hub id and revision, or the content hash
    of a local copy (bench_runner.provenance caches it by path, size and mtime, so it is read once)."""
    if cfg.hub_id:
        return f"hub:{cfg.hub_id}@{cfg.revision}"
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
        from safedrift.errors import missing_extra

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
