"""Study-level metrics of a scoring run: table per body part with 95% intervals, ROC curve,
reliability diagram, confusion matrix and κ/AUROC error bars.

The panel only displays; every number comes from ``mura_desktop.core.metrics`` and
``mura_desktop.core.stats`` so the viewer, the CLI and the trainer agree. ``set_results`` is
cheap enough to call every few hundred milliseconds while a dataset is being scored; the
bootstrap intervals (a second or more on a full dataset) are computed in a worker thread
once the results have stopped changing for ``INTERVAL_DELAY_MS``. The table is
``metrics_table``, the ROC curve and confusion matrix ``group_charts``; the report itself is
written by ``metrics_report``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mura_desktop.core.metrics import NOT_AVAILABLE, OVERALL, BinaryMetrics, study_metrics
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.results import StudyResult
from mura_desktop.core.stats.calibration import calibration
from mura_desktop.core.stats.summary import StudyStatistics, study_statistics
from mura_desktop.gui.background import BackgroundWorker
from mura_desktop.gui.chart_slot import ChartSlot, paint_now
from mura_desktop.gui.group_charts import ConfusionMatrix, RocPlot
from mura_desktop.gui.interval_plot import IntervalPlot
from mura_desktop.gui.metrics_report import na_reasons, write_metrics_report
from mura_desktop.gui.metrics_table import COLUMNS, INTERVAL_ROLE, PENDING, MetricsTable
from mura_desktop.gui.reliability_plot import ReliabilityPlot
from mura_desktop.gui.steady_label import SteadyLabel

INTERVAL_DELAY_MS = 1500


CHART_TURN_MS = 25  # between two charts' paints: what else waits gets its turn


class MetricsPanel(QWidget):
    """κ, AUROC, sensitivity, specificity, accuracy and F1 overall and per body part, each
    with its 95% interval, the ROC curve, reliability diagram and confusion matrix of the
    group selected in the table, and κ/AUROC error bars of every group.

    ``intervalsReady`` is emitted when the intervals of the results shown have arrived.
    """

    intervalsReady = Signal()
    reportRequested = Signal()  # the intervals are ready: the owner asks where to write

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._metrics: dict[str, BinaryMetrics] = {}
        self._scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._group = OVERALL
        self._stats: StudyStatistics | None = None
        self._stats_failure = ""
        self._usable: list[StudyResult] = []
        self._threshold: float | None = None
        self._key: tuple = ()
        self._job = 0
        self.model = ModelRecord()
        self._worker = BackgroundWorker(self)
        self._worker.finished.connect(self._on_statistics)
        self._worker.failed.connect(self._on_statistics_failed)
        self._delay = QTimer(self)
        self._delay.setSingleShot(True)
        self._delay.setInterval(INTERVAL_DELAY_MS)
        self._delay.timeout.connect(self._compute_intervals)

        self._summary = SteadyLabel()
        self._method = SteadyLabel()
        self._method.setStyleSheet("color: gray;")

        self._message = QLabel()
        self._message.setWordWrap(True)
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setMargin(24)

        self._table = MetricsTable()
        self._table.itemSelectionChanged.connect(self._on_row_selected)

        self._roc_slot = ChartSlot(RocPlot)
        self._reliability_slot = ChartSlot(ReliabilityPlot)
        self._errors_slot = ChartSlot(IntervalPlot)
        self._confusion = ConfusionMatrix()
        self._slots = (self._errors_slot, self._roc_slot, self._reliability_slot)
        self._charts: tuple[QWidget, ...] = (*self._slots, self._confusion)
        self._chart_turns: list[Callable[[], QWidget | None]] = []
        self._chart_timer = QTimer(self)
        self._chart_timer.setSingleShot(True)
        self._chart_timer.setInterval(CHART_TURN_MS)
        self._chart_timer.timeout.connect(self._draw_next_chart)

        plots = QGridLayout()
        plots.addWidget(self._roc_slot, 0, 0)
        plots.addWidget(self._reliability_slot, 0, 1)
        plots.addWidget(self._confusion, 0, 2)
        plots.addWidget(self._errors_slot, 1, 0, 1, 3)
        for column in (0, 1, 2):
            plots.setColumnStretch(column, 1)
        plots.setRowStretch(0, 3)
        plots.setRowStretch(1, 2)
        table_box = QVBoxLayout()
        table_box.addWidget(self._table)
        table_box.addWidget(self._method)
        table_box.addStretch(1)

        self._body = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self._body.addLayout(table_box, 0)
        self._body.addLayout(plots, 1)
        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        self.export_button = QPushButton("Export report (PDF)…")
        self.export_button.setToolTip(
            "A one-page PDF: this table with its intervals, the error bars and the "
            "reliability diagram"
        )
        self.export_button.clicked.connect(self.choose_report_target)
        top = QHBoxLayout()
        top.addWidget(self._summary, 1)
        top.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignTop)
        content_layout.addLayout(top)
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

    def set_results(
        self,
        results: Sequence[StudyResult],
        threshold: float | None = None,
        model: ModelRecord | None = None,
    ) -> None:
        """Show metrics of the labelled, scored studies in ``results``.

        ``threshold`` defaults to the studies' own rule threshold. Studies without a label
        or without a score yet are counted in the summary line and otherwise ignored.
        ``model`` (the model record) goes into the exported report. The intervals follow
        once ``results`` stop changing.
        """
        self.model = model or ModelRecord()
        scored = [r for r in results if r.probability is not None]
        usable = [r for r in scored if r.label is not None]
        self._metrics = study_metrics(usable, threshold)
        self._usable, self._threshold = usable, threshold
        key = (threshold, tuple((r.uid, r.probability, r.label) for r in usable))
        if key != self._key:
            self._key = key
            self._stats = None
            self._stats_failure = ""
            self._job = 0
            self._delay.start()
        if not self._metrics:
            self._scores = {}
            self._delay.stop()
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
        self._table.fill(self._metrics, self._group)
        self._show_intervals(errors=False)
        self._chart_turns = [
            *(slot.build for slot in self._slots if not slot.built()),
            self._draw_errors,
            self._draw_roc,
            self._draw_reliability,
            self._draw_confusion,
        ]
        for chart in self._charts:
            chart.setUpdatesEnabled(False)  # each paints on its turn, not with the others
        self._chart_timer.start()
        self._pages.setCurrentIndex(1)

    def metrics(self) -> dict[str, BinaryMetrics]:
        """The metrics shown, keyed by ``"ALL"`` and body part; empty when none."""
        return dict(self._metrics)

    def statistics(self) -> StudyStatistics | None:
        """The intervals shown, or None while they are being computed."""
        return self._stats

    def intervals_pending(self) -> bool:
        return bool(self._metrics) and self._stats is None and not self._stats_failure

    def compute_intervals_now(self) -> None:
        """Start the interval computation without waiting for the results to settle."""
        if self._delay.isActive():
            self._delay.stop()
            self._compute_intervals()

    def choose_report_target(self) -> None:
        """Ask where to write the metrics report, then write it."""
        if self._stats is None:
            QMessageBox.information(
                self,
                "Metrics report",
                "The 95% intervals are not ready yet.\n\n"
                + ("Wait until they appear in the table, then export again." if self._metrics
                   else "Score a labelled dataset first (Study ▸ Score all studies)."),
            )  # fmt: skip
            self.compute_intervals_now()
            return
        self.reportRequested.emit()

    def write_report(self, path: Path) -> None:
        """Write the metrics report of the intervals shown (OSError when it cannot)."""
        if self._stats is None:
            raise RuntimeError("the 95% intervals are not ready yet")
        write_metrics_report(path, self._stats, self.model, self._summary.text())

    def shutdown(self) -> None:
        """Stop computing (before the window closes)."""
        self._delay.stop()
        self._worker.shutdown()

    def interval_text(self, group: str, column: str) -> str:
        """The interval line under a metric cell: ``[0.664, 0.757]``, ``n/a: <reason>``,
        ``…`` while computing, or ``""`` where the metric itself is n/a."""
        row = list(self._metrics).index(group)
        return self._table.item(row, COLUMNS.index(column)).data(INTERVAL_ROLE) or ""

    def reliability_plot(self) -> ReliabilityPlot:
        return self._reliability

    def interval_plot(self) -> IntervalPlot:
        return self._errors

    @property
    def _roc(self) -> RocPlot:
        return self._roc_slot.chart()

    @property
    def _reliability(self) -> ReliabilityPlot:
        return self._reliability_slot.chart()

    @property
    def _errors(self) -> IntervalPlot:
        return self._errors_slot.chart()

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
        return self._confusion.counts()

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

    def _compute_intervals(self) -> None:
        if not self._usable:
            return
        studies, threshold, key = list(self._usable), self._threshold, self._key
        self._job = self._worker.submit(
            lambda: (key, study_statistics(studies, threshold=threshold))
        )

    def _on_statistics(self, job: int, value: tuple[tuple, StudyStatistics]) -> None:
        key, stats = value
        if job != self._job or key != self._key:
            return
        self._stats = stats
        if self._metrics:
            self._show_intervals()
        self.intervalsReady.emit()

    def _on_statistics_failed(self, job: int, message: str) -> None:
        if job == self._job:
            self._stats_failure = message
            if self._metrics:
                self._show_intervals()

    def _show_intervals(self, errors: bool = True) -> None:
        """The interval line of every metric cell, the note under the table, and (unless
        ``errors`` is False: they follow in a later turn) the error bars."""
        stats = self._stats
        self._table.show_intervals(self._metrics, stats, self._stats_failure)
        if self._stats_failure:
            self._method.setText(f"95% intervals could not be computed: {self._stats_failure}")
        elif stats is None:
            self._method.setText(f"95% intervals {PENDING} (computed when scoring pauses)")
        else:
            notes = na_reasons(stats)
            self._method.setText(
                stats.method + (f". {NOT_AVAILABLE} — " + "; ".join(notes) if notes else "")
            )
        if errors:
            self._draw_errors()
        self.export_button.setEnabled(stats is not None)

    def _on_row_selected(self) -> None:
        rows = self._table.selectionModel().selectedRows()
        if not rows:
            return
        self._group = list(self._metrics)[rows[0].row()]
        self._draw_group()

    def charts_pending(self) -> bool:
        """Whether the charts still show an earlier ``set_results``."""
        return bool(self._chart_turns)

    def _draw_next_chart(self) -> None:
        """One chart per turn of the event loop, painted before the next: painted in one
        go (each axis a picture of text) the group's charts held the GUI thread for 60 ms,
        twice that while a dataset was being scored beside them. Until its turn a chart
        does not paint at all, so neither the panel's first showing nor a new table row
        that moves them all paints the charts together (0.2-0.3 s under load). The first
        turns build the charts not built yet, one a turn."""
        if not self._metrics:
            self._chart_turns = []
        if self._chart_turns:
            chart = self._chart_turns.pop(0)()  # None: a turn that built a chart
            if chart is not None:
                paint_now(chart)
        if self._chart_turns:
            self._chart_timer.start()
        else:
            for chart in self._charts:
                chart.setUpdatesEnabled(True)

    def _draw_group(self) -> None:
        self._chart_turns = []
        for chart in self._charts:
            chart.setUpdatesEnabled(True)
        for draw in (self._draw_roc, self._draw_reliability, self._draw_confusion):
            draw()

    def _draw_errors(self) -> QWidget:
        self._errors.set_statistics(self._stats, self._metrics)
        return self._errors_slot

    def _draw_roc(self) -> QWidget:
        labels, scores = self._scores[self._group]
        self._roc.set_group(self._group, self._metrics[self._group], labels, scores)
        return self._roc_slot

    def _draw_reliability(self) -> QWidget:
        labels, scores = self._scores[self._group]
        self._reliability.set_calibration(calibration(labels, scores), self._group)
        return self._reliability_slot

    def _draw_confusion(self) -> QWidget:
        self._confusion.set_group(self._group, self._metrics[self._group])
        return self._confusion


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
