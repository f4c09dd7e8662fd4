"""How the viewer tells the user something went wrong.

Known problems get two parts: what happened and what to do. Unexpected exceptions are
logged with their traceback and shown with the log file's location, never swallowed.
Boxes are non-modal (``open``), so background work and tests keep running.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from mura_desktop.core.locations import log_dir
from mura_desktop.gui.settings import APPLICATION

log = logging.getLogger(__name__)

_unparented: set[QMessageBox] = set()  # boxes without a parent live until they are closed


def log_file() -> Path:
    return log_dir() / f"{APPLICATION}.log"


def show_problem(parent: QWidget | None, what: str, todo: str) -> QMessageBox:
    """A known problem: ``what`` happened; ``todo`` says how to go on."""
    log.warning("%s — %s", what, todo)
    box = QMessageBox(QMessageBox.Icon.Warning, "MURA Desktop", what, parent=parent)
    box.setInformativeText(todo)
    return _open(box)


def show_unexpected(parent: QWidget | None, summary: str, details: str) -> QMessageBox:
    """An error nobody planned for: already logged by the caller, shown with its details."""
    box = QMessageBox(
        QMessageBox.Icon.Critical, "MURA Desktop — unexpected error", summary, parent=parent
    )
    files = [
        h.baseFilename for h in logging.getLogger().handlers if isinstance(h, RotatingFileHandler)
    ]
    where = f"were written to {files[0]}" if files else "are below"
    box.setInformativeText(
        f"This is a bug. The details {where}; please include them when you report it. "
        "You can keep working, but save your results."
    )
    box.setDetailedText(details)
    return _open(box)


def _open(box: QMessageBox) -> QMessageBox:
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if box.parent() is None:
        _unparented.add(box)
        box.finished.connect(lambda _result: _unparented.discard(box))
    box.open()
    return box
