"""Measuring on the image: distance, three-point angle and Cobb angle, placed by clicks;
drawn over the view in its own pixel coordinates, listed per view in the Measurements
panel, kept by the viewer model (so they are saved with the results and the report).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mura_desktop.core.measure import POINTS, Calibration, Measurement
from mura_desktop.gui.image_view import ImageView
from mura_desktop.gui.pyqtgraph_setup import pg

if TYPE_CHECKING:
    from mura_desktop.gui.main_window import MainWindow

COLOUR = "#ffd54f"
PENDING_COLOUR = "#4fc3f7"
SCALE_STEPS_MM = (1, 2, 5, 10, 20, 50, 100)
TOOL_HINTS = {
    "distance": "Distance: click the two ends (Esc to stop measuring)",
    "angle": "Angle: click the first arm's end, the vertex, then the second arm's end",
    "cobb": "Cobb angle: click two points on the first line, then two on the second",
}


class MeasureTool(QObject):
    """Collects clicks on ``view`` into measurements and draws a view's measurements."""

    measured = Signal(object)  # Measurement
    modeChanged = Signal(str)  # "" when no tool is active

    def __init__(self, view: ImageView) -> None:
        super().__init__(view)
        self.view = view
        self.mode = ""
        self._points: list[tuple[float, float]] = []
        self._drawn: list[pg.GraphicsObject] = []
        self._pending: list[pg.GraphicsObject] = []
        view.imageClicked.connect(self._on_click)

    def start(self, kind: str) -> None:
        if kind not in POINTS:
            raise ValueError(f"unknown measurement {kind!r}")
        self.mode = kind
        self._points = []
        self._clear(self._pending)
        self.view.setCursor(Qt.CursorShape.CrossCursor)
        self.modeChanged.emit(kind)

    def stop(self) -> None:
        self.mode = ""
        self._points = []
        self._clear(self._pending)
        self.view.unsetCursor()
        self.modeChanged.emit("")

    def click(self, x: float, y: float) -> None:
        """A point of the measurement being made (also what a mouse click does)."""
        self._on_click(x, y)

    def show(self, measurements: list[Measurement], calibration: Calibration | None) -> None:
        """Draw ``measurements`` (the view's) and the scale bar of a calibrated image."""
        self._clear(self._drawn)
        for measurement in measurements:
            self._drawn += _draw(self.view.overlay, measurement.points, measurement.kind, COLOUR)
            self._drawn.append(
                _label(self.view.overlay, measurement.points[-1], measurement.label(), COLOUR)
            )
        image = self.view.image
        if calibration is not None and image is not None:
            self._drawn += _scale_bar(self.view.overlay, image.pixels.shape, calibration)

    def _on_click(self, x: float, y: float) -> None:
        if not self.mode or self.view.image is None:
            return
        self._points.append((x, y))
        self._clear(self._pending)
        self._pending += _draw(self.view.overlay, self._points, "points", PENDING_COLOUR)
        if len(self._points) == POINTS[self.mode]:
            measurement = Measurement(self.mode, tuple(self._points), self.view.image.calibration)
            self._points = []
            self._clear(self._pending)
            self.measured.emit(measurement)

    def _clear(self, items: list) -> None:
        for item in items:
            item.setParentItem(None)
            if item.scene() is not None:
                item.scene().removeItem(item)
        items.clear()


class MeasurementsPanel(QWidget):
    """The current view's measurements, with their values; one can be deleted."""

    deleteRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hint = QLabel("Measure with D (distance), A (angle) or C (Cobb angle).")
        self.hint.setWordWrap(True)
        self.list = QListWidget()
        self.calibration = QLabel()
        self.calibration.setWordWrap(True)
        delete = QPushButton("Delete")
        delete.clicked.connect(self._delete_selected)
        row = QHBoxLayout()
        row.addWidget(self.calibration, 1)
        row.addWidget(delete)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.hint)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)

    def set_items(self, measurements: list[Measurement], calibration: Calibration | None) -> None:
        self.list.clear()
        names = {"distance": "Distance", "angle": "Angle", "cobb": "Cobb angle"}
        for i, m in enumerate(measurements, 1):
            self.list.addItem(f"{i}. {names[m.kind]}: {m.label()}")
        self.calibration.setText(
            f"Calibration: {calibration.source}, {calibration.column_mm:g} × "
            f"{calibration.row_mm:g} mm per pixel"
            if calibration is not None
            else "No pixel spacing in this file: distances are in pixels."
        )

    def items(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _delete_selected(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.deleteRequested.emit(row)


class MeasureController:
    """Joins the tool, the panel and the viewer model for the main window."""

    def __init__(self, window: MainWindow, on_status: Callable[[str], None]) -> None:
        self.window = window
        self.tool = MeasureTool(window.image_view)
        self.panel = MeasurementsPanel()
        self.tool.measured.connect(self._add)
        self.tool.modeChanged.connect(lambda kind: on_status(TOOL_HINTS.get(kind, "")))
        self.panel.deleteRequested.connect(self._delete)
        window.viewer.subscribe("measurements", self._changed)

    def view_shown(self) -> None:
        """Draw the measurements of the view now on screen (or none)."""
        path = self._path()
        image = self.window.image_view.image
        calibration = image.calibration if image is not None else None
        found = self.window.viewer.session.measurements_of(path) if path is not None else []
        self.tool.show(found, calibration)
        self.panel.set_items(found, calibration)

    def _path(self) -> Path | None:
        current = self.window.viewer.current
        if current is None or not current.paths or self.window.image_view.image is None:
            return None
        return current.paths[current.view]

    def _add(self, measurement: Measurement) -> None:
        path = self._path()
        if path is not None:
            self.window.viewer.add_measurement(path, measurement)

    def _delete(self, index: int) -> None:
        path = self._path()
        if path is not None:
            self.window.viewer.remove_measurement(path, index)

    def _changed(self, path: Path) -> None:
        if path == self._path():
            self.view_shown()


def _draw(parent, points, kind: str, colour: str) -> list:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    items = []
    if kind == "cobb" or (kind == "points" and len(points) == 4):
        line = pg.PlotCurveItem(xs, ys, pen=pg.mkPen(colour, width=2), connect="pairs")
        items.append(line)
    elif len(points) > 1:
        items.append(pg.PlotCurveItem(xs, ys, pen=pg.mkPen(colour, width=2)))
    dots = pg.ScatterPlotItem(xs, ys, size=7, brush=pg.mkBrush(colour), pen=None)
    items.append(dots)
    for item in items:
        item.setParentItem(parent)
    return items


def _label(parent, at, text: str, colour: str):
    label = pg.TextItem(text, color=colour, anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 150))
    label.setParentItem(parent)
    label.setPos(*at)
    return label


def _scale_bar(parent, shape: tuple[int, ...], calibration: Calibration) -> list:
    """A bar of a round length near the image's lower left corner, about a fifth as wide."""
    height, width = shape[:2]
    target = width * calibration.column_mm / 5
    mm = max((s for s in SCALE_STEPS_MM if s <= target), default=SCALE_STEPS_MM[0])
    length = mm / calibration.column_mm
    x0, y = width * 0.04, height * 0.96
    bar = pg.PlotCurveItem([x0, x0 + length], [y, y], pen=pg.mkPen("#ffffff", width=3))
    bar.setParentItem(parent)
    return [bar, _label(parent, (x0, y), f"{mm} mm", "#ffffff")]
