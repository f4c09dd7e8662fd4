"""The metrics panel's charts of one group: its ROC curve and its confusion matrix.

``RocPlot`` draws the ROC curve of the group selected in the metrics table with the
operating point of its threshold; ``ConfusionMatrix`` shows its 2×2 table of counts, each
cell shaded by its share of the row.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mura_desktop.core.metrics import BinaryMetrics, roc_curve
from mura_desktop.gui.pyqtgraph_setup import pg
from mura_desktop.gui.reliability_plot import unit_square

_CORRECT = QColor(46, 160, 67)
_WRONG = QColor(215, 58, 73)


class RocPlot(pg.PlotWidget):
    """``set_group`` draws one group's ROC curve and operating point."""

    def __init__(self, parent: QWidget | None = None) -> None:
        base = parent.palette() if parent is not None else QPalette()
        super().__init__(parent, background=base.color(QPalette.ColorRole.Base))
        text = base.color(QPalette.ColorRole.Text)
        unit_square(self, text, "1 − specificity", "sensitivity")
        self._curve = self.plot([], [], pen=pg.mkPen(QColor(31, 119, 180), width=2))
        self._point = pg.ScatterPlotItem(
            size=11, brush=pg.mkBrush(_WRONG), pen=pg.mkPen(text, width=1)
        )
        self.addItem(self._point)
        self._point_label = pg.TextItem(color=text, anchor=(0, 0))
        self.addItem(self._point_label)
        self._note = pg.TextItem(color=text, anchor=(0.5, 0.5))
        self._note.setPos(0.5, 0.5)
        self.addItem(self._note)
        self._text_color = text

    def set_group(
        self, group: str, m: BinaryMetrics, labels: np.ndarray, scores: np.ndarray
    ) -> None:
        plot = self.getPlotItem()
        if math.isnan(m.auroc):
            self._curve.setData([], [])
            self._point.setData([], [])
            self._point_label.setText("")
            self._note.setText("ROC needs both normal and\nabnormal studies")
            plot.setTitle(f"ROC — {group}", color=self._text_color.name())
        else:
            fpr, tpr, _ = roc_curve(labels, scores)
            self._curve.setData(fpr, tpr)
            x, y = 1.0 - m.specificity, m.sensitivity
            self._point.setData([x], [y])
            self._point_label.setText(f"  threshold {m.threshold:.2f}")
            self._point_label.setPos(x, y)
            self._note.setText("")
            plot.setTitle(f"ROC — {group}  (AUROC {m.auroc:.3f})", color=self._text_color.name())


class ConfusionMatrix(QWidget):
    """A title line over the 2×2 table (rows truth, columns the model's decision)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = QLabel()
        self._title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._title.setWordWrap(True)
        self._table = table = QTableWidget(2, 2)
        table.setHorizontalHeaderLabels(["predicted\nnormal", "predicted\nabnormal"])
        table.setVerticalHeaderLabels(["truly\nnormal", "truly\nabnormal"])
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for header in (table.horizontalHeader(), table.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        table.setMinimumSize(160, 120)
        table.setToolTip("Rows: ground truth. Columns: the model's decision. % of the row.")
        font = table.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        for r in (0, 1):
            for c in (0, 1):
                item = QTableWidgetItem()
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setFont(font)
                table.setItem(r, c, item)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._title)
        layout.addWidget(table, 1)

    def set_group(self, group: str, m: BinaryMetrics) -> None:
        self._title.setText(
            f"Confusion matrix — {group} (n = {m.n:,}, threshold {m.threshold:.2f})"
        )
        matrix = m.confusion
        for r in (0, 1):
            row_total = int(matrix[r].sum())
            for c in (0, 1):
                count = int(matrix[r, c])
                share = count / row_total if row_total else 0.0
                item = self._table.item(r, c)
                item.setData(Qt.ItemDataRole.UserRole, count)
                item.setText(f"{count:,}\n{share:.0%}" if row_total else f"{count:,}")
                color = QColor(_CORRECT if r == c else _WRONG)
                color.setAlphaF(0.12 + 0.6 * share)
                item.setBackground(QBrush(color))

    def counts(self) -> np.ndarray:
        """The 2×2 matrix displayed (rows truth, columns prediction)."""
        return np.array(
            [[int(self._table.item(r, c).data(Qt.ItemDataRole.UserRole)) for c in (0, 1)]
             for r in (0, 1)]
        )  # fmt: skip
