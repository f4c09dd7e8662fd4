"""A chart's place in a panel, the chart built later in a turn of its own; and painting
one such chart (or any widget) at once, in its turn."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QAbstractScrollArea, QVBoxLayout, QWidget


class ChartSlot(QWidget):
    """A chart's place in the panel's grid, holding the chart once ``chart()`` has built it.

    A pyqtgraph chart takes 30-50 ms to build (its axes, menus and view box): the three,
    built with the panel, held the GUI thread for a tenth of a second on the click that
    starts a dataset's scoring. Built in a turn of its own, each is one short wait."""

    def __init__(self, build: Callable[[QWidget], QWidget]) -> None:
        super().__init__()
        self._build = build
        self._chart: QWidget | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    def built(self) -> bool:
        return self._chart is not None

    def build(self) -> None:
        """Build the chart (a turn of the panel's drawing that paints nothing)."""
        self.chart()

    def chart(self) -> QWidget:
        if self._chart is None:
            self._chart = self._build(self)
            self.layout().addWidget(self._chart)
        return self._chart


def paint_now(widget: QWidget) -> None:
    """Let ``widget`` paint again, and paint it (a chart: its view) before the next turn."""
    widget.setUpdatesEnabled(True)
    chart = widget.chart() if isinstance(widget, ChartSlot) else widget
    (chart.viewport() if isinstance(chart, QAbstractScrollArea) else chart).repaint()
