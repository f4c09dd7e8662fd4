"""The train window's "Run" form: dataset and run folders, and the ``mura-train fit`` recipe.

``TrainForm`` holds the fields, proposes a new dated run folder, checks what was entered
(never a run folder inside the data or one that already has files) and turns the fields
into the arguments of ``mura-train fit``; starting and watching the run is the window's.
"""

from __future__ import annotations

import os
import shlex
from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from mura_desktop.core.output_guard import is_inside
from mura_desktop.inference.architectures import ARCHITECTURES

DEVICES = ("auto", "cpu", "cuda")
INITS = (("imagenet", "ImageNet weights (downloaded once)"), ("random", "Random"))


class TrainForm(QGroupBox):
    """The fields of a run; new run folders are proposed under ``runs_dir``."""

    def __init__(self, runs_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__("Run", parent)
        self._runs_dir = runs_dir
        self._dataset = QLineEdit()
        self._dataset.setPlaceholderText("MURA-v1.1 folder or any labelled study tree")
        browse_data = QPushButton("Browse…")
        browse_data.clicked.connect(self._choose_dataset)
        self._run_dir_edit = QLineEdit()
        self._proposed_run_dir = ""
        self._run_dir_edit.setToolTip("A new folder for this run's checkpoints, log and model")
        browse_run = QPushButton("Browse…")
        browse_run.clicked.connect(self._choose_run_dir)

        self._arch = QComboBox()
        self._arch.addItems(ARCHITECTURES)
        self._arch.setCurrentText("densenet169")
        self._arch.setToolTip("DenseNet-169 is the MURA paper's network")
        self.propose_run_dir()
        self._arch.currentTextChanged.connect(self._on_architecture_changed)
        self._init = QComboBox()
        for key, text in INITS:
            self._init.addItem(text, key)
        self._init.setToolTip(
            "ImageNet initialisation is the paper's recipe; it downloads torchvision's weights "
            "the first time (needs the network)."
        )
        self._size = _spin(64, 1024, 320, 32, " px")
        self._epochs = _spin(1, 1000, 20, 1, "")
        self._batch = _spin(1, 512, 8, 1, "")
        self._device = QComboBox()
        self._device.addItems(DEVICES)
        self._device.setToolTip("auto: the trainer uses a CUDA GPU when it finds one, else the CPU")
        self._extra = QLineEdit()
        self._extra.setPlaceholderText("e.g. --parts wrist,hand --lr 3e-4 --demo")
        self._extra.setToolTip("More mura-train fit flags (see mura-train fit --help)")

        form = QFormLayout()
        form.addRow("Dataset folder:", _row(self._dataset, browse_data))
        form.addRow("Run folder:", _row(self._run_dir_edit, browse_run))
        recipe = QHBoxLayout()
        for label, widget in (
            ("Network", self._arch),
            ("Start from", self._init),
            ("Image size", self._size),
            ("Epochs", self._epochs),
            ("Batch", self._batch),
            ("Device", self._device),
        ):
            recipe.addWidget(QLabel(label + ":"))
            recipe.addWidget(widget)
        recipe.addStretch(1)
        form.addRow(recipe)
        form.addRow("Other flags:", self._extra)
        self.setLayout(form)

    def dataset_text(self) -> str:
        return self._dataset.text().strip()

    def run_dir_text(self) -> str:
        return self._run_dir_edit.text().strip()

    def planned_epochs(self) -> int:
        return self._epochs.value()

    def set_dataset(self, path: str | os.PathLike[str]) -> None:
        self._dataset.setText(str(path))

    def set_run_dir(self, path: str | os.PathLike[str]) -> None:
        self._run_dir_edit.setText(str(path))

    def set_recipe(
        self,
        *,
        architecture: str | None = None,
        size: int | None = None,
        epochs: int | None = None,
        batch: int | None = None,
        device: str | None = None,
        init: str | None = None,
        extra: str | None = None,
    ) -> None:
        """Set any of the form's fields (unknown architecture/device/init raise ValueError)."""
        for value, combo, choices in (
            (architecture, self._arch, ARCHITECTURES),
            (device, self._device, DEVICES),
        ):
            if value is not None:
                if value not in choices:
                    raise ValueError(f"{value!r} is not one of {choices}")
                combo.setCurrentText(value)
        if init is not None:
            index = self._init.findData(init)
            if index < 0:
                raise ValueError(f"init {init!r} is not one of {[k for k, _ in INITS]}")
            self._init.setCurrentIndex(index)
        for value, spin in ((size, self._size), (epochs, self._epochs), (batch, self._batch)):
            if value is not None:
                spin.setValue(value)
        if extra is not None:
            self._extra.setText(extra)

    def fit_arguments(self) -> list[str]:
        """The arguments of ``mura-train fit`` from the fields' current values."""
        return [
            self.dataset_text(),
            "--out",
            self.run_dir_text(),
            "--arch",
            self._arch.currentText(),
            "--init",
            str(self._init.currentData()),
            "--size",
            str(self._size.value()),
            "--epochs",
            str(self._epochs.value()),
            "--batch-size",
            str(self._batch.value()),
            "--device",
            self._device.currentText(),
            *shlex.split(self._extra.text()),
        ]

    def problem(self) -> str:
        """Why the fields cannot start a run, or "" when they can."""
        dataset_text = self.dataset_text()
        run_text = self.run_dir_text()
        if not dataset_text:
            return "Choose the dataset folder to train on."
        dataset = Path(dataset_text).expanduser()
        if not dataset.is_dir():
            return f"The dataset folder {dataset} does not exist."
        if not run_text:
            return "Choose a run folder for the checkpoints and the model."
        run_dir = Path(run_text).expanduser()
        if is_inside(run_dir, dataset):
            return (
                f"The run folder {run_dir} is inside the dataset; choose a folder outside it "
                "(MURA Desktop never writes into data folders)."
            )
        if run_dir.exists() and any(run_dir.iterdir()):
            return (
                f"The run folder {run_dir} already has files; choose a new folder (to continue "
                "a run, use mura-train fit --resume RUN_FOLDER)."
            )
        try:
            shlex.split(self._extra.text())
        except ValueError as exc:
            return f"Other flags: {exc}"
        return ""

    def propose_run_dir(self) -> None:
        """Fill in a new, dated run folder under ``runs_dir`` named after the network."""
        stem = f"{datetime.now():%Y%m%d-%H%M%S}-{self._arch.currentText()}"
        candidate, n = self._runs_dir / stem, 1
        while candidate.exists():
            n += 1
            candidate = self._runs_dir / f"{stem}-{n}"
        self._proposed_run_dir = str(candidate)
        self._run_dir_edit.setText(self._proposed_run_dir)

    def _on_architecture_changed(self) -> None:
        if self._run_dir_edit.text().strip() == self._proposed_run_dir:
            self.propose_run_dir()

    def _choose_dataset(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self._dataset.text())
        if folder:
            self._dataset.setText(folder)

    def _choose_run_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Run folder (new or empty)", str(self._runs_dir)
        )
        if folder:
            self._run_dir_edit.setText(folder)


def _spin(low: int, high: int, value: int, step: int, suffix: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setSuffix(suffix)
    return spin


def _row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    for i, widget in enumerate(widgets):
        row.addWidget(widget, 1 if i == 0 else 0)
    return row
