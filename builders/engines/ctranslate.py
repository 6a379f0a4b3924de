"""What the CTranslate2 engines (argos, nllb) share: the thread layout of a Translator on this machine."""

from __future__ import annotations

import os

# Tokens per batch CTranslate2 builds (batch_type="tokens") when an engine's options do not say: with a whole
# chunk of segments in one translate_batch call this makes several batches, one per inter-thread worker.
# benchmarks/translate_throughput.py (base-size Marian, int8, 2 cores): 2048 beat 1024 and 4096.
DEFAULT_BATCH_TOKENS = 2048


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def thread_layout(device: str, inter_threads: int | None, intra_threads: int | None) -> tuple[int, int]:
    """(inter_threads, intra_threads) for a ctranslate2.Translator; explicit values are kept.

    On the CPU, whole-corpus translation is throughput work: several batches in parallel (inter) with few
    threads each beats one batch spread over every core, whose small matrix products leave threads idle.
    Up to 4 cores: one thread per batch; above, 4 threads per batch. On a GPU: one batch at a time
    (intra_threads 0 = CTranslate2's default)."""
    if device != "cpu":
        return inter_threads or 1, intra_threads if intra_threads is not None else 0
    cores = available_cores()
    intra = intra_threads or (1 if cores <= 4 else 4)
    inter = inter_threads or max(1, cores // intra)
    return inter, intra
