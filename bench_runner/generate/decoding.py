"""Sampled decoding: several answers per prompt (generation.samples_per_prompt), and the decoding the model's
authors recommend, recorded beside the decoding the run used.

A prompt's samples are Prompts of their own: sample 0 keeps the prompt's uid (one sample per prompt is the run it
always was), sample j > 0 gets `<uid>|sample=<j>`, so the generate and judge stages, which key every row by uid,
answer and judge each sample once and resume per sample. `sample_index` reads the index back from a uid.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from bench_runner.config import GenerationConfig, ModelConfig
from bench_runner.data import Prompt

SAMPLE_SEPARATOR = "|sample="
_SAMPLE = re.compile(re.escape(SAMPLE_SEPARATOR) + r"(\d+)$")

# The model card's recommended sampling per model family: (substring of the model's hub id or folder, lower case)
# -> settings and where they are stated. The first match wins. Greedy stays the run's default; these are recorded
# so a reader sees how far the run's decoding is from what the authors recommend.
RECOMMENDED: tuple[tuple[str, dict], ...] = (
    ("qwen3", {"temperature": 0.7, "top_p": 0.8, "top_k": 20,
               "source": "Qwen3 model card, Best Practices, non-thinking mode (thinking: temperature 0.6, top_p 0.95, "
                         "top_k 20); it advises against greedy decoding (endless repetitions)"}),
    ("qwen2.5", {"temperature": 0.7, "top_p": 0.8, "top_k": 20, "repetition_penalty": 1.05,
                 "source": "Qwen2.5-*-Instruct generation_config.json"}),
    ("llama-3", {"temperature": 0.6, "top_p": 0.9,
                 "source": "Llama-3.1/3.2-*-Instruct generation_config.json"}),
    ("gemma-3", {"temperature": 1.0, "top_p": 0.95, "top_k": 64,
                 "source": "gemma-3-*-it generation_config.json (top_k 64, top_p 0.95; temperature 1.0)"}),
    ("smollm2", {"temperature": 0.2, "top_p": 0.9,
                 "source": "SmolLM2-*-Instruct model card, its transformers example"}),
)


def recommended_decoding(model: ModelConfig) -> dict | None:
    """The model card's recommended sampling for the model's family (RECOMMENDED), None for an unknown family."""
    name = " ".join(str(x) for x in (model.hub_id, model.local_dir, model.builtin) if x).lower()
    return next((dict(settings) for key, settings in RECOMMENDED if key in name), None)


def decoding_record(cfg: GenerationConfig, model: ModelConfig) -> dict:
    """What the generate manifest (and results.json `generation`) records about decoding."""
    return {"temperature": cfg.temperature, "top_p": cfg.top_p, "samples_per_prompt": cfg.samples_per_prompt,
            "seed": cfg.seed, "greedy": cfg.temperature == 0, "recommended": recommended_decoding(model)}


def expand_samples(prompts: Sequence[Prompt], samples_per_prompt: int) -> list[Prompt]:
    """Every prompt `samples_per_prompt` times, sample j of a prompt next to its other samples."""
    return [p if j == 0 else dataclasses.replace(p, uid=f"{p.uid}{SAMPLE_SEPARATOR}{j}")
            for p in prompts for j in range(samples_per_prompt)]


def sample_index(uid: str) -> int:
    """Which sample of its prompt a uid is (0 for the prompt's own uid)."""
    found = _SAMPLE.search(uid)
    return int(found.group(1)) if found else 0
