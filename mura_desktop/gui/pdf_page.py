"""One A4 page of a PDF, shared by the study and metrics reports: atomic writing, the
top-to-bottom layout cursor, text, rules, the model block and the disclaimer.

Drawn with ``QPdfWriter`` + ``QPainter``, so it needs a ``QGuiApplication`` (the offscreen
platform is enough) but no widgets.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
)

from mura_desktop.core.model_record import ModelRecord

DISCLAIMER = "Research use only. Not a medical device; not for diagnosis."
RESOLUTION_DPI = 150
MARGIN_MM = 14.0

INK = QColor(20, 20, 20)
MUTED = QColor(95, 95, 95)
_DEMO_RED = QColor(200, 0, 0)


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
        colour: QColor = INK,
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

    def line(self, text: str, font: QFont, colour: QColor = INK) -> None:
        self.y += self.text(text, font, colour) + self.mm(0.8)

    def rule(self) -> None:
        self.y += self.mm(1)
        self.p.setPen(QPen(QColor(180, 180, 180), self.mm(0.25)))
        self.p.drawLine(QPointF(0, self.y), QPointF(self.width, self.y))
        self.y += self.mm(2)

    def model_block(self, model: ModelRecord) -> None:
        """The model's name, architecture and hash; a red box for a demo model."""
        if not model:
            self.line("Model: none recorded", self.font(9.5), MUTED)
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
