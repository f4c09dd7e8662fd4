"""One-page PDF of a dataset's study-level metrics: the table with 95% intervals, κ/AUROC
error bars per group, and the reliability diagram with ECE and Brier score.

The charts are drawn with ``QPainter`` straight into the PDF (vector lines, real text).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen, QPolygonF

from mura_desktop.core.metrics import NOT_AVAILABLE, OVERALL, format_number
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.stats.calibration import Calibration
from mura_desktop.core.stats.summary import StudyStatistics
from mura_desktop.gui.pdf_page import DISCLAIMER, INK, MUTED, Page, write_pdf

TABLE_COLUMNS = (
    ("kappa", "κ"),
    ("auroc", "AUROC"),
    ("sensitivity", "Sens."),
    ("specificity", "Spec."),
    ("accuracy", "Acc."),
    ("f1", "F1"),
)
_SERIES = (("kappa", "κ", QColor(214, 39, 40)), ("auroc", "AUROC", QColor(31, 119, 180)))
_GRID = QColor(215, 215, 215)
_BLUE = QColor(31, 119, 180)


def write_metrics_report(
    path: str | os.PathLike[str],
    stats: StudyStatistics,
    model: ModelRecord,
    summary: str,
) -> None:
    """Write the metrics report of ``stats`` (``core.stats.summary.study_statistics``) to
    ``path``; ``summary`` says what was scored (studies, threshold)."""
    write_pdf(
        path, "MURA Desktop — metrics report", lambda page: _draw(page, stats, model, summary)
    )


def _draw(page: Page, stats: StudyStatistics, model: ModelRecord, summary: str) -> None:
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    page.text(
        generated,
        page.font(8),
        MUTED,
        flags=Qt.AlignmentFlag.AlignRight,
        rect=QRectF(0, page.y + page.mm(1.5), page.width, page.mm(6)),
    )
    page.line("MURA Desktop — metrics report", page.font(17, bold=True))
    page.model_block(model)
    page.line(summary, page.font(9.5))
    page.line(stats.method, page.font(8.5), MUTED)
    page.rule()
    _table(page, stats)
    _reasons(page, stats)
    page.rule()
    footer = page.height - page.mm(8)
    top = page.y
    chart_h = (footer - top - page.gap) * 0.45
    _error_bars(page, QRectF(0, top, page.width, chart_h), stats)
    below = top + chart_h + page.gap
    side = min(footer - below, page.width * 0.55)
    groups = stats.groups
    if OVERALL in groups:
        _reliability(page, QRectF(0, below, side, side), groups[OVERALL].calibration, OVERALL)
    _calibration_table(page, QRectF(side + page.mm(6), below, page.width - side, side), stats)
    page.text(
        DISCLAIMER,
        page.font(10, bold=True),
        INK,
        flags=Qt.AlignmentFlag.AlignHCenter,
        rect=QRectF(0, footer + page.mm(2), page.width, page.mm(6)),
    )


def _table(page: Page, stats: StudyStatistics) -> None:
    """Group, n, abnormal, then each metric over its interval (or ``n/a``)."""
    interval_font = page.font(7.5)
    head_font = page.font(8.5, bold=True)
    first = [page.mm(26), page.mm(14), page.mm(14)]
    rest = (page.width - sum(first)) / len(TABLE_COLUMNS)
    widths = first + [rest] * len(TABLE_COLUMNS)
    heads = ["Group", "n", "Abn."] + [t for _, t in TABLE_COLUMNS]
    row_h = page.mm(8.5)
    _cells(page, widths, heads, page.mm(6), head_font)
    for name, g in stats.groups.items():
        m = g.metrics
        if name == OVERALL:
            page.p.fillRect(QRectF(0, page.y, page.width, row_h), QColor(238, 242, 248))
        values = [name, f"{m.n:,}", f"{m.n_positive:,}"] + [m.text(k) for k, _ in TABLE_COLUMNS]
        _cells(page, widths, values, page.mm(4.5), page.font(9, bold=name == OVERALL), advance=0)
        lows = ["", "", ""] + [_interval_cell(g, k) for k, _ in TABLE_COLUMNS]
        top = page.y
        page.y += page.mm(4.2)
        _cells(page, widths, lows, page.mm(4), interval_font, MUTED, advance=0)
        page.y = top + row_h
        page.p.setPen(QPen(_GRID, page.mm(0.15)))
        page.p.drawLine(QPointF(0, page.y), QPointF(page.width, page.y))
    page.y += page.mm(1)


def _interval_cell(group, key: str) -> str:
    if key in group.metrics.undefined:
        return ""
    interval = group.intervals[key]
    return interval.text() if interval.ok else NOT_AVAILABLE


def _cells(
    page: Page,
    widths: Sequence[float],
    texts: Sequence[str],
    height: float,
    font,
    colour: QColor = INK,
    advance: float | None = None,
) -> None:
    x = 0.0
    for i, (w, text) in enumerate(zip(widths, texts, strict=True)):
        align = Qt.AlignmentFlag.AlignLeft if i == 0 else Qt.AlignmentFlag.AlignRight
        rect = QRectF(x + page.mm(0.8), page.y, w - page.mm(1.6), height)
        page.p.setFont(font)
        page.p.setPen(colour)
        page.p.drawText(rect, int(align | Qt.AlignmentFlag.AlignVCenter), text)
        x += w
    page.y += height if advance is None else advance


def na_reasons(stats: StudyStatistics) -> list[str]:
    """Why a value or interval is n/a, one line per group and reason (as the CLI's notes)."""
    notes = []
    for name, g in stats.groups.items():
        by_reason: dict[str, list[str]] = {}
        for key, title in TABLE_COLUMNS:
            reason = g.metrics.undefined.get(key) or g.intervals[key].reason
            if reason:
                by_reason.setdefault(reason, []).append(title)
        notes += [f"{name}: {', '.join(k)}: {r}" for r, k in by_reason.items()]
    return notes


def _reasons(page: Page, stats: StudyStatistics) -> None:
    notes = na_reasons(stats)
    if notes:
        page.line(f"{NOT_AVAILABLE} — " + "; ".join(notes), page.font(7.5), MUTED)


class _Axes:
    """A plotting area inside ``rect`` with margins for tick labels, in data coordinates."""

    def __init__(self, page: Page, rect: QRectF, x: tuple[float, float], y: tuple[float, float]):
        self.page = page
        self.area = rect.adjusted(page.mm(11), page.mm(7), -page.mm(2), -page.mm(9))
        self.x, self.y = x, y

    def at(self, x: float, y: float) -> QPointF:
        a = self.area
        fx = (x - self.x[0]) / (self.x[1] - self.x[0])
        fy = (y - self.y[0]) / (self.y[1] - self.y[0])
        return QPointF(a.left() + fx * a.width(), a.bottom() - fy * a.height())

    def frame(self, title: str, y_ticks: Sequence[float], y_label: str = "") -> None:
        p, page, a = self.page.p, self.page, self.area
        page.text(
            title,
            page.font(9.5, bold=True),
            INK,
            flags=Qt.AlignmentFlag.AlignHCenter,
            rect=QRectF(a.left(), a.top() - page.mm(6.5), a.width(), page.mm(6)),
        )
        for t in y_ticks:
            p.setPen(QPen(_GRID, page.mm(0.15)))
            p.drawLine(self.at(self.x[0], t), self.at(self.x[1], t))
            left = self.at(self.x[0], t)
            page.text(
                f"{t:g}",
                page.font(7),
                MUTED,
                flags=Qt.AlignmentFlag.AlignRight,
                rect=QRectF(
                    left.x() - page.mm(10), left.y() - page.mm(1.6), page.mm(9), page.mm(4)
                ),
            )
        if y_label:
            p.save()
            p.translate(a.left() - page.mm(10), a.center().y())
            p.rotate(-90)
            page.text(
                y_label,
                page.font(7.5),
                MUTED,
                flags=Qt.AlignmentFlag.AlignHCenter,
                rect=QRectF(-a.height() / 2, -page.mm(3.5), a.height(), page.mm(4)),
            )
            p.restore()
        p.setPen(QPen(MUTED, page.mm(0.25)))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(a)

    def x_label(self, x: float, text: str) -> None:
        page = self.page
        at = self.at(x, self.y[0])
        page.text(
            text,
            page.font(7),
            MUTED,
            flags=Qt.AlignmentFlag.AlignHCenter,
            rect=QRectF(at.x() - page.mm(12), at.y() + page.mm(1), page.mm(24), page.mm(4)),
        )


def _error_bars(page: Page, rect: QRectF, stats: StudyStatistics) -> None:
    names = list(stats.groups)
    values = [
        v
        for g in stats.groups.values()
        for key, _, _ in _SERIES
        for v in (getattr(g.metrics, key), g.intervals[key].low, g.intervals[key].high)
        if v is not None and not math.isnan(v)
    ]
    low = min([0.5, *values])
    y0 = math.floor(low * 10) / 10
    axes = _Axes(page, rect, (-0.6, len(names) - 0.4), (y0, 1.0))
    ticks = [round(y0 + 0.1 * i, 1) for i in range(round((1.0 - y0) * 10) + 1)]
    step = 1 if len(ticks) <= 8 else 2
    axes.frame("κ and AUROC per group, 95% patient-bootstrap intervals", ticks[::step])
    legend = QPointF(axes.area.left() + page.mm(3), axes.area.bottom() - page.mm(4))
    for i, (_, label, colour) in enumerate(_SERIES):
        dot = legend + QPointF(i * page.mm(16), 0)
        page.p.setPen(colour)
        page.p.setBrush(colour)
        page.p.drawEllipse(dot, page.mm(0.9), page.mm(0.9))
        page.text(
            label,
            page.font(7.5),
            INK,
            rect=QRectF(dot.x() + page.mm(1.8), dot.y() - page.mm(1.8), page.mm(14), page.mm(4)),
        )
    cap = page.mm(1.2)
    for offset, (metric, _, colour) in zip((-0.15, 0.15), _SERIES, strict=True):
        pen = QPen(colour, page.mm(0.35))
        for i, name in enumerate(names):
            g = stats.groups[name]
            value = getattr(g.metrics, metric)
            if math.isnan(value):
                continue
            x = i + offset
            interval = g.intervals[metric]
            page.p.setPen(pen)
            if interval.ok:
                top, bottom = axes.at(x, interval.high), axes.at(x, interval.low)
                page.p.drawLine(top, bottom)
                for end in (top, bottom):
                    page.p.drawLine(
                        QPointF(end.x() - cap, end.y()), QPointF(end.x() + cap, end.y())
                    )
            page.p.setBrush(colour)
            page.p.drawEllipse(axes.at(x, value), page.mm(0.9), page.mm(0.9))
    page.p.setBrush(Qt.BrushStyle.NoBrush)
    for i, name in enumerate(names):
        axes.x_label(i, name)


def _reliability(page: Page, rect: QRectF, c: Calibration, group: str) -> None:
    axes = _Axes(page, rect, (0.0, 1.0), (0.0, 1.0))
    ticks = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    axes.frame(f"Reliability — {group}", ticks, "observed frequency of abnormal")
    p = page.p
    if c.n:
        corner = axes.area.adjusted(page.mm(2), page.mm(1.5), 0, 0)
        page.text(f"ECE {c.ece:.3f}, Brier {c.brier:.3f}", page.font(8), INK, rect=corner)
    for b in c.bins:
        if b.count:
            share = b.count / c.n
            top_left = axes.at(b.low + 0.005, share)
            bottom_right = axes.at(b.high - 0.005, 0.0)
            p.fillRect(QRectF(top_left, bottom_right), QColor(190, 190, 190))
    p.setPen(QPen(MUTED, page.mm(0.2), Qt.PenStyle.DashLine))
    p.drawLine(axes.at(0, 0), axes.at(1, 1))
    points = [axes.at(b.mean_predicted, b.observed) for b in c.bins if b.count]
    p.setPen(QPen(_BLUE, page.mm(0.4)))
    p.drawPolyline(QPolygonF(points))
    p.setBrush(_BLUE)
    for point in points:
        p.drawEllipse(point, page.mm(0.8), page.mm(0.8))
    p.setBrush(Qt.BrushStyle.NoBrush)
    for t in ticks:
        axes.x_label(t, f"{t:g}")
    bottom = axes.at(0.5, 0.0)
    page.text(
        "mean predicted probability",
        page.font(7.5),
        MUTED,
        flags=Qt.AlignmentFlag.AlignHCenter,
        rect=QRectF(axes.area.left(), bottom.y() + page.mm(4.5), axes.area.width(), page.mm(4)),
    )


def _calibration_table(page: Page, rect: QRectF, stats: StudyStatistics) -> None:
    """ECE and Brier score of every group's study probabilities."""
    saved = page.y
    page.y = rect.top() + page.mm(1)
    widths = [rect.width() * 0.34, rect.width() * 0.18, rect.width() * 0.2, rect.width() * 0.2]
    page.p.save()
    page.p.translate(rect.left(), 0)
    _cells(
        page, widths, ["Calibration", "n", "ECE", "Brier"], page.mm(5.5), page.font(8.5, bold=True)
    )
    for name, g in stats.groups.items():
        c = g.calibration
        cells = [name, f"{c.n:,}", _num(c.ece), _num(c.brier)]
        _cells(page, widths, cells, page.mm(4.8), page.font(8.5, bold=name == OVERALL))
    page.p.restore()
    note = (
        "Reliability: 10 equal-width bins of the study probability, observed frequency of "
        "abnormal studies per bin; grey bars: the bin's share of the studies. ECE weighs each "
        "bin by its studies."
    )
    page.text(
        note,
        page.font(7),
        MUTED,
        rect=QRectF(rect.left(), page.y + page.mm(1), sum(widths), page.mm(20)),
    )
    page.y = saved


def _num(value: float | None) -> str:
    return "—" if value is None else format_number(value)
