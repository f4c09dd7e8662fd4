"""The train window's view of the trainer's console output, read from ``console.log``.

``ConsoleLog`` tails the file the trainer's stdout and stderr go to, decodes it as UTF-8
across reads, and shows finished lines in a log view and the line still being rewritten
(a progress bar's ``\\r`` updates) on a line of its own below it.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

LOG_LINES = 20_000


class ConsoleLog(QWidget):
    """The log view (at most ``LOG_LINES`` lines) and the progress line under it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._path: Path | None = None
        self._offset = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending_text = ""
        self._log = QPlainTextEdit()
        self._log.setReadOnly(True)
        self._log.setMaximumBlockCount(LOG_LINES)
        self._log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._log.setPlaceholderText("The trainer's output appears here.")
        self._log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._progress_line = QLabel()
        self._progress_line.setFont(self._log.font())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._log, 1)
        layout.addWidget(self._progress_line)

    def follow(self, path: Path) -> None:
        """Clear the view and read ``path`` from its start from now on."""
        self._path = path
        self._decoder.reset()
        self._pending_text = ""
        self._offset = 0
        self._log.clear()
        self._progress_line.clear()

    def read(self) -> None:
        """Show what has been written to the file since the last read."""
        if self._path is None:
            return
        try:
            with self._path.open("rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except OSError:
            return
        self._offset += len(data)
        self._consume_text(self._decoder.decode(data))

    def finish(self) -> None:
        """The trainer has ended: its last line counts as finished even without a newline."""
        if self._pending_text:
            self._consume_text("\n")

    def append(self, line: str) -> None:
        self._log.appendPlainText(line)

    def text(self) -> str:
        return self._log.toPlainText()

    def _consume_text(self, chunk: str) -> None:
        *lines, self._pending_text = (self._pending_text + chunk).split("\n")
        for line in lines:
            # a progress bar rewrites its line with \r: keep what the terminal would show
            self.append(line.rstrip("\r").rsplit("\r", 1)[-1])
        self._progress_line.setText(self._pending_text.rsplit("\r", 1)[-1].strip())
