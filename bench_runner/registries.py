"""The runner's backends by name: generation backends, judges and where a judge runs (imported only when used)."""

from __future__ import annotations

from safedrift.core.registry import LazyRegistry

BACKENDS = LazyRegistry("generation backend", {
    "transformers": "bench_runner.generate.transformers:TransformersBackend",
    "vllm": "bench_runner.generate.vllm:VllmBackend",
})

JUDGES = LazyRegistry("judge", {
    "qwen3guard": "bench_runner.judge.guard:Qwen3GuardJudge",
    "refusal": "bench_runner.judge.refusal:RefusalJudge",
    "sorry-bench": "bench_runner.judge.sorry_bench:SorryBenchJudge",
    "xstest": "bench_runner.judge.xstest_classifier:XstestClassifierJudge",
})

# Where a model judge's literal prompts are completed (judge.backend; judge.base_url means a server).
COMPLETERS = LazyRegistry("judge backend", {
    "transformers": "bench_runner.serving.completion:LocalCompleter",
    "vllm": "bench_runner.serving.vllm:VllmCompleter",
})
