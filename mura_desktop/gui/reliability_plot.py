"""Reliability diagram of study probabilities: observed frequency of abnormal studies
against the mean predicted probability per bin, with each bin's share of the studies."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

from mura_desktop.core.stats.calibration import Calibration
from mura_desktop.gui.plot_style import style_axes
from mura_desktop.gui.pyqtgraph_setup import pg

_LINE = QColor(31, 119, 180)
_BARS = QColor(150, 150, 150, 90)


def unit_square(plot: pg.PlotWidget, text: QColor, x_label: str, y_label: str) -> None:
    """A fixed [0, 1] × [0, 1] plot with a grid, labelled axes and the dashed diagonal (the
    ROC curve's chance line, the reliability diagram's perfect calibration)."""
    plot.setMinimumSize(180, 150)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setXRange(0, 1, padding=0.02)
    plot.setYRange(0, 1, padding=0.02)
    plot.showGrid(x=True, y=True, alpha=0.25)
    style_axes(plot, text, {"bottom": x_label, "left": y_label})
    grey = QColor(text)
    grey.setAlpha(110)
    plot.plot([0, 1], [0, 1], pen=pg.mkPen(grey, width=1, style=Qt.PenStyle.DashLine))


class ReliabilityPlot(pg.PlotWidget):
    """``set_calibration`` draws one group's ``core.stats.calibration.Calibration``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        base = parent.palette() if parent is not None else QPalette()
        super().__init__(parent, background=base.color(QPalette.ColorRole.Base))
        text = base.color(QPalette.ColorRole.Text)
        self._text = text
        unit_square(self, text, "mean predicted probability", "observed")
        self._bars = pg.BarGraphItem(x=[], height=[], width=0.1, brush=_BARS, pen=pg.mkPen(None))
        self.addItem(self._bars)
        self._curve = self.plot(
            [], [], pen=pg.mkPen(_LINE, width=2), symbol="o", symbolSize=7, symbolBrush=_LINE
        )
        self._note = pg.TextItem(color=text, anchor=(0.5, 0.5))
        self._note.setPos(0.5, 0.5)
        self.addItem(self._note)
        self.title = ""

    def set_calibration(self, calibration: Calibration, group: str) -> None:
        """Bins with studies as points joined by a line; grey bars: share of the studies."""
        filled = [b for b in calibration.bins if b.count]
        self._curve.setData([b.mean_predicted for b in filled], [b.observed for b in filled])
        n = max(calibration.n, 1)
        self._bars.setOpts(
            x=[(b.low + b.high) / 2 for b in calibration.bins],
            height=[b.count / n for b in calibration.bins],
            width=[(b.high - b.low) * 0.9 for b in calibration.bins],
        )
        if calibration.n:
            c = calibration
            self.title = f"Reliability — {group} (ECE {c.ece:.3f}, Brier {c.brier:.3f})"
            self._note.setText("")
        else:
            self.title = f"Reliability — {group}"
            self._note.setText("no scored studies")
        self.getPlotItem().setTitle(self.title, color=self._text.name(), size="9pt")

    def points(self) -> tuple[list[float], list[float]]:
        """The (mean predicted, observed) points drawn."""
        x, y = self._curve.getData()
        return ([] if x is None else list(x)), ([] if y is None else list(y))
