# Every set-up path installs the CPU build of torch first: a looser torch pulls several GB of CUDA wheels.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DB ?= sqlite:///button.db
N ?= 600
SEED ?= 7

.PHONY: setup demo test lint bench clean

$(BIN)/button: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	@touch $(BIN)/button

setup: $(BIN)/button

## The main job on the offline default: generate, verify, store, export. No API key, GPU or network.
demo: setup
	$(BIN)/button generate --n $(N) --seed $(SEED) --db $(DB)
	$(BIN)/button export --format button --db $(DB) --out out/button_instruct.jsonl

test: setup
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/generate.py

clean:
	rm -rf out button.db button.db-wal button.db-shm .pytest_cache .mypy_cache .ruff_cache
