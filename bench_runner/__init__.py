"""bench_runner stage."""
