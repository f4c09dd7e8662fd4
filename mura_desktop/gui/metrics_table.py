"""The metrics panel's table: one row per group (overall, then body parts), with intervals.

``MetricsTable`` shows n, abnormal count, κ, AUROC, sensitivity, specificity, accuracy and
F1 of every group, each metric cell in two lines (the value, and its 95% interval under it
in smaller grey, drawn by ``_IntervalDelegate``), with the reasons for ``n/a`` in tooltips.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from mura_desktop.core.metrics import NOT_AVAILABLE, OVERALL, BinaryMetrics
from mura_desktop.core.stats.summary import StudyStatistics

COLUMNS = ("Group", "n", "Abnormal", "κ", "AUROC", "Sensitivity", "Specificity", "Accuracy", "F1")
_HEADERS = ("Group", "n", "Abn.", "κ", "AUROC", "Sens.", "Spec.", "Acc.", "F1")
_FIELDS = ("kappa", "auroc", "sensitivity", "specificity", "accuracy", "f1")
PENDING = "…"
INTERVAL_ROLE = Qt.ItemDataRole.UserRole + 1
_WIDEST_INTERVAL = "[-0.000, 0.000]"


class MetricsTable(QTableWidget):
    """The table of metrics; a row is selected (single selection) to pick a group."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(_HEADERS)
        for col, name in enumerate(COLUMNS):
            self.horizontalHeaderItem(col).setToolTip(name)
        self.verticalHeader().setVisible(False)
        two_lines = self.fontMetrics().height() + QFontMetrics(_small(self.font())).height() + 6
        self.verticalHeader().setDefaultSectionSize(two_lines)
        self.setItemDelegate(_IntervalDelegate(self))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.setToolTip(
            "Select a row to show its ROC curve, reliability diagram and confusion matrix"
        )

    def fill(self, metrics: dict[str, BinaryMetrics], selected: str) -> None:
        """Show ``metrics`` (keyed by group), the row of ``selected`` selected, without
        signalling the selection."""
        self.blockSignals(True)
        self.setRowCount(len(metrics))
        for row, (name, m) in enumerate(metrics.items()):
            values = [name, f"{m.n:,}", f"{m.n_positive:,}"]
            values += [m.text(f) for f in _FIELDS]
            reasons = ["", "", ""] + [m.undefined.get(f, "") for f in _FIELDS]
            for col, (value, reason) in enumerate(zip(values, reasons, strict=True)):
                item = self.item(row, col)
                if item is None:
                    item = QTableWidgetItem()
                    align = Qt.AlignmentFlag.AlignLeft if col == 0 else Qt.AlignmentFlag.AlignRight
                    item.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
                    self.setItem(row, col, item)
                item.setText(value)
                item.setToolTip(f"{NOT_AVAILABLE}: {reason}" if reason else "")
            if name == OVERALL:
                bold = self.item(row, 0).font()
                bold.setBold(True)
                for col in range(len(COLUMNS)):
                    self.item(row, col).setFont(bold)
        self.selectRow(list(metrics).index(selected))
        self.blockSignals(False)
        # the stretched (equal) columns never shrink below their content: the plots give way
        header = self.horizontalHeader()
        widths = [
            max(self.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in range(len(COLUMNS))
        ]
        needed = widths[0] + (len(widths) - 1) * max(widths[1:])
        self.setMinimumWidth(needed + 2 * self.frameWidth() + 4)
        # every row visible: at most ALL, seven body parts and UNKNOWN
        row_height = self.verticalHeader().defaultSectionSize()
        chrome = header.sizeHint().height() + 2 * self.frameWidth() + 4
        self.setFixedHeight(chrome + row_height * self.rowCount())

    def show_intervals(
        self, metrics: dict[str, BinaryMetrics], stats: StudyStatistics | None, failure: str
    ) -> None:
        """The interval line of every metric cell: the interval, ``…`` while ``stats`` is
        None, ``n/a: failed`` after a ``failure``, nothing where the metric itself is n/a."""
        for row, (name, m) in enumerate(metrics.items()):
            group = stats.groups.get(name) if stats is not None else None
            for field in _FIELDS:
                item = self.item(row, COLUMNS.index(_COLUMN_OF[field]))
                if field in m.undefined:
                    text = ""
                elif failure:
                    text = f"{NOT_AVAILABLE}: failed"
                elif group is None:
                    text = PENDING
                else:
                    text = group.intervals[field].text()
                item.setData(INTERVAL_ROLE, text)
                item.setToolTip(_cell_tip(m, field, group))
        self.viewport().update()


_COLUMN_OF = {
    "kappa": "κ", "auroc": "AUROC", "sensitivity": "Sensitivity", "specificity": "Specificity",
    "accuracy": "Accuracy", "f1": "F1",
}  # fmt: skip


def _cell_tip(m: BinaryMetrics, field: str, group) -> str:
    if field in m.undefined:
        return f"{NOT_AVAILABLE}: {m.undefined[field]}"
    if group is None:
        return f"{_COLUMN_OF[field]} {m.text(field)}; 95% interval {PENDING}"
    tip = f"{_COLUMN_OF[field]} {m.text(field)}; 95% interval {group.intervals[field].text()}"
    tip += " (patient bootstrap)"
    if field == "auroc":
        tip += f"; DeLong {group.auroc_delong.text()}"
    return tip


class _IntervalDelegate(QStyledItemDelegate):
    """A metric cell in two lines: the value, and under it its interval in smaller grey."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        interval = index.data(INTERVAL_ROLE)
        if not interval:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        value, opt.text = opt.text, ""
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        ink = opt.palette.color(role)
        rect = opt.rect.adjusted(4, 2, -4, -2)
        half = rect.height() // 2
        align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        painter.save()
        painter.setFont(opt.font)
        painter.setPen(ink)
        painter.drawText(rect.adjusted(0, 0, 0, -half), align, value)
        small = _small(opt.font)
        muted = QColor(ink)
        muted.setAlphaF(0.7)
        painter.setFont(small)
        painter.setPen(muted)
        shown = QFontMetrics(small).elidedText(interval, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect.adjusted(0, rect.height() - half, 0, 0), align, shown)
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        size = super().sizeHint(option, index)
        if not index.data(INTERVAL_ROLE):
            return size
        wide = QFontMetrics(_small(option.font)).horizontalAdvance(_WIDEST_INTERVAL) + 10
        return QSize(max(size.width(), wide), size.height())


def _small(font: QFont) -> QFont:
    small = QFont(font)
    small.setBold(False)
    small.setPointSizeF(font.pointSizeF() * 0.85)
    return small
