"""The study list's filters: a proxy over ``StudyTreeModel`` that filters at study level.

``StudyFilterProxy`` keeps a study when it passes every filter (body part, ground truth,
predicted verdict, disagreement with the truth or between two compared result sets, name
text); groups stay visible while any of their studies does. Sorting is left to the model.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt

from mura_desktop.core.results import StudyResult
from mura_desktop.core.study import Study
from mura_desktop.core.verdict import VERDICTS
from mura_desktop.gui.study_tree_model import (
    UNKNOWN_PART,
    StudyTreeModel,
    disagrees,
    truth_text,
)

ANY = "Any"
TRUTH_CHOICES = (ANY, "abnormal", "normal", "unknown")
PREDICTED_CHOICES = (ANY, *VERDICTS, "unscored")
WITH_TRUTH = "with truth"
A_AND_B = "A and B"
DISAGREE_CHOICES = (ANY, WITH_TRUTH)


class StudyFilterProxy(QSortFilterProxyModel):
    """Study-level filters: body part, ground truth, predicted verdict, disagreement, text."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.body_part = ANY
        self.truth = ANY
        self.predicted = ANY
        self.disagreement_only = False
        self.ab_only = False
        self.ab_disagreements: frozenset[str] = frozenset()
        self.text = ""
        self.setRecursiveFilteringEnabled(True)
        self.setDynamicSortFilter(True)  # re-filters a row whose score changed

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting is the source model's (see ``StudyTreeModel``); the proxy only filters."""
        self.sourceModel().sort(column, order)

    @property
    def active(self) -> bool:
        shown = (self.body_part, self.truth, self.predicted, self.disagreement_only, self.ab_only)
        return shown != (ANY, ANY, ANY, False, False) or bool(self.text)

    def set_filters(self, **values: object) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise AttributeError(key)
            setattr(self, key, value)
        if hasattr(self, "endFilterChange"):  # Qt ≥ 6.10; invalidateRowsFilter is deprecated
            self.beginFilterChange()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        if not self.active:
            return True
        model: StudyTreeModel = self.sourceModel()
        index = model.index(source_row, 0, source_parent)
        study = model.study_at(index)
        if study is None:
            return False  # a group: shown while one of its studies is (recursive filtering)
        return self._accepts(study, model.result_at(index))

    def _accepts(self, study: Study, result: StudyResult | None) -> bool:
        if self.body_part != ANY and (study.body_part or UNKNOWN_PART) != self.body_part:
            return False
        if self.truth != ANY and (truth_text(study.label) or "unknown") != self.truth:
            return False
        if self.predicted != ANY:
            verdict = result.verdict if result is not None and result.verdict else "unscored"
            if verdict != self.predicted:
                return False
        if self.disagreement_only and not disagrees(result):
            return False
        if self.ab_only and study.uid not in self.ab_disagreements:
            return False
        return not self.text or self.text.casefold() in study.name.casefold()
