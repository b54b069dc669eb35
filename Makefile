# fercli developer and user entry points. Every target sets up .venv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SHARED ?= ../shared
DEMO   ?= demo-out
# Offline model files (YuNet) when ../shared has them; otherwise they download on first use.
ifneq ($(wildcard $(SHARED)/models/*.onnx),)
export FERCLI_MODELS ?= $(abspath $(SHARED)/models)
endif

.PHONY: install test test-fast lint format docs bench demo clean

# The environment is rebuilt when the dependency files change; constraints.txt pins torch.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@# retina-face and grad-cam pull headless OpenCV wheels that overwrite cv2's GUI build;
	@# re-lay the GUI wheel so `fer live` can open its window (see fercli/core/opencv.py).
	$(BIN)/python -m fercli.core.opencv
	touch $@

install: $(VENV)/.installed  ## create .venv with fercli (editable) and the dev tools

test: install  ## the full suite, slow real-data tests included (what CI runs)
	$(BIN)/python -m pytest

test-fast: install  ## skip the slow end-to-end tests
	$(BIN)/python -m pytest -m "not slow"

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

demo: install  ## the toolkit end to end (offline); real FER-2013 too when ../shared has it
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	$(BIN)/python -m fercli.testing.synth $(DEMO)/generated --n 600
	$(BIN)/fer import $(DEMO)/generated -o $(DEMO)/generated.h5
	$(BIN)/fer info $(DEMO)/generated.h5
	@if [ -f $(SHARED)/data/fer2013/fer2013.csv.gz ]; then \
	  $(BIN)/fer import $(SHARED)/data/fer2013/fer2013.csv.gz \
	    --ferplus $(SHARED)/data/fer2013/fer2013new.csv -o $(DEMO)/fer2013.h5 && \
	  $(BIN)/fer info $(DEMO)/fer2013.h5; \
	else echo "(FER-2013 not found under $(SHARED)/data: skipped the real-data import)"; fi
	$(BIN)/fer doctor
	@if [ -d $(SHARED)/data/wild ]; then \
	  $(BIN)/fer detect $(SHARED)/data/wild | $(BIN)/fer align - -o $(DEMO)/wild_aligned.h5 && \
	  $(BIN)/fer info $(DEMO)/wild_aligned.h5; \
	else echo "(no photos under $(SHARED)/data/wild: skipped detect | align)"; fi
	@echo "demo outputs: $(DEMO)/"

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache build *.egg-info
