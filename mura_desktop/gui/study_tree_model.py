"""The study list's item model: a dataset → body part → patient → study tree over plain nodes.

``StudyTreeModel`` is a hand-written ``QAbstractItemModel`` over plain Python nodes, so a
dataset of fifteen thousand studies builds in a fraction of a second and a new score only
touches its own row; it also sorts, in Python (see its docstring). The columns, the roles
and the texts and colours of a study's row are here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from mura_desktop.core.display import DISAGREE_COLOUR, VERDICT_COLOURS
from mura_desktop.core.labels import label_word
from mura_desktop.core.results import StudyResult
from mura_desktop.core.study import BODY_PARTS, Study

DATASET, BODY_PART, PATIENT, STUDY = range(4)
UNKNOWN_PART = "Unknown part"
UNKNOWN_PATIENT = "Unknown patient"

UID_ROLE = Qt.ItemDataRole.UserRole + 1
DICOM_UID_PREFIX = "dicom:"

COLUMNS = ("Study", "Part", "Views", "Truth", "Score", "Verdict")
COL_NAME, COL_PART, COL_VIEWS, COL_TRUTH, COL_SCORE, COL_VERDICT = range(len(COLUMNS))
# Narrow on purpose: the study name needs most of the dock. Truth and verdict are short
# words here ("abn.", "norm."), colour-coded, with the full words in the tooltip.
COLUMN_WIDTHS = {COL_PART: 64, COL_VIEWS: 40, COL_TRUTH: 50, COL_SCORE: 46, COL_VERDICT: 52}
SHORT_WORDS = {"abnormal": "abn.", "normal": "norm.", "indeterminate": "indet.", "unscored": "—"}

VERDICT_COLORS = {verdict: QColor(colour) for verdict, colour in VERDICT_COLOURS.items()}


def truth_text(label: int | None) -> str:
    return label_word(label)


def leaf_label(study: Study) -> str:
    """A study's row under its patient: a DICOM study by its header name (description and
    date, without the patient shown above it), any other by its folder. The flat list puts
    the patient in front; the body part has its own column there."""
    if study.uid.startswith(DICOM_UID_PREFIX) or study.folder is None:
        prefix = f"{study.patient_id}/" if study.patient_id else ""
        return study.name.removeprefix(prefix) or study.name
    return study.folder.name


def disagrees(result: StudyResult | None) -> bool:
    """Ground truth known, study scored, and the binary decision differs from the truth."""
    return (
        result is not None
        and result.label is not None
        and result.predicted_label is not None
        and result.predicted_label != result.label
    )


@dataclass(eq=False)
class _Node:
    kind: int
    label: str
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)
    row: int = 0
    study: Study | None = None
    order: int = 0  # position as built, the order of "unsorted"

    def add(self, child: _Node) -> _Node:
        child.parent = self
        child.row = child.order = len(self.children)
        self.children.append(child)
        return child


class StudyTreeModel(QAbstractItemModel):
    """Studies grouped (or not) under dataset, body part and patient nodes, with scores.

    Sorting is done here, in Python, once per request (``sort``), rather than by the proxy
    comparing rows through ``data()``: with fifteen thousand studies that is 20 ms instead
    of seconds, and a new score does not move its row while the user is looking.
    ``resort`` applies the current order again.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._root = _Node(DATASET, "")
        self._leaf: dict[str, _Node] = {}
        self._results: Mapping[str, StudyResult] = {}
        self._grouped = True
        self._groups: list[tuple[str, list[Study]]] = []
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder

    # --- content ------------------------------------------------------------------------

    def set_studies(
        self,
        groups: list[tuple[str, list[Study]]],
        results: Mapping[str, StudyResult],
        grouped: bool = True,
    ) -> None:
        """Replace everything. ``groups`` pairs a dataset label with its studies; ``results``
        is read live (the caller updates it and calls ``result_changed``)."""
        self.beginResetModel()
        self._groups = groups
        self._results = results
        self._grouped = grouped
        self._root = _Node(DATASET, "")
        self._leaf = {}
        for label, studies in groups:
            if grouped:
                self._add_grouped(label, studies)
            else:
                for study in studies:
                    label = "/".join(filter(None, (study.patient_id, leaf_label(study))))
                    self._leaf[study.uid] = self._root.add(_Node(STUDY, label, study=study))
        self._sort_children(self._root)
        self.endResetModel()

    def set_grouped(self, grouped: bool) -> None:
        if grouped != self._grouped:
            self.set_studies(self._groups, self._results, grouped)

    @property
    def grouped(self) -> bool:
        return self._grouped

    def _add_grouped(self, label: str, studies: list[Study]) -> None:
        dataset = self._root.add(_Node(DATASET, label))
        parts: dict[str, _Node] = {}
        patients: dict[tuple[str, str], _Node] = {}
        order = {p: i for i, p in enumerate(BODY_PARTS)}
        for study in sorted(studies, key=lambda s: order.get(s.body_part or "", len(order))):
            part = study.body_part or UNKNOWN_PART
            part_node = parts.get(part)
            if part_node is None:
                part_node = parts[part] = dataset.add(_Node(BODY_PART, part))
            patient = study.patient_id or UNKNOWN_PATIENT
            patient_node = patients.get((part, patient))
            if patient_node is None:
                patient_node = patients[(part, patient)] = part_node.add(_Node(PATIENT, patient))
            self._leaf[study.uid] = patient_node.add(_Node(STUDY, leaf_label(study), study=study))

    def result_changed(self, uid: str) -> None:
        node = self._leaf.get(uid)
        if node is not None:
            self.dataChanged.emit(
                self.createIndex(node.row, COL_TRUTH, node),
                self.createIndex(node.row, COL_VERDICT, node),
            )

    def all_results_changed(self) -> None:
        """After many results changed at once (a results file, a new threshold)."""
        self.resort()

    # --- sorting ------------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order every level by ``column`` (-1: as built); groups stay ordered by name."""
        self._sort_column, self._sort_order = column, order
        self.resort()

    def resort(self) -> None:
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        nodes = [(self._node(index), index.column()) for index in old]
        self._sort_children(self._root)
        new = [
            QModelIndex() if node is None else self.createIndex(node.row, column, node)
            for node, column in nodes
        ]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    def _sort_children(self, node: _Node) -> None:
        if not node.children:
            return
        if node.children[0].study is None or self._sort_column < 0:
            node.children.sort(key=lambda n: n.order)
        else:
            node.children.sort(
                key=lambda n: self._sort_key(n, self._sort_column),
                reverse=self._sort_order == Qt.SortOrder.DescendingOrder,
            )
        for row, child in enumerate(node.children):
            child.row = row
            self._sort_children(child)

    def _sort_key(self, node: _Node, column: int):
        study = node.study
        result = self._results.get(study.uid)
        if column == COL_SCORE:
            return -1.0 if result is None or result.probability is None else result.probability
        if column == COL_VIEWS:
            return len(study.views)
        return str(self._study_text(node, study, result, column) or "").casefold()

    # --- lookups ------------------------------------------------------------------------

    def study_at(self, index: QModelIndex) -> Study | None:
        node = self._node(index)
        return node.study if node is not None else None

    def index_of(self, uid: str) -> QModelIndex:
        node = self._leaf.get(uid)
        return QModelIndex() if node is None else self.createIndex(node.row, 0, node)

    def result_at(self, index: QModelIndex) -> StudyResult | None:
        node = self._node(index)
        if node is None or node.study is None:
            return None
        return self._results.get(node.study.uid)

    @property
    def results(self) -> Mapping[str, StudyResult]:
        return self._results

    @property
    def n_studies(self) -> int:
        return len(self._leaf)

    @property
    def has_labels(self) -> bool:
        return any(node.study.label is not None for node in self._leaf.values() if node.study)

    def _node(self, index: QModelIndex) -> _Node | None:
        return index.internalPointer() if index.isValid() else None

    # --- QAbstractItemModel -------------------------------------------------------------

    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        node = self._node(parent) or self._root
        if 0 <= row < len(node.children) and 0 <= column < len(COLUMNS):
            return self.createIndex(row, column, node.children[row])
        return QModelIndex()

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        node = self._node(index)
        if node is None or node.parent is None or node.parent is self._root:
            return QModelIndex()
        return self.createIndex(node.parent.row, 0, node.parent)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        node = self._node(parent) or self._root
        return len(node.children)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        node = self._node(index)
        if node is None:
            return None
        column = index.column()
        if node.study is None:
            return self._group_data(node, column, role)
        study = node.study
        result = self._results.get(study.uid)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._study_text(node, study, result, column)
        if role == UID_ROLE:
            return study.uid
        if role == Qt.ItemDataRole.ForegroundRole and result:
            if column == COL_VERDICT:
                color = VERDICT_COLORS.get(result.verdict or "")
                return QBrush(color) if color is not None else None
            if column == COL_TRUTH and disagrees(result):
                return QBrush(QColor(DISAGREE_COLOUR))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(study, result)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (COL_VIEWS, COL_SCORE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _group_data(self, node: _Node, column: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole and column == COL_NAME:
            return f"{node.label} ({_count_studies(node)})"
        if role == Qt.ItemDataRole.ToolTipRole:
            return node.label
        if role == Qt.ItemDataRole.FontRole and node.kind in (DATASET, BODY_PART):
            font = QFont()
            font.setBold(True)
            return font
        return None

    def _study_text(self, node: _Node, study: Study, result: StudyResult | None, column: int):
        if column == COL_NAME:
            return node.label
        if column == COL_PART:
            return study.body_part or (
                result.predicted_body_part.lower() if result and result.predicted_body_part else ""
            )
        if column == COL_VIEWS:
            return str(len(study.views))
        if column == COL_TRUTH:
            truth = SHORT_WORDS.get(truth_text(study.label), "")
            return truth + (" ≠" if disagrees(result) else "")
        if result is None:
            return ""
        if column == COL_SCORE:
            return "" if result.probability is None else f"{result.probability:.3f}"
        if column == COL_VERDICT:
            if result.verdict is None:
                return SHORT_WORDS["unscored"] if result.views else ""
            return SHORT_WORDS.get(result.verdict, result.verdict)
        return None

    def _tooltip(self, study: Study, result: StudyResult | None) -> str:
        lines = [study.name, f"{len(study.views)} view(s)"]
        if study.label is not None:
            lines.append(f"ground truth: {truth_text(study.label)}")
        if result is not None and result.verdict is not None:
            lines.append(f"model: {result.verdict} (p = {result.probability:.3f})")
        if study.folder is not None:
            lines.append(str(study.folder))
        if study.uid.startswith(DICOM_UID_PREFIX):
            lines.append(f"Study Instance UID {study.uid.removeprefix(DICOM_UID_PREFIX)}")
        if disagrees(result):
            lines.append("≠ the model's decision differs from the ground truth")
        if result is not None and result.n_failed:
            lines.append(f"{result.n_failed} view(s) could not be read")
        return "\n".join(lines)


def _count_studies(node: _Node) -> int:
    if node.kind == PATIENT:
        return len(node.children)
    return sum(_count_studies(c) for c in node.children)
