"""What the training window asks when a run is still going and its window closes or the
viewer quits: stop the run, leave it running, or cancel."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from mura_desktop.core.run_log import BUNDLE_FILE


class Answer(Enum):
    STOP = "stop"
    LEAVE = "leave"
    CANCEL = "cancel"


def ask_on_close(parent: QWidget) -> Answer:
    """Closing the window: stop the run, or keep it running in the background."""
    return _ask(
        parent,
        "A training run is in progress.",
        "Stop it, or keep it running in the background (the viewer asks again when it quits)?",
        stop="Stop training",
        leave="Keep running",
        leave_is_default=True,
    )


def ask_on_quit(parent: QWidget, run_dir: Path | None, console: Path) -> Answer:
    """Quitting the viewer: stop the run (resumable), or let it run on detached."""
    return _ask(
        parent,
        "A training run is still going.",
        f"Stopped, it keeps the checkpoints written so far (mura-train fit --resume {run_dir} "
        f"continues it). Left running on its own, it writes its output to {console} and its "
        f"model to {run_dir / BUNDLE_FILE if run_dir else ''}.",
        stop="Stop the training",
        leave="Let it run on (detached)",
        leave_is_default=False,
    )


def _ask(
    parent: QWidget, text: str, details: str, *, stop: str, leave: str, leave_is_default: bool
) -> Answer:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Training in progress")
    box.setText(text)
    box.setInformativeText(details)
    stop_button = box.addButton(stop, QMessageBox.ButtonRole.DestructiveRole)
    leave_button = box.addButton(leave, QMessageBox.ButtonRole.AcceptRole)
    cancel_button = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(leave_button if leave_is_default else cancel_button)
    box.exec()
    clicked = box.clickedButton()
    if clicked is stop_button:
        return Answer.STOP
    return Answer.LEAVE if clicked is leave_button else Answer.CANCEL
