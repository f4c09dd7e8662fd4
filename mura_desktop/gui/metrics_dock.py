"""The main window's metrics: the panel in a dock that floats as a window of its own,
refreshed at most once a second while scores stream in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget

from mura_desktop.gui.metrics_panel import MetricsPanel

if TYPE_CHECKING:
    from mura_desktop.gui.main_window import MainWindow

REFRESH_MS = 1000


class MetricsDock:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.panel = MetricsPanel()
        self.panel.reportRequested.connect(lambda: window.exports.choose_metrics_report_target())
        self.dock = QDockWidget("Metrics", window)
        self.dock.setObjectName("dock_metrics")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        # A window of its own by default: docked under or beside the image it starves it.
        self.dock.setAllowedAreas(
            Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.dock.setFloating(True)
        self.dock.hide()
        self._timer = QTimer(window)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def show(self) -> None:
        dock = self.dock
        if dock.isFloating() and not dock.isVisible():
            frame = self.window.geometry()
            width, height = min(1000, frame.width()), min(820, frame.height())
            dock.setGeometry(frame.right() - width, frame.top() + 60, width, height)
        dock.show()
        dock.raise_()

    def schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        viewer = self.window.viewer
        if viewer.closing:
            return
        results = list(viewer.session.results.values())
        threshold = results[0].rule.threshold if results else None
        self.panel.set_results(results, threshold, viewer.session.model)
