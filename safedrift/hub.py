"""The Hugging Face Hub environment, read when asked: huggingface_hub reads it once, at import."""

from __future__ import annotations

import os


def hub_offline() -> bool:
    """HF_HUB_OFFLINE as it is set now, or as huggingface_hub read it at import."""
    from huggingface_hub import constants

    return (os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
            or constants.is_offline_mode())
