from bench_runner.cli import entry

entry()
