# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run demo test lint bench clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -c "import torch, torchvision, PySide6, pyqtgraph, pydicom, pylibjpeg"
	touch $(STAMP)

setup: $(STAMP)

# Generate a small synthetic dataset and score it with the bundled model.
demo: setup
	$(BIN)/mura-train phantoms out/demo-data --studies 24 --seed 7 --force
	$(BIN)/mura-desktop predict out/demo-data/MURA-v1.1 --heatmaps out/demo-heatmaps --json out/demo-results.json

run: demo

test: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean-venv:
	rm -rf $(VENV)
