"""A word-wrapped label whose height only grows, so what is laid out below it stays put."""

from __future__ import annotations

from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel


class SteadyLabel(QLabel):
    """A word-wrapped label that keeps the tallest height its texts have needed.

    The notes above and beside the charts change length with every refresh (the intervals
    pending, then their method); each change of height moved the charts, and a moved chart
    re-lays and repaints its axes: 20-40 ms a chart, 0.2-0.3 s of the GUI thread at once
    while a dataset was scored.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)

    def setText(self, text: str) -> None:
        super().setText(text)
        self._keep_height()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._keep_height()

    def _keep_height(self) -> None:
        needed = self.heightForWidth(self.width())
        if needed > self.minimumHeight():
            self.setMinimumHeight(needed)
