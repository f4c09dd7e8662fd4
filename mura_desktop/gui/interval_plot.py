"""κ and AUROC per group with their 95% intervals as error bars."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

from mura_desktop.core.stats.summary import StudyStatistics
from mura_desktop.gui.plot_style import style_axes
from mura_desktop.gui.pyqtgraph_setup import pg

SERIES = (("kappa", "κ", QColor(214, 39, 40)), ("auroc", "AUROC", QColor(31, 119, 180)))
_OFFSET = 0.15


class IntervalPlot(pg.PlotWidget):
    """One column per group (``ALL`` first); a point per metric, a bar where it has an
    interval. Groups whose metric is undefined get no point."""

    def __init__(self, parent: QWidget | None = None) -> None:
        base = parent.palette() if parent is not None else QPalette()
        super().__init__(parent, background=base.color(QPalette.ColorRole.Base))
        text = base.color(QPalette.ColorRole.Text)
        self._text = text
        self.setMinimumSize(260, 140)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.showGrid(x=False, y=True, alpha=0.25)
        style_axes(self, text)
        self._points: dict[str, pg.ScatterPlotItem] = {}
        self._bars: dict[str, pg.ErrorBarItem] = {}
        for key, _, colour in SERIES:
            bars = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), beam=0.12, pen=pg.mkPen(colour))
            points = pg.ScatterPlotItem(size=8, brush=pg.mkBrush(colour), pen=pg.mkPen(colour))
            self.addItem(bars)
            self.addItem(points)
            self._points[key], self._bars[key] = points, bars
        self.title = ""

    def set_statistics(self, stats: StudyStatistics | None, metrics: dict | None = None) -> None:
        """Points from ``stats`` (or from plain ``metrics`` while intervals are computed)."""
        groups = stats.metrics if stats is not None else (metrics or {})
        names = list(groups)
        self.getAxis("bottom").setTicks([[(i, name) for i, name in enumerate(names)]])
        for offset, (key, _, _) in zip((-_OFFSET, _OFFSET), SERIES, strict=True):
            xs, ys, lows, highs = [], [], [], []
            for i, name in enumerate(names):
                value = getattr(groups[name], key)
                if math.isnan(value):
                    continue
                xs.append(i + offset)
                ys.append(value)
                interval = stats.groups[name].intervals[key] if stats is not None else None
                ok = interval is not None and interval.ok
                lows.append(value - interval.low if ok else 0.0)
                highs.append(interval.high - value if ok else 0.0)
            self._points[key].setData(xs, ys)
            self._bars[key].setData(
                x=np.array(xs), y=np.array(ys), top=np.array(highs), bottom=np.array(lows)
            )
        self.setXRange(-0.6, len(names) - 0.4, padding=0)
        self.title = (
            "with 95% intervals (patient bootstrap)" if stats is not None else "(intervals …)"
        )
        key = "  ".join(
            f"<span style='color:{colour.name()}'>●</span> {label}" for _, label, colour in SERIES
        )
        self.getPlotItem().setTitle(f"{key}  {self.title}", color=self._text.name())

    def bars(self, key: str) -> list[tuple[float, float]]:
        """The (low, high) ends drawn for ``key``, one per point; equal ends: no bar."""
        opts = self._bars[key].opts
        y, top, bottom = (np.asarray(opts[k], dtype=float) for k in ("y", "top", "bottom"))
        return [(float(a - b), float(a + c)) for a, b, c in zip(y, bottom, top, strict=True)]
