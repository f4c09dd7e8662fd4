"""File ▸ Skipped files…: every path the last scan skipped or doubted, with its kind and why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mura_desktop.core.study import PROBLEM_KINDS, ScanProblem

COLUMNS = ("Kind", "Path", "Reason")
KIND_HELP = {
    "failed": "should have been read and could not be (a run with one is partial)",
    "warning": "used, but it disagrees with itself",
    "ignored": "not a radiograph view (a README, .DS_Store, a hidden folder…)",
}


def problem_counts(problems: Sequence[ScanProblem]) -> str:
    """``"2 failed · 3 ignored"`` in the kinds' order; "" when there is nothing."""
    counts = Counter(p.kind for p in problems)
    return " · ".join(f"{counts[k]:,} {k}" for k in PROBLEM_KINDS if counts[k])


def problems_as_text(problems: Sequence[ScanProblem]) -> str:
    """Tab-separated, one line per problem with a header line (pastes into a spreadsheet)."""
    lines = ["\t".join(c.lower() for c in COLUMNS)]
    lines += [f"{p.kind}\t{p.path}\t{p.reason}" for p in problems]
    return "\n".join(lines) + "\n"


class SkippedFilesDialog(QDialog):
    """A sortable table of the scan's problems, with Copy (tab-separated) to the clipboard."""

    def __init__(self, problems: Sequence[ScanProblem], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Skipped files")
        self.resize(900, 480)
        self._problems = list(problems)
        summary = problem_counts(self._problems) or "nothing"
        intro = QLabel(
            f"The last scan skipped or doubted {len(self._problems):,} path(s): {summary}.<br>"
            + "<br>".join(f"<b>{k}</b>: {text}" for k, text in KIND_HELP.items())
        )
        intro.setWordWrap(True)
        self.table = QTableWidget(len(self._problems), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for row, problem in enumerate(self._problems):
            for column, text in enumerate((problem.kind, str(problem.path), problem.reason)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
        header.resizeSection(1, 520)
        self.table.setSortingEnabled(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy all")
        self.copy_button.setToolTip("Copy the table as tab-separated text")
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)

    def copy_to_clipboard(self) -> None:
        QApplication.clipboard().setText(problems_as_text(self._problems))
