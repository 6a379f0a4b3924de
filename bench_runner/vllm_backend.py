"""vLLM generation backend (registered lazily; implemented in a later issue)."""

from __future__ import annotations

from safedrift.errors import SafedriftError, missing_extra


class VllmBackend:
    def __init__(self, model, adapter_dir=None, batch_size: int = 16):
        try:
            import vllm  # noqa: F401
        except ImportError as exc:
            raise missing_extra("vllm", "vllm") from exc
        raise SafedriftError("the vllm backend is not implemented yet; use generation.backend: transformers.")
