"""The runner's backends by name: generation backends and judges (imported only when used)."""

from __future__ import annotations

from safedrift.core.registry import LazyRegistry

BACKENDS = LazyRegistry("generation backend", {
    "transformers": "bench_runner.generate.backend:TransformersBackend",
    "vllm": "bench_runner.generate.vllm:VllmBackend",
})

JUDGES = LazyRegistry("judge", {
    "refusal": "bench_runner.judge.judges:RefusalJudge",
    "sorry-bench": "bench_runner.judge.judges:SorryBenchJudge",
})
