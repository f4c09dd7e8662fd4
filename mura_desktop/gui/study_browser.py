"""The study list: a dataset → body part → patient → study tree (or a flat list) with filters.

``StudyBrowser`` is the widget: the filter boxes, the tree view over ``StudyTreeModel``
(``study_tree_model``) through ``StudyFilterProxy`` (``study_filter``), selection and
keyboard navigation between the studies shown, and the count line under them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from mura_desktop.core.results import StudyResult
from mura_desktop.core.study import BODY_PARTS, Study
from mura_desktop.gui.study_filter import (
    A_AND_B,
    ANY,
    DISAGREE_CHOICES,
    PREDICTED_CHOICES,
    TRUTH_CHOICES,
    WITH_TRUTH,
    StudyFilterProxy,
)
from mura_desktop.gui.study_tree_model import (
    COL_NAME,
    COL_PART,
    COL_SCORE,
    COL_TRUTH,
    COL_VERDICT,
    COLUMN_WIDTHS,
    UID_ROLE,
    UNKNOWN_PART,
    StudyTreeModel,
)

SUMMARY_DELAY_MS = 300


@dataclass
class _Combo:
    widget: QComboBox
    key: str


class StudyBrowser(QWidget):
    """Filters above a tree of studies. Emits ``studySelected(uid)`` for the current study."""

    studySelected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = StudyTreeModel(self)
        self.proxy = StudyFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.tree = QTreeView()
        self.tree.setModel(self.proxy)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setItemDelegate(_RowToolTips(self))
        self.tree.setUniformRowHeights(True)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.tree.setAlternatingRowColors(True)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setIndentation(12)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(30)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        for col, width in COLUMN_WIDTHS.items():
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(col, width)
        self.tree.selectionModel().currentChanged.connect(self._on_current_changed)

        self._part = QComboBox()
        self._truth = QComboBox()
        self._truth.addItems(TRUTH_CHOICES)
        self._predicted = QComboBox()
        self._predicted.addItems(PREDICTED_CHOICES)
        self._disagree = QComboBox()
        self._disagree.addItems(DISAGREE_CHOICES)
        self._disagree.setToolTip(
            "with truth: studies whose predicted label differs from the ground truth; "
            "A and B: studies two compared results decide differently (Model ▸ Compare)"
        )
        self._search = QLineEdit()
        self._search.setPlaceholderText("Filter by name…")
        self._search.setClearButtonEnabled(True)
        self._summary = QLabel("")
        self._summary.setStyleSheet("color: gray;")

        self._part.currentTextChanged.connect(lambda v: self._filter(body_part=v))
        self._truth.currentTextChanged.connect(lambda v: self._filter(truth=v))
        self._predicted.currentTextChanged.connect(lambda v: self._filter(predicted=v))
        self._disagree.currentTextChanged.connect(
            lambda v: self._filter(disagreement_only=v == WITH_TRUTH, ab_only=v == A_AND_B)
        )
        self._search.textChanged.connect(lambda v: self._filter(text=v.strip()))
        self._summary_timer = QTimer(self)
        self._summary_timer.setSingleShot(True)
        self._summary_timer.setInterval(SUMMARY_DELAY_MS)
        self._summary_timer.timeout.connect(self._update_summary)

        filters = QGridLayout()
        filters.setContentsMargins(0, 0, 0, 0)
        filters.addWidget(QLabel("Part"), 0, 0)
        filters.addWidget(self._part, 0, 1)
        filters.addWidget(QLabel("Truth"), 0, 2)
        filters.addWidget(self._truth, 0, 3)
        filters.addWidget(QLabel("Predicted"), 1, 0)
        filters.addWidget(self._predicted, 1, 1)
        filters.addWidget(QLabel("Disagree"), 1, 2)
        filters.addWidget(self._disagree, 1, 3)
        filters.addWidget(self._search, 2, 0, 1, 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(filters)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self._summary)
        self._refill_parts([])

    # --- content ------------------------------------------------------------------------

    def set_collection(
        self,
        groups: list[tuple[str, list[Study]]],
        results: Mapping[str, StudyResult],
        grouped: bool = True,
    ) -> None:
        self.model.set_studies(groups, results, grouped)
        self._refill_parts(s for _, studies in groups for s in studies)
        self._after_layout(grouped)
        self._update_summary()

    def set_grouped(self, grouped: bool) -> None:
        uid = self.current_uid()
        self.model.set_grouped(grouped)
        self._after_layout(grouped)
        if uid is not None:
            self.select(uid)

    def _after_layout(self, grouped: bool) -> None:
        # Grouped, the body part is already the study's parent row.
        self.tree.setColumnHidden(COL_PART, grouped)
        # Flat names (patient/study) differ at their end; tree names at both ends.
        mode = Qt.TextElideMode.ElideMiddle if grouped else Qt.TextElideMode.ElideLeft
        self.tree.setTextElideMode(mode)
        self._show_filled_columns()
        if grouped:
            self._expand_top_levels()

    def _show_filled_columns(self) -> None:
        """Columns with nothing to show yet (no labels, no scores) leave their room to names."""
        self.tree.setColumnHidden(COL_TRUTH, not self.model.has_labels)
        for column in (COL_SCORE, COL_VERDICT):
            self.tree.setColumnHidden(column, not self.model.results)

    def result_changed(self, uid: str) -> None:
        self.model.result_changed(uid)
        if self.tree.isColumnHidden(COL_SCORE):
            self._show_filled_columns()
        if not self._summary_timer.isActive():
            self._summary_timer.start()

    def all_results_changed(self) -> None:
        self.model.all_results_changed()
        self.proxy.invalidate()
        self._show_filled_columns()
        self._update_summary()

    def resort(self) -> None:
        """Apply the current sort order again (new scores do not move rows by themselves)."""
        self.model.resort()

    def set_filter(self, **values: str | bool) -> None:
        """Set filters programmatically (menu actions, tests): same keys as the proxy."""
        widgets = {"body_part": self._part, "truth": self._truth, "predicted": self._predicted}
        for key, value in values.items():
            if key in widgets:
                widgets[key].setCurrentText(str(value))
            elif key == "disagreement_only":
                self._disagree.setCurrentText(WITH_TRUTH if value else ANY)
            elif key == "disagree":
                self._disagree.setCurrentText(str(value))
            elif key == "text":
                self._search.setText(str(value))
            else:
                raise KeyError(key)

    def set_comparison(self, uids: Iterable[str], name_b: str) -> None:
        """The studies A (these results) and B (``name_b``) decide differently, for the
        Disagree ▸ A and B filter."""
        if self._disagree.findText(A_AND_B) < 0:
            self._disagree.addItem(A_AND_B)
        index = self._disagree.findText(A_AND_B)
        self._disagree.setItemData(
            index,
            f"Studies this session and {name_b} decide differently",
            Qt.ItemDataRole.ToolTipRole,
        )
        self.proxy.set_filters(ab_disagreements=frozenset(uids))
        self._update_summary()

    # --- selection and navigation -------------------------------------------------------

    def current_uid(self) -> str | None:
        index = self.tree.currentIndex()
        return index.data(UID_ROLE) if index.isValid() else None

    def select(self, uid: str) -> bool:
        """Make ``uid`` current (expanding its groups); False if filtered out or unknown."""
        index = self.proxy.mapFromSource(self.model.index_of(uid))
        if not index.isValid():
            return False
        parent = index.parent()
        while parent.isValid():
            self.tree.expand(parent)
            parent = parent.parent()
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)
        return True

    def select_first(self) -> bool:
        first = self._adjacent_leaf(QModelIndex(), 1)
        if first is None:
            return False
        return self.select(first.data(UID_ROLE))

    def step(self, offset: int) -> bool:
        """Move to the next (+1) or previous (-1) visible study, in the order shown."""
        current = self.tree.currentIndex()
        if current.isValid() and current.column() != 0:
            current = current.siblingAtColumn(0)
        target = self._adjacent_leaf(current, offset)
        if target is None:
            return False
        return self.select(target.data(UID_ROLE))

    def visible_uids(self) -> list[str]:
        """Visible studies in display order (walks the whole proxy: for tests and exports)."""
        out: list[str] = []
        stack = [QModelIndex()]
        while stack:
            parent = stack.pop()
            rows = [self.proxy.index(r, 0, parent) for r in range(self.proxy.rowCount(parent))]
            for index in reversed(rows):
                stack.append(index)
            if parent.isValid() and parent.data(UID_ROLE) is not None:
                out.append(parent.data(UID_ROLE))
        return out

    def _adjacent_leaf(self, index: QModelIndex, offset: int) -> QModelIndex | None:
        """The next/previous study in pre-order from ``index`` (invalid: from the start/end)."""
        proxy = self.proxy
        forward = offset > 0

        def descend(node: QModelIndex) -> QModelIndex:
            while node.data(UID_ROLE) is None and proxy.rowCount(node) > 0:
                node = proxy.index(0 if forward else proxy.rowCount(node) - 1, 0, node)
            return node

        if not index.isValid():
            n = proxy.rowCount(QModelIndex())
            if n == 0:
                return None
            node = descend(proxy.index(0 if forward else n - 1, 0, QModelIndex()))
            if node.data(UID_ROLE) is not None:
                return node
            index = node
        node = index
        while True:
            parent = node.parent()
            row = node.row() + (1 if forward else -1)
            while not 0 <= row < proxy.rowCount(parent):
                if not parent.isValid():
                    return None
                node = parent
                parent = node.parent()
                row = node.row() + (1 if forward else -1)
            node = descend(proxy.index(row, 0, parent))
            if node.data(UID_ROLE) is not None:
                return node

    # --- internals ----------------------------------------------------------------------

    def tooltip(self, index: QModelIndex) -> str:
        """The tooltip of a row shown (``index`` of the tree's model, any column)."""
        return self.model.tooltip(self.proxy.mapToSource(index))

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        uid = current.data(UID_ROLE) if current.isValid() else None
        if uid is not None:
            self.studySelected.emit(uid)

    def _refill_parts(self, studies: Iterable[Study]) -> None:
        present = {s.body_part or UNKNOWN_PART for s in studies}
        ordered = [p for p in (*BODY_PARTS, UNKNOWN_PART) if p in present]
        self._part.blockSignals(True)
        self._part.clear()
        self._part.addItems([ANY, *ordered])
        self._part.blockSignals(False)
        self.proxy.set_filters(body_part=ANY)

    def _filter(self, **values: object) -> None:
        self.proxy.set_filters(**values)
        self._update_summary()

    def _expand_top_levels(self) -> None:
        for row in range(self.proxy.rowCount()):
            dataset = self.proxy.index(row, 0)
            self.tree.expand(dataset)

    def refresh_summary(self) -> None:
        """Update the count line now (it otherwise follows new scores with a short delay)."""
        self._summary_timer.stop()
        self._update_summary()

    def _update_summary(self) -> None:
        total = self.model.n_studies
        scored = sum(1 for r in self.model.results.values() if r.probability is not None)
        text = f"{total:,} stud{'y' if total == 1 else 'ies'} · {scored:,} scored"
        if self.proxy.active:
            text += f" · {len(self.visible_uids()):,} shown"
        self._summary.setText(text)


class _RowToolTips(QStyledItemDelegate):
    """Shows a row's tooltip over any of its cells, asking the browser for it then.

    Only ``helpEvent`` is Python's: Qt paints the cells without calling into Python."""

    def __init__(self, browser: StudyBrowser) -> None:
        super().__init__(browser)
        self._browser = browser

    def helpEvent(
        self,
        event: QHelpEvent,
        view: QAbstractItemView,
        option: QStyleOptionViewItem,
        index: QModelIndex,
    ) -> bool:
        if event.type() != QEvent.Type.ToolTip:
            return super().helpEvent(event, view, option, index)
        text = self._browser.tooltip(index)
        if not text:
            QToolTip.hideText()
            return False
        QToolTip.showText(event.globalPos(), text, view)
        return True
