"""The "Train a model…" window: runs ``mura-train fit`` as a separate process and watches it.

The trainer writes its console output to ``RUN_DIR/console.log`` (shown in a log view) and
its ``RUN_DIR/metrics.jsonl`` (tailed for the loss and κ curves). It runs in a session of its
own and writes to files, not to pipes, so it can outlive the viewer when the user lets it
run on (``detach``). The process is never killed without asking. The form is
``train_form``, the plots ``train_plots``, the log view ``train_log``, the questions asked
while a run is going ``train_questions``, the metrics reading ``training_metrics`` and the
process start ``trainer_process``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from mura_desktop.core import locations
from mura_desktop.core.run_log import METRICS_FILE, number
from mura_desktop.gui.train_form import TrainForm
from mura_desktop.gui.train_log import ConsoleLog
from mura_desktop.gui.train_plots import TrainingPlots
from mura_desktop.gui.train_questions import Answer, ask_on_close, ask_on_quit
from mura_desktop.gui.trainer_process import (
    CONSOLE_FILE,
    find_bundle,
    launch_trainer,
    trainer_command,
)
from mura_desktop.gui.training_metrics import JsonlTail, TrainingCurves


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
        self._runs_dir = Path(runs_dir) if runs_dir else locations.runs_dir()
        self._stop_grace_ms = stop_grace_ms
        self._process: subprocess.Popen[bytes] | None = None
        self._run_dir: Path | None = None
        self._tail: JsonlTail | None = None
        self._curves = TrainingCurves()
        self._bundle: Path | None = None
        self._end_record: dict[str, Any] = {}
        self._error_message = ""
        self._stopping = False

        self._poll = QTimer(self)
        self._poll.setInterval(poll_ms)
        self._poll.timeout.connect(self._watch)
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)

        self._form = TrainForm(self._runs_dir)
        self._build_buttons()
        self._plots = TrainingPlots()
        self._log = ConsoleLog()
        self._status = QLabel("Choose a dataset folder, then Start.")
        self._status.setWordWrap(True)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self._form)
        top_layout.addLayout(self._buttons_row)
        top_layout.addWidget(self._status)
        top_layout.addWidget(self._plots, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self._log)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._update_buttons()

    # building -----------------------------------------------------------------------------

    def _build_buttons(self) -> None:
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
        self._log.append(f"[left running on its own; its output goes to {self._console_path()}]")
        self._process = None
        self._show_status(f"Left running on its own. Run folder {self._run_dir}")
        self._update_buttons()

    def set_dataset(self, path: str | os.PathLike[str]) -> None:
        self._form.set_dataset(path)

    def set_run_dir(self, path: str | os.PathLike[str]) -> None:
        self._form.set_run_dir(path)

    def set_recipe(self, **fields: Any) -> None:
        """Set any of the form's fields (see ``TrainForm.set_recipe``)."""
        self._form.set_recipe(**fields)

    def command_line(self) -> list[str]:
        """The full command Start would run, from the form's current values."""
        return [*self._command, "fit", *self._form.fit_arguments()]

    def start_training(self) -> bool:
        """Check the form and start the trainer; False (with the reason shown) if invalid."""
        if self.has_running_job():
            return False
        problem = self._form.problem()
        if problem:
            self._show_status(problem, error=True)
            return False
        args = self.command_line()
        run_dir = Path(self._form.run_dir_text()).expanduser()
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        self._reset_run(run_dir)
        self._log.append("$ " + shlex.join(args))
        run_dir.mkdir(exist_ok=True)
        try:
            with self._console_path().open("wb") as console:
                self._process = launch_trainer(args, console)
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
        return self._log.text()

    def status_text(self) -> str:
        return self._status.text()

    def settle_before_quit(self, parent: QWidget) -> bool:
        """Before the viewer quits: ask what becomes of a running run, and do it. The run is
        stopped (resumable), or left running on its own; False when the user cancels."""
        if not self.has_running_job():
            return True
        answer = ask_on_quit(parent, self._run_dir, self._console_path())
        if answer is Answer.STOP:
            self.stop_training(wait=True)
        elif answer is Answer.LEAVE:
            self.detach()
        return answer is not Answer.CANCEL

    # events -------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.has_running_job():
            event.accept()
            return
        answer = ask_on_close(self)
        if answer is Answer.STOP:
            self.stop_training(wait=True)
        event.setAccepted(answer is not Answer.CANCEL)

    # internals ----------------------------------------------------------------------------

    def _reset_run(self, run_dir: Path) -> None:
        self._run_dir = run_dir
        self._tail = JsonlTail(run_dir / METRICS_FILE)
        self._curves = TrainingCurves()
        self._bundle = None
        self._end_record = {}
        self._error_message = ""
        self._stopping = False
        self._log.follow(self._console_path())
        self._redraw()

    def _console_path(self) -> Path:
        return (self._run_dir or Path()) / CONSOLE_FILE

    def _watch(self) -> None:
        """One poll: new console output and metrics; the end of the process."""
        ended = self._process is not None and self._process.poll() is not None
        self._log.read()
        self._read_metrics()  # after an end, everything the trainer wrote is in the files
        if ended and self._process is not None:
            self._on_finished(self._process.returncode)

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
        self._plots.redraw(self._curves, self._form.planned_epochs())

    def _on_finished(self, exit_code: int) -> None:
        self._poll.stop()
        self._kill_timer.stop()
        self._process = None
        self._log.finish()
        crashed = exit_code < 0  # ended by a signal
        exported = exit_code == 0 and self._run_dir is not None
        self._bundle = find_bundle(self._run_dir, self._end_record) if exported else None
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

    def _kill(self) -> None:
        if self.has_running_job() and self._process is not None:
            self._log.append("[the trainer did not stop in time; killing it]")
            self._process.kill()

    def _emit_open_model(self) -> None:
        if self._bundle is not None:
            self.openModel.emit(str(self._bundle))

    def _update_buttons(self) -> None:
        running = self.has_running_job()
        self._form.setEnabled(not running)
        self._start_button.setEnabled(not running)
        self._stop_button.setEnabled(running and not self._stopping)
        self._open_button.setEnabled(not running and self._bundle is not None)
        used = self._run_dir is not None and self._form.run_dir_text() == str(self._run_dir)
        if not running and used:
            self._form.propose_run_dir()

    def _show_status(self, text: str, error: bool = False) -> None:
        self._status.setStyleSheet("QLabel { color: #b00000; }" if error else "")
        self._status.setText(text)
