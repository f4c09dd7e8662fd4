"""The "Train a model…" window: runs ``mura-train fit`` as a separate process and watches it.

The trainer writes its console output to ``RUN_DIR/console.log`` (shown in a log view) and
its ``RUN_DIR/metrics.jsonl`` (tailed for the loss and κ curves). It runs in a session of its
own and writes to files, not to pipes, so it can outlive the viewer when the user lets it
run on (``detach``). The process is never killed without asking.
"""

from __future__ import annotations

import codecs
import math
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import platformdirs
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from mura_desktop.core.output_guard import is_inside
from mura_desktop.core.resources import MODEL_SUFFIX
from mura_desktop.core.run_log import BUNDLE_FILE, METRICS_FILE, number, parse_line

# mura_desktop.inference.network.ARCHITECTURES, repeated so this window does not import torch.
ARCHITECTURES = ("densenet121", "densenet169", "densenet201", "resnet50")
DEVICES = ("auto", "cpu", "cuda")
INITS = (("imagenet", "ImageNet weights (downloaded once)"), ("random", "Random"))
CONSOLE_FILE = "console.log"
LOG_LINES = 20_000


def default_runs_dir() -> Path:
    return platformdirs.user_data_path("mura-desktop", appauthor=False) / "runs"


def trainer_command() -> list[str]:
    """How to start ``mura-train``: this interpreter running the ``trainer`` package."""
    return [sys.executable, "-m", "trainer"]


class JsonlTail:
    """Incremental reader of a JSON-lines file that another process appends to.

    ``read()`` returns the records completed since the last call. A last line without its
    newline is kept until it is finished; lines that are not JSON objects are skipped and
    counted. When the file is replaced or shrinks (the trainer rewrites it on ``--resume``),
    reading starts again from the top and ``restarted`` is set.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.skipped = 0
        self.restarted = False
        self._offset = 0
        self._partial = b""
        self._identity: tuple[int, int] | None = None

    def read(self) -> list[dict[str, Any]]:
        self.restarted = False
        try:
            stat = self.path.stat()
        except OSError:
            return []
        identity = (stat.st_dev, stat.st_ino)
        if self._identity is not None and (
            identity != self._identity or stat.st_size < self._offset
        ):
            self._offset, self._partial, self.restarted = 0, b"", True
        self._identity = identity
        if stat.st_size == self._offset:
            return []
        try:
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except OSError:
            return []
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        records = []
        for line in lines:
            if not line.strip():
                continue
            record = parse_line(line.decode("utf-8", "replace"))
            if record is None:
                self.skipped += 1
            else:
                records.append(record)
        return records


@dataclass
class TrainingCurves:
    """Points of the live plots, built from metrics records.

    Epoch points are placed at the count of epochs completed (1, 2, …), whatever the
    trainer's own epoch numbering; step losses between them when the step record says how
    many steps an epoch has.
    """

    epochs: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    kappa: list[float] = field(default_factory=list)
    auroc: list[float] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    total_epochs: int | None = None

    def add(self, record: dict[str, Any]) -> None:
        event = record.get("event")
        if event == "start":
            total = number(record, "epochs")
            self.total_epochs = int(total) if total else self.total_epochs
        elif event == "epoch":
            self.epochs.append(float(len(self.epochs) + 1))
            self.train_loss.append(_value_or_nan(number(record, "train_loss")))
            self.valid_loss.append(_value_or_nan(number(record, "valid_loss")))
            self.kappa.append(_value_or_nan(number(record, "kappa")))
            self.auroc.append(_value_or_nan(number(record, "auroc")))
        elif event == "step":
            loss = number(record, "train_loss")
            # `batch` of `batches` within the epoch; `step` is the run's global step counter
            batch = number(record, "batch")
            per_epoch = number(record, "batches")
            if loss is not None and batch is not None and per_epoch:
                self.steps.append(len(self.epochs) + min(batch / per_epoch, 1.0))
                self.step_loss.append(loss)


def _value_or_nan(value: float | None) -> float:
    return float("nan") if value is None else value


class TrainWindow(QWidget):
    """Choose a dataset and recipe, run ``mura-train fit``, watch its log and curves.

    Parameters
    ----------
    command
        The trainer's command line before ``fit`` (default ``trainer_command()``).
    runs_dir
        Where new run folders are proposed (default: the user data folder's ``runs``).
    poll_ms
        How often the console log, ``metrics.jsonl`` and the process are read while a run
        is going.
    stop_grace_ms
        How long Stop waits after asking the trainer to end before killing it.

    Signals
    -------
    openModel(path: str)
        "Open this model" was clicked; ``path`` is the bundle the run exported.
    runStarted(run_dir: str), runFinished(exit_code: int, run_dir: str)
        ``exit_code`` is -1 when the process crashed, was killed or did not start.
    """

    openModel = Signal(str)
    runStarted = Signal(str)
    runFinished = Signal(int, str)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        command: Sequence[str] | None = None,
        runs_dir: str | os.PathLike[str] | None = None,
        poll_ms: int = 500,
        stop_grace_ms: int = 10_000,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.resize(980, 820)
        self._command = list(command) if command else trainer_command()
        self._runs_dir = Path(runs_dir) if runs_dir else default_runs_dir()
        self._stop_grace_ms = stop_grace_ms
        self._process: subprocess.Popen[bytes] | None = None
        self._console_offset = 0
        self._run_dir: Path | None = None
        self._tail: JsonlTail | None = None
        self._curves = TrainingCurves()
        self._bundle: Path | None = None
        self._end_record: dict[str, Any] = {}
        self._error_message = ""
        self._stopping = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending_text = ""

        self._poll = QTimer(self)
        self._poll.setInterval(poll_ms)
        self._poll.timeout.connect(self._watch)
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)

        self._build_form()
        self._build_plots()
        self._log = QPlainTextEdit()
        self._log.setReadOnly(True)
        self._log.setMaximumBlockCount(LOG_LINES)
        self._log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._log.setPlaceholderText("The trainer's output appears here.")
        self._log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._progress_line = QLabel()
        self._progress_line.setFont(self._log.font())
        self._status = QLabel("Choose a dataset folder, then Start.")
        self._status.setWordWrap(True)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self._form_box)
        top_layout.addLayout(self._buttons_row)
        top_layout.addWidget(self._status)
        top_layout.addWidget(self._plots, 1)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self._log, 1)
        bottom_layout.addWidget(self._progress_line)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._update_buttons()

    # building -----------------------------------------------------------------------------

    def _build_form(self) -> None:
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
        self._propose_run_dir()
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
        self._form_box = QGroupBox("Run")
        self._form_box.setLayout(form)

        self._start_button = QPushButton("Start training")
        self._start_button.clicked.connect(self.start_training)
        self._stop_button = QPushButton("Stop")
        self._stop_button.clicked.connect(lambda: self.stop_training())
        self._open_button = QPushButton("Open this model")
        self._open_button.setToolTip("Load the model this run exported into the viewer")
        self._open_button.clicked.connect(self._emit_open_model)
        self._buttons_row = QHBoxLayout()
        self._buttons_row.addWidget(self._start_button)
        self._buttons_row.addWidget(self._stop_button)
        self._buttons_row.addStretch(1)
        self._buttons_row.addWidget(self._open_button)

    def _build_plots(self) -> None:
        base = self.palette().color(QPalette.ColorRole.Base)
        text = self.palette().color(QPalette.ColorRole.Text)
        self._plots = QWidget()
        row = QHBoxLayout(self._plots)
        row.setContentsMargins(0, 0, 0, 0)
        # legends where the curves usually are not: losses fall, scores rise
        self._loss_plot = _plot(base, text, "Loss", "loss", (-10, 10))
        self._score_plot = _plot(base, text, "Validation κ and AUROC", "", (-10, -30))
        self._score_plot.setYRange(0, 1, padding=0.05)
        row.addWidget(self._loss_plot)
        row.addWidget(self._score_plot)
        faint = QColor(31, 119, 180, 90)
        self._step_curve = self._loss_plot.plot([], [], pen=pg.mkPen(faint, width=1))
        self._train_curve = _line(self._loss_plot, "train", QColor(31, 119, 180))
        self._valid_curve = _line(self._loss_plot, "valid", QColor(255, 127, 14))
        self._kappa_curve = _line(self._score_plot, "κ", QColor(44, 160, 44))
        self._auroc_curve = _line(self._score_plot, "AUROC", QColor(148, 103, 189))

    # public API ---------------------------------------------------------------------------

    def has_running_job(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def pid(self) -> int | None:
        """The trainer's process id while a run is going."""
        return self._process.pid if self.has_running_job() and self._process else None

    def detach(self) -> None:
        """Stop watching the run and leave it going: it outlives this window and the viewer
        (its output is in the run folder's console log and metrics file)."""
        if not self.has_running_job():
            return
        self._poll.stop()
        self._kill_timer.stop()
        self._append_log(f"[left running on its own; its output goes to {self._console_path()}]")
        self._process = None
        self._show_status(f"Left running on its own. Run folder {self._run_dir}")
        self._update_buttons()

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

    def command_line(self) -> list[str]:
        """The full command Start would run, from the form's current values."""
        return [
            *self._command,
            "fit",
            self._dataset.text().strip(),
            "--out",
            self._run_dir_edit.text().strip(),
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

    def start_training(self) -> bool:
        """Check the form and start the trainer; False (with the reason shown) if invalid."""
        if self.has_running_job():
            return False
        problem = self._check_form()
        if problem:
            self._show_status(problem, error=True)
            return False
        args = self.command_line()
        run_dir = Path(self._run_dir_edit.text().strip()).expanduser()
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        self._reset_run(run_dir)
        self._append_log("$ " + shlex.join(args))
        run_dir.mkdir(exist_ok=True)
        try:
            with self._console_path().open("wb") as console:
                self._process = subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=console,
                    stderr=subprocess.STDOUT,
                    env=_trainer_environment(),
                    **_own_session(),
                )
        except OSError as exc:
            self._show_status(
                f"Could not start the trainer ({self._command[0]}): {exc.strerror or exc}",
                error=True,
            )
            self._update_buttons()
            self.runFinished.emit(-1, str(run_dir))
            return False
        self._poll.start()
        self._show_status(f"Training… run folder {run_dir}")
        self._update_buttons()
        self.runStarted.emit(str(run_dir))
        return True

    def stop_training(self, wait: bool = False) -> None:
        """Ask the trainer to end; kill it if it is still running after the grace period.

        With ``wait`` this blocks until the process has ended (for application shutdown).
        """
        process = self._process
        if not self.has_running_job() or process is None:
            return
        self._stopping = True
        self._show_status("Stopping the trainer…")
        process.terminate()
        if wait:
            try:
                process.wait(self._stop_grace_ms / 1000)
            except subprocess.TimeoutExpired:
                self._kill()
                process.wait(5)
            self._watch()
        else:
            self._kill_timer.start(self._stop_grace_ms)
        self._update_buttons()

    def run_dir(self) -> Path | None:
        """The folder of the current or last run."""
        return self._run_dir

    def bundle_path(self) -> Path | None:
        """The model the last run exported, once it has finished."""
        return self._bundle

    def curves(self) -> TrainingCurves:
        return self._curves

    def log_text(self) -> str:
        return self._log.toPlainText()

    def status_text(self) -> str:
        return self._status.text()

    def settle_before_quit(self, parent: QWidget) -> bool:
        """Before the viewer quits: ask what becomes of a running run, and do it. The run is
        stopped (resumable), or left running on its own; False when the user cancels."""
        if not self.has_running_job():
            return True
        run = self._run_dir
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Training in progress")
        box.setText("A training run is still going.")
        box.setInformativeText(
            f"Stopped, it keeps the checkpoints written so far (mura-train fit --resume {run} "
            f"continues it). Left running on its own, it writes its output to "
            f"{self._console_path()} and its model to {run / BUNDLE_FILE if run else ''}."
        )
        stop = box.addButton("Stop the training", QMessageBox.ButtonRole.DestructiveRole)
        detach = box.addButton("Let it run on (detached)", QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.exec()
        if box.clickedButton() is stop:
            self.stop_training(wait=True)
        elif box.clickedButton() is detach:
            self.detach()
        else:
            return False
        return True

    # events -------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.has_running_job():
            event.accept()
            return
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Training in progress")
        box.setText("A training run is in progress.")
        box.setInformativeText(
            "Stop it, or keep it running in the background (the viewer asks again when it quits)?"
        )
        stop = box.addButton("Stop training", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep running", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        box.exec()
        if box.clickedButton() is stop:
            self.stop_training(wait=True)
            event.accept()
        elif box.clickedButton() is keep:
            event.accept()
        else:
            event.ignore()

    # internals ----------------------------------------------------------------------------

    def _check_form(self) -> str:
        dataset_text = self._dataset.text().strip()
        run_text = self._run_dir_edit.text().strip()
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

    def _reset_run(self, run_dir: Path) -> None:
        self._run_dir = run_dir
        self._tail = JsonlTail(run_dir / METRICS_FILE)
        self._curves = TrainingCurves()
        self._bundle = None
        self._end_record = {}
        self._error_message = ""
        self._stopping = False
        self._decoder.reset()
        self._pending_text = ""
        self._console_offset = 0
        self._log.clear()
        self._progress_line.clear()
        self._redraw()

    def _console_path(self) -> Path:
        return (self._run_dir or Path()) / CONSOLE_FILE

    def _watch(self) -> None:
        """One poll: new console output and metrics; the end of the process."""
        ended = self._process is not None and self._process.poll() is not None
        self._read_output()
        self._read_metrics()  # after an end, everything the trainer wrote is in the files
        if ended and self._process is not None:
            self._on_finished(self._process.returncode)

    def _read_output(self) -> None:
        try:
            with self._console_path().open("rb") as fh:
                fh.seek(self._console_offset)
                data = fh.read()
        except OSError:
            return
        self._console_offset += len(data)
        self._consume_text(self._decoder.decode(data))

    def _consume_text(self, chunk: str) -> None:
        *lines, self._pending_text = (self._pending_text + chunk).split("\n")
        for line in lines:
            # a progress bar rewrites its line with \r: keep what the terminal would show
            self._append_log(line.rstrip("\r").rsplit("\r", 1)[-1])
        self._progress_line.setText(self._pending_text.rsplit("\r", 1)[-1].strip())

    def _append_log(self, line: str) -> None:
        self._log.appendPlainText(line)

    def _read_metrics(self) -> None:
        if self._tail is None:
            return
        records = self._tail.read()
        if self._tail.restarted:
            self._curves = TrainingCurves()
        if not records and not self._tail.restarted:
            return
        for record in records:
            self._curves.add(record)
            self._note(record)
        self._redraw()

    def _note(self, record: dict[str, Any]) -> None:
        event = record.get("event")
        if event == "epoch":
            done = len(self._curves.epochs)
            total = f" of {self._curves.total_epochs}" if self._curves.total_epochs else ""
            parts = [f"Epoch {done}{total} done"]
            for key, label in (
                ("train_loss", "train loss"),
                ("valid_loss", "valid loss"),
                ("kappa", "κ"),
                ("auroc", "AUROC"),
            ):
                value = number(record, key)
                if value is not None:
                    parts.append(f"{label} {value:.3f}")
            self._show_status(" · ".join(parts))
        elif event == "end":
            self._end_record = record
        elif event == "error":
            message = record.get("message") or "the trainer failed"
            self._error_message = str(message)
            self._show_status(f"Trainer error: {message}", error=True)

    def _redraw(self) -> None:
        c = self._curves
        self._train_curve.setData(c.epochs, c.train_loss, connect="finite")
        self._valid_curve.setData(c.epochs, c.valid_loss, connect="finite")
        self._kappa_curve.setData(c.epochs, c.kappa, connect="finite")
        self._auroc_curve.setData(c.epochs, c.auroc, connect="finite")
        self._step_curve.setData(c.steps, c.step_loss)
        finite = [v for v in (*c.kappa, *c.auroc) if not math.isnan(v)]
        self._score_plot.setYRange(min([0.0, *finite]), 1.0, padding=0.05)
        last_epoch = max(c.total_epochs or self._epochs.value(), len(c.epochs), 1)
        for plot in (self._loss_plot, self._score_plot):
            plot.setXRange(0, last_epoch, padding=0.03)

    def _on_finished(self, exit_code: int) -> None:
        self._poll.stop()
        self._kill_timer.stop()
        self._process = None
        if self._pending_text:
            self._consume_text("\n")
        crashed = exit_code < 0  # ended by a signal
        self._bundle = self._find_bundle() if not crashed and exit_code == 0 else None
        if self._stopping:
            self._show_status("Stopped. The run folder keeps the checkpoints written so far.")
        elif crashed or exit_code != 0:
            how = "crashed" if crashed else f"failed (exit code {exit_code})"
            why = f": {self._error_message}" if self._error_message else ""
            self._show_status(f"The trainer {how}{why}. The log below has the details.", True)
        elif self._bundle is None:
            self._show_status(
                f"Finished, but no model bundle was found in {self._run_dir}.", error=True
            )
        else:
            self._show_status(f"Finished. Model: {self._bundle} — Open this model to use it.")
        self._stopping = False
        self._update_buttons()
        self.runFinished.emit(-1 if crashed else exit_code, str(self._run_dir or ""))

    def _find_bundle(self) -> Path | None:
        run_dir = self._run_dir
        if run_dir is None:
            return None
        value = self._end_record.get("bundle")
        if isinstance(value, str) and value:
            candidate = Path(value)
            candidate = candidate if candidate.is_absolute() else run_dir / candidate
            if candidate.is_file():
                return candidate
        if (run_dir / BUNDLE_FILE).is_file():
            return run_dir / BUNDLE_FILE
        found = sorted(run_dir.glob(f"*{MODEL_SUFFIX}"), key=lambda p: p.stat().st_mtime)
        return found[-1] if found else None

    def _kill(self) -> None:
        if self.has_running_job() and self._process is not None:
            self._append_log("[the trainer did not stop in time; killing it]")
            self._process.kill()

    def _emit_open_model(self) -> None:
        if self._bundle is not None:
            self.openModel.emit(str(self._bundle))

    def _update_buttons(self) -> None:
        running = self.has_running_job()
        self._form_box.setEnabled(not running)
        self._start_button.setEnabled(not running)
        self._stop_button.setEnabled(running and not self._stopping)
        self._open_button.setEnabled(not running and self._bundle is not None)
        used = self._run_dir is not None and self._run_dir_edit.text().strip() == str(self._run_dir)
        if not running and used:
            self._propose_run_dir()

    def _show_status(self, text: str, error: bool = False) -> None:
        self._status.setStyleSheet("QLabel { color: #b00000; }" if error else "")
        self._status.setText(text)

    def _propose_run_dir(self) -> None:
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
            self._propose_run_dir()

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


def _trainer_environment() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    # From a source checkout, `python -m trainer` needs the repository on the path.
    source_root = Path(__file__).resolve().parents[2]
    if (source_root / "trainer" / "__init__.py").is_file():
        paths = [str(source_root), *filter(None, [env.get("PYTHONPATH")])]
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _own_session() -> dict[str, Any]:
    """Popen arguments that start the trainer apart from the viewer: a terminal's Ctrl-C or
    hang-up that ends the viewer does not reach a run the user left going."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


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


def _plot(
    base: QColor, text: QColor, title: str, y_label: str, legend_offset: tuple[int, int]
) -> pg.PlotWidget:
    plot = pg.PlotWidget(background=base)
    plot.setTitle(title, color=text.name())
    plot.setMinimumHeight(180)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.addLegend(offset=legend_offset, labelTextColor=text)
    for side, label in (("bottom", "epoch"), ("left", y_label)):
        axis = plot.getAxis(side)
        axis.enableAutoSIPrefix(False)
        axis.setPen(pg.mkPen(text))
        axis.setTextPen(pg.mkPen(text))
        if label:
            axis.setLabel(label, color=text.name())
    return plot


def _line(plot: pg.PlotWidget, name: str, colour: QColor) -> pg.PlotDataItem:
    return plot.plot(
        [],
        [],
        name=name,
        pen=pg.mkPen(colour, width=2),
        symbol="o",
        symbolSize=6,
        symbolBrush=colour,
        symbolPen=colour,
    )
