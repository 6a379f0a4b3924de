# safedrift — `make release` (main job) and `make test`; both create the venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
CONFIG ?= configs/release/sample.yaml
BENCH_CONFIG ?= configs/bench/sample.yaml
PYTEST_ARGS ?=

.PHONY: venv release test check bench clean

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

bench: venv
	$(BIN)/python -m bench_runner run $(BENCH_CONFIG)

clean:
	rm -rf build release runs
