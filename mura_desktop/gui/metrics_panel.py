"""Study-level metrics of a scoring run: table per body part, ROC curve, confusion matrix.

The panel only displays; every number comes from ``mura_desktop.core.metrics`` so the viewer,
the CLI and the trainer agree. ``set_results`` is cheap enough to call every few hundred
milliseconds while a dataset is being scored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mura_desktop.core.metrics import (
    NOT_AVAILABLE,
    OVERALL,
    BinaryMetrics,
    roc_curve,
    study_metrics,
)
from mura_desktop.core.results import StudyResult

COLUMNS = ("Group", "n", "Abnormal", "κ", "AUROC", "Sensitivity", "Specificity", "Accuracy", "F1")
_HEADERS = ("Group", "n", "Abn.", "κ", "AUROC", "Sens.", "Spec.", "Acc.", "F1")
_FIELDS = ("kappa", "auroc", "sensitivity", "specificity", "accuracy", "f1")

_CORRECT = QColor(46, 160, 67)
_WRONG = QColor(215, 58, 73)


class MetricsPanel(QWidget):
    """κ, AUROC, sensitivity, specificity, accuracy and F1 overall and per body part,
    with the ROC curve and confusion matrix of the group selected in the table."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._metrics: dict[str, BinaryMetrics] = {}
        self._scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._group = OVERALL

        self._summary = QLabel()
        self._summary.setWordWrap(True)

        self._message = QLabel()
        self._message.setWordWrap(True)
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setMargin(24)

        self._table = QTableWidget(0, len(COLUMNS))
        self._table.setHorizontalHeaderLabels(_HEADERS)
        for col, name in enumerate(COLUMNS):
            self._table.horizontalHeaderItem(col).setToolTip(name)
        self._table.verticalHeader().setVisible(False)
        self._table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self._table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self._table.setToolTip("Select a row to show its ROC curve and confusion matrix")
        self._table.itemSelectionChanged.connect(self._on_row_selected)

        self._roc = self._make_roc_plot()
        self._confusion = self._make_confusion_table()
        self._confusion_title = QLabel()
        self._confusion_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._confusion_title.setWordWrap(True)

        confusion_box = QVBoxLayout()
        confusion_box.addWidget(self._confusion_title)
        confusion_box.addWidget(self._confusion, 1)
        plots = QHBoxLayout()
        plots.addWidget(self._roc, 3)
        plots.addLayout(confusion_box, 2)

        self._body = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self._body.addWidget(self._table, 0, Qt.AlignmentFlag.AlignTop)
        self._body.addLayout(plots, 1)
        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.addWidget(self._summary)
        content_layout.addLayout(self._body, 1)

        self._pages = QStackedWidget()
        self._pages.addWidget(self._message)
        self._pages.addWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._pages)
        self.set_results([])

    def resizeEvent(self, event: QResizeEvent) -> None:
        # side by side in a wide, short dock; stacked otherwise
        wide = event.size().width() > 2 * event.size().height()
        self._body.setDirection(
            QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        )
        super().resizeEvent(event)

    # public API ---------------------------------------------------------------------------

    def set_results(self, results: Sequence[StudyResult], threshold: float | None = None) -> None:
        """Show metrics of the labelled, scored studies in ``results``.

        ``threshold`` defaults to the studies' own rule threshold. Studies without a label
        or without a score yet are counted in the summary line and otherwise ignored.
        """
        scored = [r for r in results if r.probability is not None]
        usable = [r for r in scored if r.label is not None]
        self._metrics = study_metrics(usable, threshold)
        if not self._metrics:
            self._scores = {}
            self._show_message(len(results), len(scored))
            return
        self._scores = _group_scores(usable)
        if self._group not in self._metrics:
            self._group = OVERALL
        overall = self._metrics[OVERALL]
        self._summary.setText(
            f"Study-level metrics at threshold {overall.threshold:.2f} on "
            f"{len(usable):,} labelled, scored studies ({overall.n_positive:,} abnormal)"
            + _unused_note(len(results), len(scored), len(usable))
        )
        self._fill_table()
        self._draw_group()
        self._pages.setCurrentIndex(1)

    def metrics(self) -> dict[str, BinaryMetrics]:
        """The metrics shown, keyed by ``"ALL"`` and body part; empty when none."""
        return dict(self._metrics)

    def selected_group(self) -> str:
        return self._group

    def select_group(self, name: str) -> None:
        """Show the ROC curve and confusion matrix of ``name`` (``"ALL"`` or a body part)."""
        if name not in self._metrics:
            raise KeyError(f"no metrics for group {name!r}")
        self._table.selectRow(list(self._metrics).index(name))

    def message(self) -> str:
        """The explanation shown instead of metrics, or ``""`` when metrics are shown."""
        return self._message.text() if self._pages.currentIndex() == 0 else ""

    def table_text(self, group: str, column: str) -> str:
        """The text of one table cell, e.g. ``table_text("WRIST", "AUROC")``."""
        row = list(self._metrics).index(group)
        return self._table.item(row, COLUMNS.index(column)).text()

    def confusion_counts(self) -> np.ndarray:
        """The 2×2 matrix displayed (rows truth, columns prediction)."""
        return np.array(
            [[int(self._confusion.item(r, c).data(Qt.ItemDataRole.UserRole)) for c in (0, 1)]
             for r in (0, 1)]
        )  # fmt: skip

    # building -----------------------------------------------------------------------------

    def _make_roc_plot(self) -> pg.PlotWidget:
        base = self.palette().color(QPalette.ColorRole.Base)
        text = self.palette().color(QPalette.ColorRole.Text)
        plot = pg.PlotWidget(background=base)
        plot.setMinimumSize(200, 180)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setXRange(0, 1, padding=0.02)
        plot.setYRange(0, 1, padding=0.02)
        plot.showGrid(x=True, y=True, alpha=0.25)
        for side, label in (("bottom", "1 − specificity"), ("left", "sensitivity")):
            axis = plot.getAxis(side)
            axis.setPen(pg.mkPen(text))
            axis.setTextPen(pg.mkPen(text))
            axis.setLabel(label, color=text.name())
        grey = QColor(text)
        grey.setAlpha(110)
        plot.plot([0, 1], [0, 1], pen=pg.mkPen(grey, width=1, style=Qt.PenStyle.DashLine))
        self._roc_curve = plot.plot([], [], pen=pg.mkPen(QColor(31, 119, 180), width=2))
        self._roc_point = pg.ScatterPlotItem(
            size=11, brush=pg.mkBrush(_WRONG), pen=pg.mkPen(text, width=1)
        )
        plot.addItem(self._roc_point)
        self._roc_point_label = pg.TextItem(color=text, anchor=(0, 0))
        plot.addItem(self._roc_point_label)
        self._roc_note = pg.TextItem(color=text, anchor=(0.5, 0.5))
        self._roc_note.setPos(0.5, 0.5)
        plot.addItem(self._roc_note)
        self._roc_text_color = text
        return plot

    def _make_confusion_table(self) -> QTableWidget:
        table = QTableWidget(2, 2)
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
        return table

    # updating -----------------------------------------------------------------------------

    def _show_message(self, n_results: int, n_scored: int) -> None:
        if n_results == 0:
            text = "No scored studies yet.\nMetrics appear here while a dataset is scored."
        elif n_scored == 0:
            text = f"Scoring {n_results:,} studies…\nMetrics appear as the first ones finish."
        else:
            text = (
                "Metrics need ground truth labels.\n"
                f"None of the {n_scored:,} scored studies has a known label. Labels come from "
                "MURA folder names (study1_positive / study1_negative) or the dataset's "
                "*_labeled_studies.csv files."
            )
        self._message.setText(text)
        self._pages.setCurrentIndex(0)

    def _fill_table(self) -> None:
        table = self._table
        table.blockSignals(True)
        table.setRowCount(len(self._metrics))
        for row, (name, m) in enumerate(self._metrics.items()):
            values = [name, f"{m.n:,}", f"{m.n_positive:,}"]
            values += [m.text(f) for f in _FIELDS]
            reasons = ["", "", ""] + [m.undefined.get(f, "") for f in _FIELDS]
            for col, (value, reason) in enumerate(zip(values, reasons, strict=True)):
                item = table.item(row, col)
                if item is None:
                    item = QTableWidgetItem()
                    align = Qt.AlignmentFlag.AlignLeft if col == 0 else Qt.AlignmentFlag.AlignRight
                    item.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
                    table.setItem(row, col, item)
                item.setText(value)
                item.setToolTip(f"{NOT_AVAILABLE}: {reason}" if reason else "")
            if name == OVERALL:
                bold = table.item(row, 0).font()
                bold.setBold(True)
                for col in range(len(COLUMNS)):
                    table.item(row, col).setFont(bold)
        table.selectRow(list(self._metrics).index(self._group))
        table.blockSignals(False)
        # the stretched (equal) columns never shrink below their content: the plots give way
        header = table.horizontalHeader()
        widths = [
            max(table.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in range(len(COLUMNS))
        ]
        needed = widths[0] + (len(widths) - 1) * max(widths[1:])
        table.setMinimumWidth(needed + 2 * table.frameWidth() + 4)
        # every row visible: at most ALL, seven body parts and UNKNOWN
        row_height = table.verticalHeader().defaultSectionSize()
        chrome = header.sizeHint().height() + 2 * table.frameWidth() + 4
        table.setFixedHeight(chrome + row_height * table.rowCount())

    def _on_row_selected(self) -> None:
        rows = self._table.selectionModel().selectedRows()
        if not rows:
            return
        self._group = list(self._metrics)[rows[0].row()]
        self._draw_group()

    def _draw_group(self) -> None:
        m = self._metrics[self._group]
        labels, scores = self._scores[self._group]
        plot = self._roc.getPlotItem()
        if math.isnan(m.auroc):
            self._roc_curve.setData([], [])
            self._roc_point.setData([], [])
            self._roc_point_label.setText("")
            self._roc_note.setText("ROC needs both normal and\nabnormal studies")
            plot.setTitle(f"ROC — {self._group}", color=self._roc_text_color.name())
        else:
            fpr, tpr, _ = roc_curve(labels, scores)
            self._roc_curve.setData(fpr, tpr)
            x, y = 1.0 - m.specificity, m.sensitivity
            self._roc_point.setData([x], [y])
            self._roc_point_label.setText(f"  threshold {m.threshold:.2f}")
            self._roc_point_label.setPos(x, y)
            self._roc_note.setText("")
            plot.setTitle(
                f"ROC — {self._group}  (AUROC {m.auroc:.3f})", color=self._roc_text_color.name()
            )
        self._confusion_title.setText(
            f"Confusion matrix — {self._group} (n = {m.n:,}, threshold {m.threshold:.2f})"
        )
        matrix = m.confusion
        for r in (0, 1):
            row_total = int(matrix[r].sum())
            for c in (0, 1):
                count = int(matrix[r, c])
                share = count / row_total if row_total else 0.0
                item = self._confusion.item(r, c)
                item.setData(Qt.ItemDataRole.UserRole, count)
                item.setText(f"{count:,}\n{share:.0%}" if row_total else f"{count:,}")
                color = QColor(_CORRECT if r == c else _WRONG)
                color.setAlphaF(0.12 + 0.6 * share)
                item.setBackground(QBrush(color))


def _group_scores(studies: Sequence[StudyResult]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Labels and scores per group, with the same grouping as ``study_metrics``."""
    groups: dict[str, list[StudyResult]] = {OVERALL: list(studies)}
    for s in studies:
        groups.setdefault(s.body_part or "UNKNOWN", []).append(s)
    return {
        name: (
            np.fromiter((s.label for s in group), dtype=np.int8, count=len(group)),
            np.fromiter((s.probability for s in group), dtype=np.float64, count=len(group)),
        )
        for name, group in groups.items()
    }


def _unused_note(n_results: int, n_scored: int, n_usable: int) -> str:
    parts = []
    if n_results > n_scored:
        parts.append(f"{n_results - n_scored:,} not scored yet or failed")
    if n_scored > n_usable:
        parts.append(f"{n_scored - n_usable:,} without a label")
    return f"; {', '.join(parts)}." if parts else "."
