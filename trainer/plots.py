"""End-of-run charts as PNGs, drawn with Pillow (matplotlib is not a dependency).

``line_chart`` is the one primitive (loss and kappa curves, ROC curves, the reliability
diagram); ``confusion_chart`` draws the 2×2 matrix, ``interval_chart`` values with their
95% intervals as error bars; ``write_run_plots`` makes the files a run folder gets.
Labels are ASCII: Pillow's default font has no Greek letters.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mura_desktop.core.metrics import BinaryMetrics, roc_curve
from mura_desktop.core.stats.calibration import Calibration
from mura_desktop.core.stats.summary import StudyStatistics

WIDTH, HEIGHT = 720, 480
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 72, 24, 44, 56
COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14))
GRID = (225, 225, 225)
INK = (30, 30, 30)

Series = tuple[str, Sequence[float], Sequence[float]]
"""(label, xs, ys); non-finite points are left out."""


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has a single bitmap size
        return ImageFont.load_default()


def _ticks(low: float, high: float, count: int = 5, integer: bool = False) -> list[float]:
    span = high - low
    raw = span / count
    step = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5, 10):
        if raw <= step * mult:
            step *= mult
            break
    if integer:
        step = max(1.0, round(step))
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _label(value: float) -> str:
    if abs(value - round(value)) < 1e-9 and abs(value) >= 1:
        return f"{value:.0f}"
    return f"{value:.3g}"


def line_chart(
    path: str | os.PathLike[str],
    series: Sequence[Series],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    diagonal: bool = False,
    markers: bool = True,
    integer_x: bool = False,
) -> Path:
    """Draw ``series`` as lines with a legend and write a PNG to ``path``."""
    clean = []
    for label, xs, ys in series:
        pts = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True) if _finite(x, y)]
        clean.append((label, pts))
    all_pts = [p for _, pts in clean for p in pts]
    x0, x1 = x_range or _extent([p[0] for p in all_pts])
    y0, y1 = y_range or _extent([p[1] for p in all_pts], pad=0.05)

    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    small, normal = _font(12), _font(15)
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (
            left + (x - x0) / (x1 - x0) * (right - left),
            bottom - (y - y0) / (y1 - y0) * (bottom - top),
        )

    for tx in _ticks(x0, x1, integer=integer_x):
        px = to_px(tx, y0)[0]
        draw.line([(px, top), (px, bottom)], fill=GRID)
        draw.text((px, bottom + 6), _label(tx), fill=INK, font=small, anchor="ma")
    for ty in _ticks(y0, y1):
        py = to_px(x0, ty)[1]
        draw.line([(left, py), (right, py)], fill=GRID)
        draw.text((left - 6, py), _label(ty), fill=INK, font=small, anchor="rm")
    draw.rectangle([left, top, right, bottom], outline=INK)
    if diagonal:
        draw.line([to_px(x0, y0), to_px(x1, y1)], fill=(160, 160, 160), width=1)
    for i, (label, pts) in enumerate(clean):
        colour = COLOURS[i % len(COLOURS)]
        xy = [to_px(x, y) for x, y in pts]
        if len(xy) > 1:
            draw.line(xy, fill=colour, width=3, joint="curve")
        if markers:
            for px, py in xy:
                draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
        ly = top + 8 + 18 * i
        draw.line([(right - 150, ly + 7), (right - 126, ly + 7)], fill=colour, width=3)
        draw.text((right - 120, ly), label, fill=INK, font=small)
    draw.text((WIDTH / 2, 12), title, fill=INK, font=normal, anchor="ma")
    draw.text(((left + right) / 2, HEIGHT - 20), xlabel, fill=INK, font=small, anchor="ma")
    ylab = Image.new("RGBA", (bottom - top, 18), (255, 255, 255, 0))
    ImageDraw.Draw(ylab).text(((bottom - top) / 2, 0), ylabel, fill=INK, font=small, anchor="ma")
    image.paste(ylab.rotate(90, expand=True), (8, top), ylab.rotate(90, expand=True))
    return _save(image, path)


def confusion_chart(
    path: str | os.PathLike[str], metrics: BinaryMetrics, *, title: str = "Confusion matrix"
) -> Path:
    """The 2×2 study-level confusion matrix (rows truth, columns prediction) as a PNG."""
    size, cell = 440, 150
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    small, big = _font(13), _font(28)
    matrix = metrics.confusion
    peak = max(int(matrix.max()), 1)
    x0, y0 = 120, 90
    names = ("normal", "abnormal")
    for r in range(2):
        for c in range(2):
            shade = int(235 - 175 * matrix[r, c] / peak)
            fill = (shade, shade, 255) if r == c else (255, shade, shade)
            box = [x0 + c * cell, y0 + r * cell, x0 + (c + 1) * cell, y0 + (r + 1) * cell]
            draw.rectangle(box, fill=fill, outline=INK)
            draw.text(
                (box[0] + cell / 2, box[1] + cell / 2), str(matrix[r, c]), fill=INK, font=big,
                anchor="mm",
            )  # fmt: skip
        draw.text((x0 - 8, y0 + r * cell + cell / 2), names[r], fill=INK, font=small, anchor="rm")
        draw.text((x0 + r * cell + cell / 2, y0 - 8), names[r], fill=INK, font=small, anchor="md")
    draw.text((x0 + cell, y0 - 30), "predicted", fill=INK, font=small, anchor="md")
    draw.text((14, y0 + cell), "truth", fill=INK, font=small, anchor="lm")
    draw.text((size / 2, 12), title, fill=INK, font=_font(15), anchor="ma")
    footer = f"threshold {metrics.threshold:.2f}   kappa {metrics.text('kappa')}   n {metrics.n}"
    draw.text((size / 2, y0 + 2 * cell + 18), footer, fill=INK, font=small, anchor="ma")
    return _save(image, path)


def reliability_chart(
    path: str | os.PathLike[str],
    calibrations: Sequence[tuple[str, Calibration]],
    *,
    title: str = "Reliability diagram",
) -> Path:
    """Observed fraction of abnormal against mean predicted probability, per filled bin,
    one line per ``(label, Calibration)``; the diagonal is perfect calibration."""
    series = []
    for label, c in calibrations:
        filled = [b for b in c.bins if b.count]
        series.append((
            f"{label} (ECE {c.ece:.3f})" if c.n else label,
            [b.mean_predicted for b in filled],
            [b.observed for b in filled],
        ))  # fmt: skip
    return line_chart(
        path, series, title=title, xlabel="mean predicted probability",
        ylabel="observed fraction abnormal", x_range=(0.0, 1.0), y_range=(0.0, 1.0),
        diagonal=True,
    )  # fmt: skip


def interval_chart(
    path: str | os.PathLike[str],
    stats: StudyStatistics,
    metrics: Sequence[str] = ("kappa", "auroc"),
    *,
    title: str = "Study-level metrics with 95% intervals",
) -> Path:
    """Per group, each metric as a dot with its bootstrap interval as an error bar; a
    group whose interval is n/a shows the dot alone."""
    groups = list(stats.groups)
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    small = _font(12)
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    values = [
        v
        for g in stats.groups.values()
        for k in metrics
        for v in (getattr(g.metrics, k), g.intervals[k].low, g.intervals[k].high)
        if v is not None and math.isfinite(v)
    ]
    y0, y1 = min([0.0, *values]) - 0.05, 1.05

    def to_y(v: float) -> float:
        return bottom - (v - y0) / (y1 - y0) * (bottom - top)

    for ty in _ticks(y0, y1):
        draw.line([(left, to_y(ty)), (right, to_y(ty))], fill=GRID)
        draw.text((left - 6, to_y(ty)), _label(ty), fill=INK, font=small, anchor="rm")
    draw.rectangle([left, top, right, bottom], outline=INK)
    slot = (right - left) / max(len(groups), 1)
    for gi, name in enumerate(groups):
        g = stats.groups[name]
        centre = left + slot * (gi + 0.5)
        draw.text((centre, bottom + 6), name.removeprefix("XR_")[:9], fill=INK, font=small,
                  anchor="ma")  # fmt: skip
        for mi, key in enumerate(metrics):
            x = centre + (mi - (len(metrics) - 1) / 2) * min(18.0, slot / (len(metrics) + 1))
            colour = COLOURS[mi % len(COLOURS)]
            interval = g.intervals[key]
            if interval.ok:
                ylo, yhi = to_y(interval.low), to_y(interval.high)
                draw.line([(x, ylo), (x, yhi)], fill=colour, width=2)
                for yy in (ylo, yhi):
                    draw.line([(x - 4, yy), (x + 4, yy)], fill=colour, width=2)
            value = getattr(g.metrics, key)
            if math.isfinite(value):
                draw.ellipse([x - 4, to_y(value) - 4, x + 4, to_y(value) + 4], fill=colour)
    for mi, key in enumerate(metrics):
        colour = COLOURS[mi % len(COLOURS)]
        ly = top + 8 + 18 * mi
        draw.line([(right - 150, ly + 7), (right - 126, ly + 7)], fill=colour, width=3)
        draw.text((right - 120, ly), key, fill=INK, font=small)
    draw.text((WIDTH / 2, 12), title, fill=INK, font=_font(15), anchor="ma")
    draw.text(((left + right) / 2, HEIGHT - 20), stats.method.replace("κ", "kappa")[:110],
              fill=INK, font=small, anchor="ma")  # fmt: skip
    return _save(image, path)


def write_run_plots(
    out_dir: str | os.PathLike[str],
    history: Sequence[dict],
    labels: Sequence[int],
    probabilities: Sequence[float],
    metrics: BinaryMetrics,
) -> list[Path]:
    """``loss.png``, ``kappa.png`` (from the epoch records of ``metrics.jsonl``), ``roc.png``
    and ``confusion.png`` (from the exported model's validation study probabilities)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    epochs = [r["epoch"] for r in history]

    def col(key: str) -> list[float]:
        return [math.nan if r.get(key) is None else float(r[key]) for r in history]

    fpr, tpr, _ = roc_curve(labels, probabilities)
    return [
        line_chart(
            out / "loss.png",
            [("train", epochs, col("train_loss")), ("valid", epochs, col("valid_loss"))],
            title="Loss",
            xlabel="epoch",
            ylabel="loss",
            integer_x=True,
        ),
        line_chart(
            out / "kappa.png",
            [("kappa", epochs, col("kappa")), ("AUROC", epochs, col("auroc"))],
            title="Validation kappa and AUROC (studies)",
            xlabel="epoch",
            ylabel="value",
            integer_x=True,
            y_range=(min([0.0, *(v for v in col("kappa") if math.isfinite(v))]), 1.0),
        ),
        line_chart(
            out / "roc.png",
            [(f"AUROC {metrics.auroc:.3f}", fpr, tpr)],
            title="ROC, validation studies",
            xlabel="1 - specificity",
            ylabel="sensitivity",
            x_range=(0.0, 1.0),
            y_range=(0.0, 1.0),
            diagonal=True,
            markers=False,
        ),
        confusion_chart(out / "confusion.png", metrics),
    ]


def _finite(*values: float) -> bool:
    return all(v is not None and math.isfinite(float(v)) for v in values)


def _extent(values: Sequence[float], pad: float = 0.0) -> tuple[float, float]:
    if not values:
        return 0.0, 1.0
    low, high = float(np.min(values)), float(np.max(values))
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    margin = (high - low) * pad
    return low - margin, high + margin


def _save(image: Image.Image, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    image.save(tmp, format="PNG")
    os.replace(tmp, path)
    return path
