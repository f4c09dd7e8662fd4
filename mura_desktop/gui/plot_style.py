"""How the metrics charts draw their axes."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem

from mura_desktop.gui.pyqtgraph_setup import pg


def style_axes(plot: pg.PlotWidget, text: QColor, labels: dict[str, str] | None = None) -> None:
    """The bottom and left axes in the text colour, labelled as ``labels`` says, and kept
    as pixmaps: an axis is mostly text, and redrawing it for every update of the curves
    took most of a chart's paint (held off the GUI thread while studies stream in)."""
    for side in ("bottom", "left"):
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen(text))
        axis.setTextPen(pg.mkPen(text))
        if labels and side in labels:
            axis.setLabel(labels[side], color=text.name())
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
