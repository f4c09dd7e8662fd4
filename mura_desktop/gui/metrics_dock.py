"""The main window's metrics: the panel in a dock that floats as a window of its own,
refreshed at most once a second while scores stream in.

The panel (its three charts) is built when it is first shown or asked for: built with the
window it took 0.15-0.37 s of the window's start-up, hidden."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget

if TYPE_CHECKING:
    from mura_desktop.gui.main_window import MainWindow
    from mura_desktop.gui.metrics_panel import MetricsPanel

REFRESH_MS = 1000


class MetricsDock:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self._panel: MetricsPanel | None = None
        self.dock = QDockWidget("Metrics", window)
        self.dock.setObjectName("dock_metrics")
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        # A window of its own by default: docked under or beside the image it starves it.
        self.dock.setAllowedAreas(
            Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.dock.setFloating(True)
        self.dock.hide()
        self.dock.visibilityChanged.connect(self._on_visibility)
        self._timer = QTimer(window)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    @property
    def panel(self) -> MetricsPanel:
        """The panel, built (and filled with the scores so far) on first use."""
        return self._panel if self._panel is not None else self._build()

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
        if viewer.closing or self._panel is None:  # an unbuilt panel is filled when built
            return
        results = list(viewer.session.results.values())
        threshold = results[0].rule.threshold if results else None
        self._panel.set_results(results, threshold, viewer.session.model)

    def choose_report_target(self) -> None:
        self.panel.choose_report_target()

    def shutdown(self) -> None:
        if self._panel is not None:
            self._panel.shutdown()

    def _on_visibility(self, visible: bool) -> None:
        if visible and self._panel is None:  # shown from the View menu or a saved layout
            self._build()

    def _build(self) -> MetricsPanel:
        from mura_desktop.gui.metrics_panel import MetricsPanel

        panel = self._panel = MetricsPanel()
        panel.reportRequested.connect(lambda: self.window.exports.choose_metrics_report_target())
        self.dock.setWidget(panel)
        self.refresh()
        return panel
