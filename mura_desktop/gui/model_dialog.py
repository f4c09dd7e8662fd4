"""The model dialog: what the current bundle is, which device and threshold to use,
and loading a bundle or importing a plain checkpoint.

``mura_desktop.inference`` (and so torch) is imported only inside functions: the viewer shows
its window before torch is loaded. The "Model" box is ``model_provenance``; loading,
importing and saving run in a ``model_task``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mura_desktop.core import locations
from mura_desktop.core.resources import MODEL_SUFFIX
from mura_desktop.gui.model_provenance import ProvenanceView
from mura_desktop.gui.model_task import ModelTask
from mura_desktop.inference.device import torch_installed

if TYPE_CHECKING:
    from mura_desktop.inference.bundle import ModelBundle

DEVICES = (("auto", "Automatic (CUDA if available)"), ("cpu", "CPU"), ("cuda", "CUDA GPU"))
RUNTIMES = (
    ("auto", "Automatic (the fastest that agrees)"),
    ("torch", "PyTorch"),
    ("openvino", "OpenVINO (CPU)"),
)
CHECKPOINT_FILTER = "PyTorch checkpoints (*.pth *.pt *.tar *.ckpt *.bin);;All files (*)"
BUNDLE_FILTER = f"MURA Desktop models (*{MODEL_SUFFIX});;All files (*)"


def cuda_is_available() -> bool:
    from mura_desktop.inference.device import resolve_device

    return resolve_device("auto")[0] != "cpu"


class ModelDialog(QDialog):
    """Model provenance, device and threshold; load a bundle or import a checkpoint.

    Parameters
    ----------
    bundle
        The bundle in use, or None. With None and a ``model_path``, the file is loaded in the
        background.
    model_path, device, threshold
        The current settings; ``threshold`` None means the bundle's default operating point.
    cuda_available
        Whether CUDA can be chosen; None asks torch (imported then).
    models_dir
        Folder first offered when saving an imported checkpoint as a bundle.

    Signals
    -------
    settingsChosen(model_path: str, device: str, threshold: float)
        On OK. ``model_path`` is ``""`` when no model is chosen; ``device`` is
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    bundleChanged(model_path: str)
        After a bundle was loaded or a checkpoint imported and saved.
    errorShown(message: str)
        When loading, importing or saving failed (the message is also shown in the dialog).
    """

    settingsChosen = Signal(str, str, float)
    bundleChanged = Signal(str)
    errorShown = Signal(str)

    def __init__(
        self,
        bundle: ModelBundle | None = None,
        model_path: str | os.PathLike[str] = "",
        device: str = "auto",
        threshold: float | None = None,
        *,
        cuda_available: bool | None = None,
        models_dir: str | os.PathLike[str] | None = None,
        runtime: str = "auto",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model")
        self.setMinimumWidth(560)
        self._bundle = bundle
        self._path = str(model_path) if model_path else ""
        self._models_dir = Path(models_dir) if models_dir else locations.models_dir()
        self._task: ModelTask | None = None
        self._closed = False
        if cuda_available is None:
            cuda_available = cuda_is_available()

        self._model_box = ProvenanceView()

        self._device = QComboBox()
        for key, text in DEVICES:
            self._device.addItem(text, key)
        if not cuda_available:
            cuda_row = self._device.findData("cuda")
            self._device.model().item(cuda_row).setEnabled(False)
            self._device.setItemData(
                cuda_row,
                "No CUDA GPU is usable here (no NVIDIA GPU/driver, or a CPU-only torch build).",
                Qt.ItemDataRole.ToolTipRole,
            )
        self._cuda_available = cuda_available
        self.set_device(device)

        self._runtime = QComboBox()
        for key, text in RUNTIMES:
            self._runtime.addItem(text, key)
        if not torch_installed():
            torch_row = self._runtime.findData("torch")
            self._runtime.model().item(torch_row).setEnabled(False)
            self._runtime.setItemData(
                torch_row, "This CPU app has no PyTorch: it runs on OpenVINO",
                Qt.ItemDataRole.ToolTipRole,
            )  # fmt: skip
            runtime = "auto" if runtime == "torch" else runtime
        self._runtime.setCurrentIndex(max(self._runtime.findData(runtime), 0))
        self._runtime.setToolTip(
            "Automatic measures the runtimes once per model and machine and takes the fastest "
            "whose scores and heatmaps agree with PyTorch float32."
        )

        self._threshold = QDoubleSpinBox()
        self._threshold.setRange(0.0, 1.0)
        self._threshold.setDecimals(3)
        self._threshold.setSingleStep(0.01)
        self._threshold.setToolTip(
            "A study is called abnormal when its probability is at least this value."
        )
        threshold_row = QHBoxLayout()
        threshold_row.addWidget(self._threshold)
        threshold_row.addStretch(1)
        self._points = QHBoxLayout()
        self._points_label = QLabel("Operating points:")

        settings_box = QGroupBox("Run it with")
        settings_form = QFormLayout(settings_box)
        settings_form.addRow("Device:", self._device)
        settings_form.addRow("Runtime:", self._runtime)
        settings_form.addRow("Threshold:", threshold_row)
        settings_form.addRow(self._points_label, self._points)

        self._status = QLabel()
        self._status.setWordWrap(True)
        self._status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._progress = QProgressBar()
        self._progress.setRange(0, 0)
        self._progress.setMaximumHeight(10)
        self._progress.setTextVisible(False)
        self._progress.hide()

        self._load_button = QPushButton("Load bundle…")
        self._load_button.clicked.connect(self._choose_bundle)
        self._import_button = QPushButton("Import checkpoint…")
        self._import_button.clicked.connect(self._choose_checkpoint)
        self._can_import = torch_installed()  # a bundle is written with torch.save
        if not self._can_import:
            self._import_button.setEnabled(False)
            self._import_button.setToolTip(
                "Importing writes a model bundle, which needs PyTorch: use the full install"
            )
        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self._buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Use these settings")
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self._load_button)
        bottom.addWidget(self._import_button)
        bottom.addStretch(1)
        bottom.addWidget(self._buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(self._model_box)
        layout.addWidget(settings_box)
        layout.addWidget(self._status)
        layout.addWidget(self._progress)
        layout.addLayout(bottom)

        self._show_bundle(threshold)
        if bundle is None and self._path:
            self.load_bundle_file(self._path)

    # public API ---------------------------------------------------------------------------

    def bundle(self) -> ModelBundle | None:
        return self._bundle

    def model_path(self) -> str:
        return self._path

    def device(self) -> str:
        return str(self._device.currentData())

    def set_device(self, device: str) -> None:
        """Select ``"auto"``, ``"cpu"`` or ``"cuda"`` (``cuda:N`` counts as CUDA).

        CUDA when it is unavailable selects automatic instead.
        """
        key = "cuda" if device.startswith("cuda") else device
        if key == "cuda" and not self._cuda_available:
            key = "auto"
        row = self._device.findData(key)
        self._device.setCurrentIndex(max(row, 0))

    def runtime(self) -> str:
        return str(self._runtime.currentData())

    def threshold(self) -> float:
        return float(self._threshold.value())

    def set_threshold(self, value: float) -> None:
        self._threshold.setValue(value)

    def is_busy(self) -> bool:
        return self._task is not None

    def status_text(self) -> str:
        return self._status.text()

    def load_bundle_file(self, path: str | os.PathLike[str]) -> None:
        """Load the bundle at ``path`` in the background; ``bundleChanged`` on success."""
        from mura_desktop.inference.bundle import BundleError, load_bundle

        path = Path(path)
        self._run(
            f"Loading {path.name}…",
            lambda: load_bundle(path),
            (BundleError,),
            lambda bundle: self._use_bundle(bundle, path, f"Loaded {path}."),
        )

    def import_checkpoint_file(
        self,
        checkpoint: str | os.PathLike[str],
        destination: str | os.PathLike[str] | None = None,
    ) -> None:
        """Import a plain ``state_dict`` checkpoint and save it as a bundle.

        The import runs in the background; then the bundle is written to ``destination``,
        or, when that is None, to a file the user picks (first offered in ``models_dir``,
        never silently next to the checkpoint). ``bundleChanged`` on success.
        """
        from mura_desktop.inference.bundle import BundleError, import_state_dict

        checkpoint = Path(checkpoint)
        self._run(
            f"Importing {checkpoint.name}…",
            lambda: import_state_dict(checkpoint),
            (BundleError,),
            lambda bundle: self._save_imported(bundle, checkpoint, destination),
        )

    # slots --------------------------------------------------------------------------------

    def accept(self) -> None:
        if self.is_busy():
            return
        self.settingsChosen.emit(self._path, self.device(), self.threshold())
        super().accept()

    def done(self, result: int) -> None:
        self._closed = True
        if self._task is not None:
            self._task.wait()
            self._task = None
        super().done(result)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        # A top-level window is sized without the height its word-wrapped labels need at
        # its actual width; grow to that height so no row is clipped.
        needed = self.layout().totalHeightForWidth(self.width())
        if needed > self.height():
            self.resize(self.width(), needed)

    def _choose_bundle(self) -> None:
        start = str(Path(self._path).parent) if self._path else str(self._models_dir)
        path, _ = QFileDialog.getOpenFileName(self, "Load model bundle", start, BUNDLE_FILTER)
        if path:
            self.load_bundle_file(path)

    def _choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a plain checkpoint", "", CHECKPOINT_FILTER
        )
        if path:
            self.import_checkpoint_file(path)

    # internals ----------------------------------------------------------------------------

    def _run(
        self,
        message: str,
        call: Callable[[], Any],
        expected: tuple[type[BaseException], ...],
        on_success: Callable[[Any], None],
    ) -> None:
        if self._task is not None:
            raise RuntimeError("the model dialog is already busy")
        task = ModelTask(call, expected)
        task.succeeded.connect(lambda value: None if self._closed else on_success(value))
        task.failed.connect(self._on_failed)
        task.finished.connect(lambda: self._on_task_finished(task))
        self._task = task
        self._set_busy(True, message)
        task.start()

    def _on_task_finished(self, task: ModelTask) -> None:
        task.deleteLater()
        if self._task is task:
            self._task = None
            self._set_busy(False)

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self._load_button.setEnabled(not busy)
        self._import_button.setEnabled(not busy and self._can_import)
        self._buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not busy)
        self._progress.setVisible(busy)
        if busy:
            self._status.setStyleSheet("")
            self._status.setText(message)

    def _on_failed(self, message: str, expected: bool) -> None:
        what = "" if expected else "Unexpected error (details in the log): "
        self._status.setStyleSheet("QLabel { color: #b00000; }")
        self._status.setText(what + message)
        self.errorShown.emit(message)

    def _use_bundle(self, bundle: ModelBundle, path: Path, message: str) -> None:
        self._bundle = bundle
        self._path = str(path)
        self._show_bundle(None)
        if self.isVisible():
            self._fit_height()
        self._status.setStyleSheet("")
        self._status.setText(message)
        self.bundleChanged.emit(self._path)

    def _save_imported(
        self, bundle: ModelBundle, checkpoint: Path, destination: str | os.PathLike[str] | None
    ) -> None:
        from mura_desktop.inference.bundle import save_bundle

        if destination is None:
            self._models_dir.mkdir(parents=True, exist_ok=True)
            suggested = self._models_dir / (checkpoint.stem + MODEL_SUFFIX)
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Save the imported model as", str(suggested), BUNDLE_FILTER
            )
            if not chosen:
                self._status.setText(f"Import of {checkpoint.name} cancelled; nothing was saved.")
                return
            destination = chosen
        target = Path(destination)
        if target.suffix != MODEL_SUFFIX:
            target = target.with_name(target.name + MODEL_SUFFIX)
        # this runs before the import task's finished(): hand over to the save task
        if self._task is not None:
            self._task.wait()
            self._task = None
        self._run(
            f"Saving {target.name}…",
            lambda: save_bundle(bundle, target),
            (OSError, ValueError),
            lambda _hash: self._use_bundle(
                bundle, target, f"Imported {checkpoint.name} and saved it as {target}."
            ),
        )

    def _show_bundle(self, threshold: float | None) -> None:
        bundle = self._bundle
        self._model_box.show_bundle(bundle, self._path)
        while self._points.count():
            item = self._points.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self._points_label.setVisible(bundle is not None)
        if bundle is None:
            self._threshold.setValue(0.5 if threshold is None else threshold)
            return
        for name, value in bundle.operating_points.items():
            button = QPushButton(f"{name.replace('_', ' ')} {value:.3f}")
            button.setToolTip(f"Use the bundle's {name.replace('_', ' ')} operating point")
            button.clicked.connect(lambda _=False, v=value: self._threshold.setValue(v))
            self._points.addWidget(button)
        self._points.addStretch(1)
        default = bundle.operating_points["default"]
        self._threshold.setValue(default if threshold is None else threshold)
