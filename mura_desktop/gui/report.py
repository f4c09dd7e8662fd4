"""One-page PDF report of a study: views with heatmaps, scores, verdict, model and disclaimer.

Drawn with ``QPdfWriter`` + ``QPainter``, so it needs a ``QGuiApplication`` (the offscreen
platform is enough) but no widgets.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QImage,
    QLinearGradient,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
)

from mura_desktop.core.display import (
    VERDICT_COLOURS,
    HeatmapStyle,
    draw_heatmap,
    gray_rgb,
    turbo,
    windowed,
)
from mura_desktop.core.labels import Verdict
from mura_desktop.core.measure import Measurement
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.pixels import LoadedImage
from mura_desktop.core.results import StudyResult

DISCLAIMER = "Research use only. Not a medical device; not for diagnosis."
HEATMAP_NOTE = (
    "Heatmaps are class activation maps normalized per image: they show where the model "
    "looked, relative to the rest of that image, not a finding."
)
NO_MAP_NOTE = "Views scored below {floor:.2f} are shown without a map."
RESOLUTION_DPI = 150
MARGIN_MM = 14.0

_INK = QColor(20, 20, 20)
_MUTED = QColor(95, 95, 95)
_VERDICT_COLOURS = {verdict: QColor(colour) for verdict, colour in VERDICT_COLOURS.items()}
_DEMO_RED = QColor(200, 0, 0)


def write_study_report(
    path: str | os.PathLike[str],
    result: StudyResult,
    images: dict[Path, LoadedImage],
    heatmaps: dict[Path, np.ndarray],
    model: ModelRecord,
    *,
    measurements: dict[Path, list[Measurement]] | None = None,
    style: HeatmapStyle | None = None,
) -> None:
    """Write an A4 portrait, one-page PDF report of ``result`` to ``path``.

    Parameters
    ----------
    images, heatmaps
        Pixels and heatmaps (float arrays in [0, 1], any size) keyed by ``Path(view.path)``.
        A view without pixels is drawn as an empty frame; one without a heatmap without
        overlay; a failed view shows its error.
    model
        The model's identity (``ResultSet.model``): name, architecture, hash and the demo
        flag are shown.
    style
        How maps are drawn, as in the viewer (default ``HeatmapStyle()``): a view scored
        below the rule's ``map_floor`` gets no map unless the style asks for all views.

    The file is written to a temporary name and renamed, so a failure leaves no partial PDF.
    """
    write_pdf(
        path,
        f"MURA Desktop report — {result.name}",
        lambda page: page.draw(
            result, images, heatmaps, model, measurements or {}, style or HeatmapStyle()
        ),
    )


def write_pdf(path: str | os.PathLike[str], title: str, draw: Callable[[Page], None]) -> None:
    """An A4 portrait PDF of one page drawn by ``draw``, written atomically to ``path``."""
    if QGuiApplication.instance() is None:
        raise RuntimeError("writing a PDF needs a QGuiApplication (offscreen is fine)")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    writer = QPdfWriter(str(tmp))
    writer.setResolution(RESOLUTION_DPI)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
            QPageLayout.Unit.Millimeter,
        )
    )
    writer.setTitle(title)
    writer.setCreator("MURA Desktop")
    painter = QPainter()
    try:
        if not painter.begin(writer):
            raise OSError(f"{path}: cannot write the PDF here")
        try:
            draw(Page(painter, writer.width(), writer.height()))
        finally:
            painter.end()
        del writer
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class Page:
    """Top-to-bottom layout on one page, in device pixels at ``RESOLUTION_DPI``."""

    def __init__(self, painter: QPainter, width: int, height: int) -> None:
        self.p = painter
        self.width = float(width)
        self.height = float(height)
        self.y = 0.0
        self.gap = self.mm(2.5)

    def mm(self, value: float) -> float:
        return value * RESOLUTION_DPI / 25.4

    def font(self, points: float, bold: bool = False) -> QFont:
        font = QFont("DejaVu Sans")
        font.setPointSizeF(points)
        font.setBold(bold)
        return font

    def text(
        self,
        text: str,
        font: QFont,
        colour: QColor = _INK,
        rect: QRectF | None = None,
        flags: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft,
    ) -> float:
        """Draw wrapped ``text`` (at the cursor unless ``rect``) and return its height."""
        self.p.setFont(font)
        self.p.setPen(colour)
        if rect is None:
            rect = QRectF(0, self.y, self.width, self.height - self.y)
        options = int(flags | Qt.AlignmentFlag.AlignTop) | int(Qt.TextFlag.TextWordWrap)
        used = self.p.boundingRect(rect, options, text)
        self.p.drawText(rect, options, text)
        return used.height()

    def line(self, text: str, font: QFont, colour: QColor = _INK) -> None:
        self.y += self.text(text, font, colour) + self.mm(0.8)

    def rule(self) -> None:
        self.y += self.mm(1)
        self.p.setPen(QPen(QColor(180, 180, 180), self.mm(0.25)))
        self.p.drawLine(QPointF(0, self.y), QPointF(self.width, self.y))
        self.y += self.mm(2)

    # sections ------------------------------------------------------------------------------

    def draw(
        self,
        result: StudyResult,
        images: dict[Path, LoadedImage],
        heatmaps: dict[Path, np.ndarray],
        model: ModelRecord,
        measurements: dict[Path, list[Measurement]],
        style: HeatmapStyle,
    ) -> None:
        footer_top = self.height - self._footer_height()
        self._header(result)
        self.model_block(model)
        self._verdict(result)
        self._measurements(result, measurements)
        self.rule()
        self._views(result, images, heatmaps, style, footer_top - self.gap)
        floor = result.rule.map_floor(result.body_part)
        self._footer(footer_top, style, floor)

    def _header(self, result: StudyResult) -> None:
        generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        self.text(
            f"generated {generated}",
            self.font(8),
            _MUTED,
            flags=Qt.AlignmentFlag.AlignRight,
            rect=QRectF(0, self.y + self.mm(1.5), self.width, self.mm(6)),
        )
        self.line("MURA Desktop — study report", self.font(17, bold=True))
        self.line(result.name, self.font(11, bold=True))
        facts = [
            f"Body part: {(result.body_part or 'unknown').title()}",
            f"Patient: {result.patient_id or 'unknown'}",
            f"Views: {len(result.views)}"
            + (f" ({result.n_failed} could not be read)" if result.n_failed else ""),
        ]
        if result.split:
            facts.append(f"Split: {result.split}")
        self.line("    ".join(facts), self.font(9.5))
        self.rule()

    def model_block(self, model: ModelRecord) -> None:
        """The model's name, architecture and hash; a red box for a demo model."""
        if not model:
            self.line("Model: none recorded", self.font(9.5), _MUTED)
            return
        parts = [model.name or "unnamed model"]
        if model.architecture:
            parts.append(model.architecture)
        if model.content_hash:
            parts.append(f"hash {model.content_hash[:12]}")
        self.line("Model: " + "  ·  ".join(parts), self.font(9.5))
        if model.demo:
            pad = self.mm(2)
            warning = (
                "DEMO MODEL — trained on synthetic images; its scores mean nothing on real "
                "radiographs."
            )
            font = self.font(10, bold=True)
            self.p.setFont(font)
            flags = int(Qt.AlignmentFlag.AlignHCenter) | int(Qt.TextFlag.TextWordWrap)
            needed = self.p.boundingRect(QRectF(0, 0, self.width - 2 * pad, 999), flags, warning)
            box = QRectF(0, self.y, self.width, needed.height() + 2 * pad)
            self.p.fillRect(box, QColor(255, 228, 228))
            self.p.setPen(QPen(_DEMO_RED, self.mm(0.4)))
            self.p.drawRect(box)
            self.text(
                warning,
                font,
                _DEMO_RED,
                rect=box.adjusted(pad, pad, -pad, 0),
                flags=Qt.AlignmentFlag.AlignHCenter,
            )
            self.y += box.height() + self.mm(1)

    def _verdict(self, result: StudyResult) -> None:
        self.y += self.mm(1.5)
        verdict = result.verdict
        colour = _VERDICT_COLOURS.get(verdict or "", _MUTED)
        top = self.y
        bar = QRectF(0, top, self.mm(1.6), self.mm(17))
        self.p.fillRect(bar, colour)
        left = self.mm(4)
        inner = QRectF(left, top, self.width - left, self.mm(17))
        if result.probability is None:
            headline = "NOT SCORED — no view could be scored"
        else:
            headline = f"{(verdict or '?').upper()}   study probability {result.probability:.3f}"
        used = self.text(headline, self.font(15, bold=True), colour, rect=inner)
        detail = [f"Rule: {result.rule_text}"]
        detail.append(f"Ground truth: {_truth_text(result)}")
        self.text("\n".join(detail), self.font(9.5), _INK, rect=inner.adjusted(0, used, 0, 0))
        self.y = top + bar.height() + self.mm(1)

    def _measurements(
        self, result: StudyResult, measurements: dict[Path, list[Measurement]]
    ) -> None:
        """The reader's measurements, one line per view that has some."""
        for i, view in enumerate(result.views, 1):
            found = measurements.get(Path(view.path)) or []
            if found:
                values = "; ".join(m.label() for m in found)
                self.line(
                    f"Measurements, view {i} ({Path(view.path).name}): {values}", self.font(9)
                )

    def _views(
        self,
        result: StudyResult,
        images: dict[Path, LoadedImage],
        heatmaps: dict[Path, np.ndarray],
        style: HeatmapStyle,
        bottom: float,
    ) -> None:
        views = result.views
        floor = result.rule.map_floor(result.body_part)
        if not views:
            self.line("This study has no views.", self.font(10), _MUTED)
            return
        cols = 1 if len(views) == 1 else 2 if len(views) <= 4 else 3 if len(views) <= 9 else 4
        rows = math.ceil(len(views) / cols)
        cell_w = (self.width - (cols - 1) * self.gap) / cols
        cell_h = (bottom - self.y - (rows - 1) * self.gap) / rows
        caption_h = self.mm(9)
        threshold = result.rule.threshold
        for i, view in enumerate(views):
            x = (i % cols) * (cell_w + self.gap)
            y = self.y + (i // cols) * (cell_h + self.gap)
            frame = QRectF(x, y, cell_w, cell_h - caption_h)
            self.p.fillRect(frame, QColor(0, 0, 0))
            key = Path(view.path)
            caption = QRectF(x, y + cell_h - caption_h + self.mm(0.8), cell_w, caption_h)
            name = key.name
            if view.error is not None:
                self.text(
                    f"Could not be read:\n{view.error}",
                    self.font(8.5),
                    QColor(255, 150, 150),
                    rect=frame.adjusted(self.mm(3), self.mm(3), -self.mm(3), -self.mm(3)),
                    flags=Qt.AlignmentFlag.AlignHCenter,
                )
                self.text(f"{name}  ·  failed", self.font(8.5, bold=True), _MUTED, rect=caption)
                continue
            loaded = images.get(key)
            if loaded is not None:
                heatmap = heatmaps.get(key) if style.shown(view.probability, floor) else None
                picture = _view_picture(
                    loaded, heatmap, style, view.probability, frame.width(), frame.height()
                )
                target = _fit(picture.width(), picture.height(), frame)
                self.p.drawImage(target, picture)
            else:
                self.text(
                    "image not available",
                    self.font(8.5),
                    QColor(200, 200, 200),
                    rect=frame.adjusted(0, frame.height() / 2 - self.mm(3), 0, 0),
                    flags=Qt.AlignmentFlag.AlignHCenter,
                )
            if view.probability is None:
                score, colour = "not scored", _MUTED
            else:
                above = view.probability >= threshold
                score = f"p = {view.probability:.3f}"
                colour = _VERDICT_COLOURS[Verdict.ABNORMAL if above else Verdict.NORMAL]
            self.text(f"{name}  ·  {score}", self.font(8.5, bold=True), colour, rect=caption)

    def _footer_height(self) -> float:
        return self.mm(19)

    def _footer(self, top: float, style: HeatmapStyle, floor: float) -> None:
        self.y = top
        self.rule()
        bar = QRectF(0, self.y + self.mm(0.5), self.mm(30), self.mm(2.5))
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for stop in np.linspace(0.0, 1.0, 9):
            r, g, b = (turbo(np.array(stop)) * 255).astype(int)
            gradient.setColorAt(float(stop), QColor(int(r), int(g), int(b)))
        self.p.fillRect(bar, gradient)
        self.text(
            "low → high",
            self.font(7),
            _MUTED,
            rect=QRectF(0, bar.bottom() + self.mm(0.3), bar.width(), self.mm(4)),
            flags=Qt.AlignmentFlag.AlignHCenter,
        )
        note = QRectF(bar.width() + self.mm(3), self.y, self.width - bar.width() - self.mm(3), 99)
        legend = f"{style.legend()}. {HEATMAP_NOTE}"
        if not style.all_views and style.mode != "off":
            legend += " " + NO_MAP_NOTE.format(floor=floor)
        self.y += self.text(legend, self.font(7.5), _MUTED, rect=note) + self.mm(1.5)
        self.text(
            DISCLAIMER,
            self.font(10, bold=True),
            _INK,
            rect=QRectF(0, self.y, self.width, self.mm(6)),
            flags=Qt.AlignmentFlag.AlignHCenter,
        )


def _truth_text(result: StudyResult) -> str:
    if result.label is None:
        return "unknown"
    truth = result.label.word
    predicted = result.predicted_label
    if predicted is None:
        return truth
    agreement = "agrees with" if predicted == result.label else "differs from"
    return f"{truth} ({agreement} the model's decision at {result.rule.threshold:.2f})"


def _view_picture(
    loaded: LoadedImage,
    heatmap: np.ndarray | None,
    style: HeatmapStyle,
    probability: float | None,
    max_w: float,
    max_h: float,
) -> QImage:
    """The windowed view with its heatmap, resampled to at most ``max_w`` × ``max_h`` px."""
    height, width = loaded.pixels.shape
    scale = min(max_w / width, max_h / height, 1.0)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    low = loaded.window_center - loaded.window_width / 2
    gray = windowed(loaded.pixels, low, low + loaded.window_width)
    gray = _resize(gray, size)
    if heatmap is None:
        rgb = gray_rgb(gray)
    else:
        rgb = draw_heatmap(gray, np.clip(_resize(heatmap, size), 0, 1), style, probability)
    rgb = np.ascontiguousarray(rgb)
    image = QImage(rgb.data, size[0], size[1], 3 * size[0], QImage.Format.Format_RGB888)
    return image.copy()


def _resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of a float array to ``size`` = (width, height)."""
    data = np.asarray(array, dtype=np.float32)
    if data.shape[::-1] == size:
        return data
    return np.asarray(Image.fromarray(data).resize(size, Image.Resampling.BICUBIC))


def _fit(width: int, height: int, frame: QRectF) -> QRectF:
    """The largest rectangle of aspect ``width:height`` centred in ``frame``."""
    scale = min(frame.width() / width, frame.height() / height)
    w, h = width * scale, height * scale
    return QRectF(frame.x() + (frame.width() - w) / 2, frame.y() + (frame.height() - h) / 2, w, h)
