# fercli developer and user entry points. Every target sets up .venv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SHARED ?= ../shared
DEMO   ?= demo-out
INPUT  ?=
# Offline model files (YuNet) when ../shared has them; otherwise they download on first use.
ifneq ($(wildcard $(SHARED)/models/*.onnx),)
export FERCLI_MODELS ?= $(abspath $(SHARED)/models)
endif

.PHONY: install lock test test-latest test-fast typecheck lint format docs bench demo clean

# requirements.lock pins every package .venv holds (direct, transitive and dev tools), made by
# `make lock` with uv's resolver from pyproject.toml; installs use plain pip, which finds the
# wheels wherever pip is configured to look. The lock resolves for CPython 3.11 on x86_64 Linux.
LOCK := requirements.lock
PIP  := $(BIN)/pip install --quiet --disable-pip-version-check

$(VENV)/.installed: pyproject.toml $(LOCK)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PIP) -r $(LOCK)
	$(PIP) --no-deps -e .
	@# retina-face and grad-cam pull headless OpenCV wheels that overwrite cv2's GUI build;
	@# re-lay the GUI wheel so `fer live` can open its window (see fercli/core/opencv.py).
	$(BIN)/python -m fercli.core.opencv
	$(BIN)/python .ci/lockcheck.py $(LOCK)
	touch $@

install: $(VENV)/.installed  ## create .venv with fercli (editable) and the dev tools

# Re-resolve on purpose (a dependency added to pyproject.toml, a wanted upgrade), in a commit of
# its own, after `make test-latest` passes; constraints.txt caps what this machine can install.
lock: install  ## regenerate requirements.lock from pyproject.toml (newest versions allowed)
	$(BIN)/uv pip compile pyproject.toml --extra dev -c constraints.txt --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu --annotation-style line -o $(LOCK)

test: install typecheck  ## type check, then the full suite, slow real-data tests included (what CI runs)
	$(BIN)/python -m pytest

# The newest versions a fresh resolve gives today, in a throwaway .venv-latest (no lock): run it
# before `make lock`, and now and then to see what upstream releases will break.
LATEST := .venv-latest
test-latest:  ## fresh venv without the lock: type check and full suite on the newest releases
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	$(LATEST)/bin/python -m fercli.core.opencv
	$(LATEST)/bin/python .ci/versions.py
	$(LATEST)/bin/mypy
	$(LATEST)/bin/python -m pytest

typecheck: install  ## mypy over fercli/ (settings in pyproject.toml)
	$(BIN)/mypy

test-fast: install  ## every command, in under 3 minutes: no slow tests, no ResNet-18 fixture
	$(BIN)/python -m pytest -m "not slow and not resnet"

lint: install  ## ruff lint + format check
	$(BIN)/ruff check fercli tests benchmarks
	$(BIN)/ruff format --check fercli tests benchmarks

format: install
	$(BIN)/ruff format fercli tests benchmarks
	$(BIN)/ruff check --fix fercli tests benchmarks

docs: install  ## regenerate the CLI reference from the code
	$(BIN)/python -m typer fercli.cli.app utils docs --name fer > docs/cli.md

bench: install  ## throughput benchmarks, results in benchmarks/results/
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_detect_align.py
	$(BIN)/python benchmarks/bench_upscale.py
	$(BIN)/python benchmarks/train_throughput.py
	$(BIN)/python benchmarks/bench_eval_explain.py
	$(BIN)/python benchmarks/bench_live.py

demo: install  ## the toolkit end to end, offline (INPUT=photos/|clip.mp4|camera: the bundled model on yours)
	@rm -rf $(DEMO)
	FER=$(BIN)/fer PY=$(BIN)/python OUT=$(DEMO) SHARED=$(SHARED) INPUT="$(INPUT)" \
	  bash examples/demo.sh

clean:
	rm -rf $(VENV) $(LATEST) $(DEMO) .pytest_cache .ruff_cache build *.egg-info
