"""safedrift's own tiny lm-eval tasks (safedrift_mc_<lang>): task YAMLs and their items (items.py), found by lm-eval
through bench_runner.capability.measure.BUILTIN_TASKS."""
