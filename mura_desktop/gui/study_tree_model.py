"""The study list's item model: a dataset → body part → patient → study tree of Qt items.

``StudyTreeModel`` keeps every row's texts, colours and sort keys in Qt's own items (a
``QStandardItemModel``), so painting the list never calls into Python: a hand-written
Python model was called some 7,000 times a paint, and while a dataset was scored each step
to the next study held the GUI thread for 50-140 ms painting the list. A new score
rewrites its own row; sorting is Qt's, by keys stored with the items (see its docstring);
tooltips are written when asked for. The columns, the roles and the texts and colours of a
study's row are here too.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QStandardItem, QStandardItemModel

from mura_desktop.core.display import DISAGREE_COLOUR, VERDICT_COLOURS
from mura_desktop.core.labels import label_word
from mura_desktop.core.results import StudyResult
from mura_desktop.core.study import BODY_PARTS, Study

DATASET, BODY_PART, PATIENT, STUDY = range(4)
UNKNOWN_PART = "Unknown part"
UNKNOWN_PATIENT = "Unknown patient"

UID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # a study cell's key when its column is sorted
ORDER_ROLE = Qt.ItemDataRole.UserRole + 3  # a row's place as built: the order "unsorted"
DICOM_UID_PREFIX = "dicom:"

COLUMNS = ("Study", "Part", "Views", "Truth", "Score", "Verdict")
COL_NAME, COL_PART, COL_VIEWS, COL_TRUTH, COL_SCORE, COL_VERDICT = range(len(COLUMNS))
# Narrow on purpose: the study name needs most of the dock. Truth and verdict are short
# words here ("abn.", "norm."), colour-coded, with the full words in the tooltip.
COLUMN_WIDTHS = {COL_PART: 64, COL_VIEWS: 40, COL_TRUTH: 50, COL_SCORE: 46, COL_VERDICT: 52}
SHORT_WORDS = {"abnormal": "abn.", "normal": "norm.", "indeterminate": "indet.", "unscored": "—"}

VERDICT_BRUSHES = {verdict: QBrush(QColor(colour)) for verdict, colour in VERDICT_COLOURS.items()}
DISAGREE_BRUSH = QBrush(QColor(DISAGREE_COLOUR))


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
    if result is None or result.label is None:
        return False
    predicted = result.predicted_label
    return predicted is not None and predicted != result.label


class StudyTreeModel(QStandardItemModel):
    """Studies grouped (or not) under dataset, body part and patient rows, with scores.

    Sorting is Qt's (``QStandardItemModel.sort``, in C++) by each study cell's
    ``SORT_ROLE`` key: the score as a number, the other columns as case-folded text. Group
    rows carry no key and only their name cell, so they keep their order as built; ``-1``
    sorts every level by ``ORDER_ROLE``, the order as built. A new score does not move its
    row while the user is looking; ``resort`` applies the current order again.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self._leaf: dict[str, QStandardItem] = {}  # a study's uid → its name cell
        self._studies: dict[str, Study] = {}
        self._results: Mapping[str, StudyResult] = {}
        self._grouped = True
        self._groups: list[tuple[str, list[Study]]] = []
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._bold = QFont()
        self._bold.setBold(True)

    # --- content ------------------------------------------------------------------------

    def set_studies(
        self,
        groups: list[tuple[str, list[Study]]],
        results: Mapping[str, StudyResult],
        grouped: bool = True,
    ) -> None:
        """Replace everything. ``groups`` pairs a dataset label with its studies; ``results``
        is read live (the caller updates it and calls ``result_changed``)."""
        self._groups = groups
        self._results = results
        self._grouped = grouped
        self._leaf = {}
        self._studies = {}
        rows: list[QStandardItem | list[QStandardItem]] = []
        for label, studies in groups:
            if grouped:
                rows.append(self._grouped_rows(label, studies, len(rows)))
            else:
                for study in studies:
                    label = "/".join(filter(None, (study.patient_id, leaf_label(study))))
                    rows.append(self._study_row(study, label, len(rows)))
        # One reset, not a signal a row: the rows are inserted with the signals held.
        self.beginResetModel()
        self.blockSignals(True)
        try:
            self.removeRows(0, self.rowCount())
            for row in rows:
                self.appendRow(row)
        finally:
            self.blockSignals(False)
        self.endResetModel()
        self.resort()

    def set_grouped(self, grouped: bool) -> None:
        if grouped != self._grouped:
            self.set_studies(self._groups, self._results, grouped)

    @property
    def grouped(self) -> bool:
        return self._grouped

    def _grouped_rows(self, label: str, studies: list[Study], order: int) -> QStandardItem:
        order_of_part = {p: i for i, p in enumerate(BODY_PARTS)}
        dataset = self._group_item(DATASET, label, len(studies), order)
        n_part = Counter(s.body_part or UNKNOWN_PART for s in studies)
        n_patient = Counter(
            (s.body_part or UNKNOWN_PART, s.patient_id or UNKNOWN_PATIENT) for s in studies
        )
        parts: dict[str, QStandardItem] = {}
        patients: dict[tuple[str, str], QStandardItem] = {}
        for study in sorted(studies, key=lambda s: order_of_part.get(s.body_part or "", 99)):
            part = study.body_part or UNKNOWN_PART
            part_item = parts.get(part)
            if part_item is None:
                part_item = self._group_item(BODY_PART, part, n_part[part], dataset.rowCount())
                parts[part] = part_item
                dataset.appendRow(part_item)
            key = (part, study.patient_id or UNKNOWN_PATIENT)
            patient_item = patients.get(key)
            if patient_item is None:
                patient_item = self._group_item(
                    PATIENT, key[1], n_patient[key], part_item.rowCount()
                )
                patients[key] = patient_item
                part_item.appendRow(patient_item)
            patient_item.appendRow(
                self._study_row(study, leaf_label(study), patient_item.rowCount())
            )
        return dataset

    def _group_item(self, kind: int, label: str, n_studies: int, order: int) -> QStandardItem:
        item = QStandardItem(f"{label} ({n_studies})")
        item.setData(order, _ORDER)
        if kind in (DATASET, BODY_PART):
            item.setData(self._bold, _FONT)
        item.setColumnCount(len(COLUMNS))  # Qt sorts a level only as wide as the column
        return item

    def _study_row(self, study: Study, label: str, order: int) -> list[QStandardItem]:
        result = self._results.get(study.uid)
        disagree = disagrees(result)
        texts = _study_texts(study, result, disagree)
        name = QStandardItem(label)
        name.setData(study.uid, _UID)
        name.setData(order, _ORDER)
        name.setData(label.casefold(), _SORT)
        views = QStandardItem(texts[COL_VIEWS])
        views.setData(_RIGHT, _ALIGNMENT)
        views.setData(len(study.views), _SORT)
        part, truth = QStandardItem(texts[COL_PART]), QStandardItem(texts[COL_TRUTH])
        cells: list[QStandardItem | None] = [name, part, views, truth, None, None]
        if result is not None:
            cells[COL_SCORE], cells[COL_VERDICT] = _result_cells()
        self._leaf[study.uid] = name
        self._studies[study.uid] = study
        _set_keys_and_colours(cells, texts, result, disagree, fresh=True)
        return [cell for cell in cells if cell is not None]

    def _update_row(self, name: QStandardItem) -> None:
        """Write a study row's texts, keys and colours from its result again."""
        parent = name.parent() or self.invisibleRootItem()
        row = name.row()
        cells = [parent.child(row, column) for column in range(len(COLUMNS))]
        study = self._studies[name.data(_UID)]
        result = self._results.get(study.uid)
        if result is not None and cells[COL_SCORE] is None:
            for column, cell in zip((COL_SCORE, COL_VERDICT), _result_cells(), strict=True):
                parent.setChild(row, column, cell)
                cells[column] = cell
        disagree = disagrees(result)
        texts = _study_texts(study, result, disagree)
        for column in (COL_PART, COL_TRUTH, COL_SCORE, COL_VERDICT):
            if cells[column] is not None:
                cells[column].setData(texts[column], _DISPLAY)
        _set_keys_and_colours(cells, texts, result, disagree, fresh=False)

    def result_changed(self, uid: str) -> None:
        name = self._leaf.get(uid)
        if name is None:
            return
        self.blockSignals(True)  # one dataChanged for the row, not one a cell and role
        try:
            self._update_row(name)
        finally:
            self.blockSignals(False)
        self.dataChanged.emit(name.index(), name.index().siblingAtColumn(len(COLUMNS) - 1))

    def all_results_changed(self) -> None:
        """After many results changed at once (a results file, a new threshold)."""
        self.layoutAboutToBeChanged.emit()
        self.blockSignals(True)
        try:
            for name in self._leaf.values():
                self._update_row(name)
        finally:
            self.blockSignals(False)
        self.layoutChanged.emit()
        self.resort()

    # --- sorting ------------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order every level by ``column`` (-1: as built); groups stay ordered by name."""
        self._sort_column, self._sort_order = column, order
        self.resort()

    def resort(self) -> None:
        if self._sort_column < 0:
            self.setSortRole(ORDER_ROLE)
            super().sort(COL_NAME, Qt.SortOrder.AscendingOrder)
        else:
            self.setSortRole(SORT_ROLE)
            super().sort(self._sort_column, self._sort_order)

    # --- lookups ------------------------------------------------------------------------

    def study_at(self, index: QModelIndex) -> Study | None:
        uid = index.siblingAtColumn(COL_NAME).data(UID_ROLE) if index.isValid() else None
        return self._studies.get(uid) if uid is not None else None

    def index_of(self, uid: str) -> QModelIndex:
        name = self._leaf.get(uid)
        return QModelIndex() if name is None else name.index()

    def result_at(self, index: QModelIndex) -> StudyResult | None:
        study = self.study_at(index)
        return None if study is None else self._results.get(study.uid)

    def tooltip(self, index: QModelIndex) -> str:
        """The tooltip of ``index``'s row, any column: a study's details, a group's name.

        Written when asked for (the list's delegate asks on hover), not stored with the
        items: for fifteen thousand studies that was half a second of building."""
        if not index.isValid():
            return ""
        study = self.study_at(index)
        if study is None:
            return index.siblingAtColumn(COL_NAME).data().rsplit(" (", 1)[0]
        result = self._results.get(study.uid)
        return _tooltip(study, result, disagrees(result))

    @property
    def results(self) -> Mapping[str, StudyResult]:
        return self._results

    @property
    def n_studies(self) -> int:
        return len(self._leaf)

    @property
    def has_labels(self) -> bool:
        return any(study.label is not None for study in self._studies.values())


# Roles as plain numbers: an enum member costs a Python lookup, and a row sets a dozen.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_UID, _SORT, _ORDER = int(UID_ROLE), int(SORT_ROLE), int(ORDER_ROLE)


def _result_cells() -> tuple[QStandardItem, QStandardItem]:
    """A study's score and verdict cells, which it has once it has a result: until then
    its row has none, and sorting by either puts it after the scored ones."""
    score = QStandardItem()
    score.setData(_RIGHT, _ALIGNMENT)
    return score, QStandardItem()


def _set_keys_and_colours(
    cells: list[QStandardItem | None],
    texts: list[str],
    result: StudyResult | None,
    disagree: bool,
    fresh: bool,
) -> None:
    """The sort keys of a study's cells whose text follows its result, and their colours
    (``fresh``: new cells, which have none to clear)."""
    for column in (COL_PART, COL_TRUTH):
        cells[column].setData(texts[column].casefold(), _SORT)
    if result is None:
        if disagree or not fresh:
            cells[COL_TRUTH].setData(None, _FOREGROUND)
        return
    score = -1.0 if result.probability is None else result.probability
    cells[COL_SCORE].setData(score, _SORT)
    cells[COL_VERDICT].setData(texts[COL_VERDICT].casefold(), _SORT)
    # None clears the role: an empty brush would paint the text invisible
    cells[COL_VERDICT].setData(VERDICT_BRUSHES.get(result.verdict or ""), _FOREGROUND)
    if disagree or not fresh:
        cells[COL_TRUTH].setData(DISAGREE_BRUSH if disagree else None, _FOREGROUND)


def _study_texts(study: Study, result: StudyResult | None, disagree: bool) -> list[str]:
    """The texts of a study's row, column by column, the name left empty."""
    part = study.body_part or (
        result.predicted_body_part.lower() if result and result.predicted_body_part else ""
    )
    truth = _short_truth(study.label) + (" ≠" if disagree else "")
    score = verdict = ""
    if result is not None:
        score = "" if result.probability is None else f"{result.probability:.3f}"
        if result.verdict is None:
            verdict = SHORT_WORDS["unscored"] if result.views else ""
        else:
            verdict = SHORT_WORDS.get(result.verdict, result.verdict)
    return ["", part, str(len(study.views)), truth, score, verdict]


@functools.cache
def _truth_word(label: int | None) -> str:
    return truth_text(label)


def _short_truth(label: int | None) -> str:
    return SHORT_WORDS.get(_truth_word(label), "")


def _tooltip(study: Study, result: StudyResult | None, disagree: bool) -> str:
    lines = [study.name, f"{len(study.views)} view(s)"]
    if study.label is not None:
        lines.append(f"ground truth: {_truth_word(study.label)}")
    if result is not None and result.verdict is not None:
        lines.append(f"model: {result.verdict} (p = {result.probability:.3f})")
    if study.folder is not None:
        lines.append(str(study.folder))
    if study.uid.startswith(DICOM_UID_PREFIX):
        lines.append(f"Study Instance UID {study.uid.removeprefix(DICOM_UID_PREFIX)}")
    if disagree:
        lines.append("≠ the model's decision differs from the ground truth")
    if result is not None and result.n_failed:
        lines.append(f"{result.n_failed} view(s) could not be read")
    return "\n".join(lines)
