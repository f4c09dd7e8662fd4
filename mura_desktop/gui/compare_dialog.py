"""Model ▸ Compare: the open session's results (A) against a saved results file (B).

The paired comparison (``core.stats.comparison.compare_results``: DeLong's test of the
AUROCs, a paired patient bootstrap of κ, McNemar's test) runs in a worker thread; the
dialog shows it per group, with the studies A and B decide differently, each of which
opens on a double click.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mura_desktop.core.metrics import NOT_AVAILABLE
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.results import ResultSet, StudyResult
from mura_desktop.core.stats.comparison import Comparison, compare_results
from mura_desktop.gui.background import BackgroundWorker

GROUP_COLUMNS = (
    "Group", "n", "AUROC A", "AUROC B", "Δ AUROC [95% DeLong]", "p", "κ A", "κ B",
    "Δ κ [95% bootstrap]", "McNemar p",
)  # fmt: skip
STUDY_COLUMNS = ("Study", "Part", "Truth", "p A", "p B", "A says", "B says")


class CompareDialog(QDialog):
    """``comparisonReady(Comparison)`` when computed; ``studyChosen(uid)`` on a double click
    of a disagreement."""

    comparisonReady = Signal(object)
    studyChosen = Signal(str)

    def __init__(
        self,
        a: list[StudyResult],
        b: ResultSet,
        name_a: str,
        name_b: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare results")
        self.resize(900, 600)
        self.comparison: Comparison | None = None
        self._summary = QLabel(f"A: {name_a}\nB: {name_b}\n\nComparing {len(a):,} studies…")
        self._summary.setWordWrap(True)
        self._summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.groups = _table(GROUP_COLUMNS)
        self.studies = _table(STUDY_COLUMNS)
        self.studies.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.studies.setToolTip("Double-click a study to open it")
        self.studies.cellDoubleClicked.connect(self._on_double_click)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self._summary)
        layout.addWidget(self.groups, 1)
        self._disagree_title = QLabel()
        layout.addWidget(self._disagree_title)
        layout.addWidget(self.studies, 2)
        layout.addWidget(buttons)
        self._worker = BackgroundWorker(self)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        studies_b = list(b.studies)
        self._worker.submit(lambda: compare_results(a, studies_b, name_a=name_a, name_b=name_b))

    @classmethod
    def choose(
        cls, parent: QWidget, a: list[StudyResult], model: ModelRecord
    ) -> CompareDialog | None:
        """Ask for a results file, load it and open the dialog; None if cancelled or unreadable."""
        if not any(r.probability is not None for r in a):
            QMessageBox.information(
                parent, "Compare results", "Nothing is scored yet.\n\nScore the studies first."
            )
            return None
        path, _ = QFileDialog.getOpenFileName(
            parent, "Compare with a results file", "", "MURA Desktop results (*.json)"
        )
        if not path:
            return None
        try:
            other = ResultSet.from_json(path)
        except ValueError as exc:
            QMessageBox.warning(
                parent, "Compare results", f"{exc}\n\nChoose a results JSON saved by MURA "
                "Desktop (File ▸ Save results) or mura-desktop predict --json."
            )  # fmt: skip
            return None
        name_b = f"{other.model.name or 'unknown model'} ({Path(path).name})"
        dialog = cls(a, other, model.name or "this session", name_b, parent)
        dialog.show()
        return dialog

    def done(self, result: int) -> None:
        self._worker.shutdown()
        super().done(result)

    def _on_finished(self, _job: int, c: Comparison) -> None:
        self.comparison = c
        lines = [
            f"A: {c.name_a}",
            f"B: {c.name_b}",
            f"Matched {c.matched:,} studies"
            + (f" ({c.matched_by_path:,} by their path below the dataset root)"
               if c.matched_by_path else "")
            + f"; {c.only_a:,} only in A, {c.only_b:,} only in B"
            + (f"; {c.unscored:,} not scored by both" if c.unscored else "") + ".",
        ]  # fmt: skip
        if not c.groups:
            lines.append("No labelled study scored by both: no paired tests.")
        self._summary.setText("\n".join(lines))
        self._fill_groups(c)
        self._fill_studies(c)
        self.comparisonReady.emit(c)

    def _on_failed(self, _job: int, message: str) -> None:
        self._summary.setText(f"The comparison failed: {message}")

    def _fill_groups(self, c: Comparison) -> None:
        self.groups.setRowCount(len(c.groups))
        for row, (name, g) in enumerate(c.groups.items()):
            if g.auroc is None:
                auroc, p = f"{NOT_AVAILABLE}: {g.auroc_reason}", ""
            else:
                t = g.auroc
                auroc, p = f"{t.difference:+.3f} [{t.low:+.3f}, {t.high:+.3f}]", _p(t.p_value)
            if g.kappa_difference is None:
                kappa = NOT_AVAILABLE
            elif g.kappa_interval.ok:
                kappa = f"{g.kappa_difference:+.3f} {g.kappa_interval.text()}"
            else:
                kappa = f"{g.kappa_difference:+.3f} [{NOT_AVAILABLE}: {g.kappa_interval.reason}]"
            cells = [
                name, f"{g.metrics_a.n:,}", g.metrics_a.text("auroc"), g.metrics_b.text("auroc"),
                auroc, p, g.metrics_a.text("kappa"), g.metrics_b.text("kappa"), kappa,
                _p(g.mcnemar.p_value),
            ]  # fmt: skip
            for col, text in enumerate(cells):
                self.groups.setItem(row, col, _item(text, col))
            self.groups.item(row, GROUP_COLUMNS.index("McNemar p")).setToolTip(
                f"{g.mcnemar.method}; {g.mcnemar.only_a} studies only A got right, "
                f"{g.mcnemar.only_b} only B"
            )

    def _fill_studies(self, c: Comparison) -> None:
        self._disagree_title.setText(
            f"A and B disagree on {len(c.disagreements):,} studies (each at its own operating "
            "point); double-click one to open it. The study list's Disagree ▸ A and B filter "
            "shows them too."
        )
        self.studies.setRowCount(len(c.disagreements))
        for row, d in enumerate(c.disagreements):
            truth = "" if d.label is None else ("abnormal" if d.label else "normal")
            cells = [
                d.name, d.body_part or "", truth, f"{d.probability_a:.3f}",
                f"{d.probability_b:.3f}", _decision(d.abnormal_a, d.verdict_a),
                _decision(d.abnormal_b, d.verdict_b),
            ]  # fmt: skip
            for col, text in enumerate(cells):
                item = _item(text, col)
                item.setData(Qt.ItemDataRole.UserRole, d.uid)
                self.studies.setItem(row, col, item)

    def _on_double_click(self, row: int, _column: int) -> None:
        self.studyChosen.emit(self.studies.item(row, 0).data(Qt.ItemDataRole.UserRole))


def _table(columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _item(text: str, column: int) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    align = Qt.AlignmentFlag.AlignLeft if column == 0 else Qt.AlignmentFlag.AlignRight
    item.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
    return item


def _decision(abnormal: bool, verdict: str | None) -> str:
    word = "abnormal" if abnormal else "normal"
    return f"{word} ({verdict})" if verdict and verdict != word else word


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"
