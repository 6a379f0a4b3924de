"""The runner's backends by name: generation backends and judges (imported only when used)."""

from __future__ import annotations

from safedrift.registry import LazyRegistry

BACKENDS = LazyRegistry("generation backend", {
    "transformers": "bench_runner.generation:TransformersBackend",
    "vllm": "bench_runner.vllm_backend:VllmBackend",
})

JUDGES = LazyRegistry("judge", {
    "refusal": "bench_runner.judges:RefusalJudge",
    "sorry-bench": "bench_runner.judges:SorryBenchJudge",
})
