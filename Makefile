# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run demo app app-cpu test lint bench clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# setuptools prints an "Editable installation" notice for every editable install; it
	# tells a developer nothing here, so the install stays quiet.
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -c "import torch, torchvision, PySide6, pyqtgraph, pydicom, pylibjpeg"
	touch $(STAMP)

setup: $(STAMP)

# Open the viewer. The first time (no saved settings) it shows the bundled sample studies
# scored by the bundled demo model; later it starts as the user left it.
run: setup
	$(BIN)/python -m mura_desktop

# Headless: generate a small synthetic dataset and score it with the bundled model.
demo: setup
	$(BIN)/mura-train phantoms out/demo-data --studies 24 --seed 7 --force
	$(BIN)/mura-desktop predict out/demo-data/MURA-v1.1 --heatmaps out/demo-heatmaps --json out/demo-results.json

# The one-folder desktop app (PyInstaller, build.spec) in dist/mura-desktop/, smoke-tested.
app: setup
	$(BIN)/python scripts/build_app.py

# The small CPU app (no torch; OpenVINO scores) in dist/mura-desktop-cpu/, smoke-tested.
app-cpu: setup
	$(BIN)/python scripts/build_app.py --flavour cpu

test: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean-venv:
	rm -rf $(VENV)
