"""The train window's live plots: losses on one side, validation κ and AUROC on the other.

``TrainingPlots`` draws the points a ``TrainingCurves`` holds; it knows nothing of the
trainer process or of how the records were read.
"""

from __future__ import annotations

import math

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QHBoxLayout, QWidget

from mura_desktop.gui.pyqtgraph_setup import pg
from mura_desktop.gui.training_metrics import TrainingCurves


class TrainingPlots(QWidget):
    """The loss plot (per-step losses faint under the per-epoch ones) and the score plot."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        base = self.palette().color(QPalette.ColorRole.Base)
        text = self.palette().color(QPalette.ColorRole.Text)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        # legends where the curves usually are not: losses fall, scores rise
        self._loss_plot = _plot(base, text, "Loss", "loss", (-10, 10))
        self._score_plot = _plot(base, text, "Validation κ and AUROC", "", (-10, -30))
        self._score_plot.setYRange(0, 1, padding=0.05)
        row.addWidget(self._loss_plot)
        row.addWidget(self._score_plot)
        faint = QColor(31, 119, 180, 90)
        self._step_curve = self._loss_plot.plot([], [], pen=pg.mkPen(faint, width=1))
        self._train_curve = _line(self._loss_plot, "train", QColor(31, 119, 180))
        self._valid_curve = _line(self._loss_plot, "valid", QColor(255, 127, 14))
        self._kappa_curve = _line(self._score_plot, "κ", QColor(44, 160, 44))
        self._auroc_curve = _line(self._score_plot, "AUROC", QColor(148, 103, 189))

    def redraw(self, curves: TrainingCurves, planned_epochs: int) -> None:
        """Show ``curves``; the epoch axis runs to the run's length (``planned_epochs`` until
        the trainer has said how many epochs it runs)."""
        c = curves
        self._train_curve.setData(c.epochs, c.train_loss, connect="finite")
        self._valid_curve.setData(c.epochs, c.valid_loss, connect="finite")
        self._kappa_curve.setData(c.epochs, c.kappa, connect="finite")
        self._auroc_curve.setData(c.epochs, c.auroc, connect="finite")
        self._step_curve.setData(c.steps, c.step_loss)
        finite = [v for v in (*c.kappa, *c.auroc) if not math.isnan(v)]
        self._score_plot.setYRange(min([0.0, *finite]), 1.0, padding=0.05)
        last_epoch = max(c.total_epochs or planned_epochs, len(c.epochs), 1)
        for plot in (self._loss_plot, self._score_plot):
            plot.setXRange(0, last_epoch, padding=0.03)


def _plot(
    base: QColor, text: QColor, title: str, y_label: str, legend_offset: tuple[int, int]
) -> pg.PlotWidget:
    plot = pg.PlotWidget(background=base)
    plot.setTitle(title, color=text.name())
    plot.setMinimumHeight(180)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.addLegend(offset=legend_offset, labelTextColor=text)
    for side, label in (("bottom", "epoch"), ("left", y_label)):
        axis = plot.getAxis(side)
        axis.enableAutoSIPrefix(False)
        axis.setPen(pg.mkPen(text))
        axis.setTextPen(pg.mkPen(text))
        if label:
            axis.setLabel(label, color=text.name())
    return plot


def _line(plot: pg.PlotWidget, name: str, colour: QColor) -> pg.PlotDataItem:
    return plot.plot(
        [],
        [],
        name=name,
        pen=pg.mkPen(colour, width=2),
        symbol="o",
        symbolSize=6,
        symbolBrush=colour,
        symbolPen=colour,
    )
