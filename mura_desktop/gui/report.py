"""One-page PDF report of a study: views with heatmaps, scores, verdict, model and disclaimer.

The sections are drawn top to bottom on a ``pdf_page.Page``; the views are windowed and
overlaid with their heatmaps here, as in the viewer.
"""

from __future__ import annotations

import math
import os
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QLinearGradient

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
from mura_desktop.gui.pdf_page import DISCLAIMER, INK, MUTED, Page, write_pdf

HEATMAP_NOTE = (
    "Heatmaps are class activation maps normalized per image: they show where the model "
    "looked, relative to the rest of that image, not a finding."
)
NO_MAP_NOTE = "Views scored below {floor:.2f} are shown without a map."

_FOOTER_MM = 19.0
_VERDICT_COLOURS = {verdict: QColor(colour) for verdict, colour in VERDICT_COLOURS.items()}


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
        lambda page: _draw(
            page, result, images, heatmaps, model, measurements or {}, style or HeatmapStyle()
        ),
    )


def _draw(
    page: Page,
    result: StudyResult,
    images: dict[Path, LoadedImage],
    heatmaps: dict[Path, np.ndarray],
    model: ModelRecord,
    measurements: dict[Path, list[Measurement]],
    style: HeatmapStyle,
) -> None:
    footer_top = page.height - page.mm(_FOOTER_MM)
    _header(page, result)
    page.model_block(model)
    _verdict(page, result)
    _measurements(page, result, measurements)
    page.rule()
    _views(page, result, images, heatmaps, style, footer_top - page.gap)
    floor = result.rule.map_floor(result.body_part)
    _footer(page, footer_top, style, floor)


def _header(page: Page, result: StudyResult) -> None:
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    page.text(
        f"generated {generated}",
        page.font(8),
        MUTED,
        flags=Qt.AlignmentFlag.AlignRight,
        rect=QRectF(0, page.y + page.mm(1.5), page.width, page.mm(6)),
    )
    page.line("MURA Desktop — study report", page.font(17, bold=True))
    page.line(result.name, page.font(11, bold=True))
    facts = [
        f"Body part: {(result.body_part or 'unknown').title()}",
        f"Patient: {result.patient_id or 'unknown'}",
        f"Views: {len(result.views)}"
        + (f" ({result.n_failed} could not be read)" if result.n_failed else ""),
    ]
    if result.split:
        facts.append(f"Split: {result.split}")
    page.line("    ".join(facts), page.font(9.5))
    page.rule()


def _verdict(page: Page, result: StudyResult) -> None:
    page.y += page.mm(1.5)
    verdict = result.verdict
    colour = _VERDICT_COLOURS.get(verdict or "", MUTED)
    top = page.y
    bar = QRectF(0, top, page.mm(1.6), page.mm(17))
    page.p.fillRect(bar, colour)
    left = page.mm(4)
    inner = QRectF(left, top, page.width - left, page.mm(17))
    if result.probability is None:
        headline = "NOT SCORED — no view could be scored"
    else:
        headline = f"{(verdict or '?').upper()}   study probability {result.probability:.3f}"
    used = page.text(headline, page.font(15, bold=True), colour, rect=inner)
    detail = [f"Rule: {result.rule_text}"]
    detail.append(f"Ground truth: {_truth_text(result)}")
    page.text("\n".join(detail), page.font(9.5), INK, rect=inner.adjusted(0, used, 0, 0))
    page.y = top + bar.height() + page.mm(1)


def _measurements(
    page: Page, result: StudyResult, measurements: dict[Path, list[Measurement]]
) -> None:
    """The reader's measurements, one line per view that has some."""
    for i, view in enumerate(result.views, 1):
        found = measurements.get(Path(view.path)) or []
        if found:
            values = "; ".join(m.label() for m in found)
            page.line(f"Measurements, view {i} ({Path(view.path).name}): {values}", page.font(9))


def _views(
    page: Page,
    result: StudyResult,
    images: dict[Path, LoadedImage],
    heatmaps: dict[Path, np.ndarray],
    style: HeatmapStyle,
    bottom: float,
) -> None:
    views = result.views
    floor = result.rule.map_floor(result.body_part)
    if not views:
        page.line("This study has no views.", page.font(10), MUTED)
        return
    cols = 1 if len(views) == 1 else 2 if len(views) <= 4 else 3 if len(views) <= 9 else 4
    rows = math.ceil(len(views) / cols)
    cell_w = (page.width - (cols - 1) * page.gap) / cols
    cell_h = (bottom - page.y - (rows - 1) * page.gap) / rows
    caption_h = page.mm(9)
    threshold = result.rule.threshold
    for i, view in enumerate(views):
        x = (i % cols) * (cell_w + page.gap)
        y = page.y + (i // cols) * (cell_h + page.gap)
        frame = QRectF(x, y, cell_w, cell_h - caption_h)
        page.p.fillRect(frame, QColor(0, 0, 0))
        key = Path(view.path)
        caption = QRectF(x, y + cell_h - caption_h + page.mm(0.8), cell_w, caption_h)
        name = key.name
        if view.error is not None:
            page.text(
                f"Could not be read:\n{view.error}",
                page.font(8.5),
                QColor(255, 150, 150),
                rect=frame.adjusted(page.mm(3), page.mm(3), -page.mm(3), -page.mm(3)),
                flags=Qt.AlignmentFlag.AlignHCenter,
            )
            page.text(f"{name}  ·  failed", page.font(8.5, bold=True), MUTED, rect=caption)
            continue
        loaded = images.get(key)
        if loaded is not None:
            heatmap = heatmaps.get(key) if style.shown(view.probability, floor) else None
            picture = _view_picture(
                loaded, heatmap, style, view.probability, frame.width(), frame.height()
            )
            target = _fit(picture.width(), picture.height(), frame)
            page.p.drawImage(target, picture)
        else:
            page.text(
                "image not available",
                page.font(8.5),
                QColor(200, 200, 200),
                rect=frame.adjusted(0, frame.height() / 2 - page.mm(3), 0, 0),
                flags=Qt.AlignmentFlag.AlignHCenter,
            )
        if view.probability is None:
            score, colour = "not scored", MUTED
        else:
            above = view.probability >= threshold
            score = f"p = {view.probability:.3f}"
            colour = _VERDICT_COLOURS[Verdict.ABNORMAL if above else Verdict.NORMAL]
        page.text(f"{name}  ·  {score}", page.font(8.5, bold=True), colour, rect=caption)


def _footer(page: Page, top: float, style: HeatmapStyle, floor: float) -> None:
    page.y = top
    page.rule()
    bar = QRectF(0, page.y + page.mm(0.5), page.mm(30), page.mm(2.5))
    gradient = QLinearGradient(bar.topLeft(), bar.topRight())
    for stop in np.linspace(0.0, 1.0, 9):
        r, g, b = (turbo(np.array(stop)) * 255).astype(int)
        gradient.setColorAt(float(stop), QColor(int(r), int(g), int(b)))
    page.p.fillRect(bar, gradient)
    page.text(
        "low → high",
        page.font(7),
        MUTED,
        rect=QRectF(0, bar.bottom() + page.mm(0.3), bar.width(), page.mm(4)),
        flags=Qt.AlignmentFlag.AlignHCenter,
    )
    note = QRectF(bar.width() + page.mm(3), page.y, page.width - bar.width() - page.mm(3), 99)
    legend = f"{style.legend()}. {HEATMAP_NOTE}"
    if not style.all_views and style.mode != "off":
        legend += " " + NO_MAP_NOTE.format(floor=floor)
    page.y += page.text(legend, page.font(7.5), MUTED, rect=note) + page.mm(1.5)
    page.text(
        DISCLAIMER,
        page.font(10, bold=True),
        INK,
        rect=QRectF(0, page.y, page.width, page.mm(6)),
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
