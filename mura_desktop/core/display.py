"""Display maths, without Qt: windowing, orientation and heatmap colour mapping.

One home for what the viewer's image, its thumbnails, the exported PNGs, the PDF reports
and ``predict --heatmaps`` draw, so that they all show the same picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mura_desktop.core.labels import Verdict

MIN_WIDTH = 1e-3  # the narrowest display window, in the image's [0, 1] units

# The colour of each verdict wherever one is drawn (list, badge, verdict panel, report).
VERDICT_COLOURS: dict[str, str] = {
    Verdict.ABNORMAL: "#c0392b",
    Verdict.NORMAL: "#1e8449",
    Verdict.INDETERMINATE: "#d35400",
}
NO_VERDICT_COLOUR = "#7f8c8d"  # unscored, failed, unknown
AGREE_COLOUR = "#27ae60"
DISAGREE_COLOUR = "#e74c3c"

# Polynomial fit of the Turbo colormap (Mikhailov 2019; fit by R. Du, Apache-2.0).
_TURBO = np.array(
    [
        [0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943],
        [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604],
        [0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973],
    ]
)


def turbo(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB floats in [0, 1] (shape ``values.shape + (3,)``)."""
    x = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)[..., None]
    powers = x ** np.arange(6, dtype=np.float32)
    return np.clip(powers @ _TURBO.T.astype(np.float32), 0.0, 1.0)


def blend_heatmap(image: np.ndarray, heatmap: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """RGB uint8 image with ``heatmap`` coloured over grayscale ``image``.

    Both inputs are float arrays in [0, 1] of the same (H, W). Each pixel's colour weight is
    ``opacity × heat``, so cold regions leave the radiograph readable.
    """
    if image.shape != heatmap.shape:
        raise ValueError(f"image {image.shape} and heatmap {heatmap.shape} differ in shape")
    gray = np.clip(image, 0.0, 1.0)[..., None].astype(np.float32)
    alpha = (opacity * np.clip(heatmap, 0.0, 1.0))[..., None].astype(np.float32)
    rgb = gray * (1.0 - alpha) + turbo(heatmap) * alpha
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def heatmap_lut(opacity: float) -> np.ndarray:
    """RGBA lookup table: turbo colour, alpha ``opacity × value`` (as ``blend_heatmap``)."""
    ramp = np.linspace(0.0, 1.0, 256, dtype=np.float32)
    rgba = np.empty((256, 4), dtype=np.uint8)
    rgba[:, :3] = (turbo(ramp) * 255.0 + 0.5).astype(np.uint8)
    rgba[:, 3] = (np.clip(opacity, 0.0, 1.0) * ramp * 255.0 + 0.5).astype(np.uint8)
    return rgba


@dataclass(frozen=True)
class Window:
    """Display window in the image's [0, 1] units."""

    center: float
    width: float

    @property
    def levels(self) -> tuple[float, float]:
        return self.center - self.width / 2.0, self.center + self.width / 2.0


@dataclass(frozen=True)
class ValueScale:
    """How the image's [0, 1] pixel values map back to the file's own values: pixel 0 is
    ``low``, pixel 1 is ``high``, linearly (``high < low`` for an inverted MONOCHROME1
    image). ``dicom`` windows follow DICOM's LINEAR
    convention (PS3.3 C.11.2.1.2: a window C, W spans ``C - 0.5 ± (W - 1) / 2``), so a
    header's "C 2048 W 4096" reads back as exactly that."""

    low: float = 0.0
    high: float = 1.0
    unit: str = ""
    dicom: bool = False

    @property
    def span(self) -> float:
        return self.high - self.low

    def to_file(self, window: Window) -> tuple[float, float]:
        """``window`` (in [0, 1] units) as (center, width) in file values."""
        center = self.low + window.center * self.span
        width = window.width * abs(self.span)
        return (center + 0.5, width + 1.0) if self.dicom else (center, width)

    def from_file(self, center: float, width: float) -> Window:
        """A window given in file values, in the image's [0, 1] units."""
        if self.dicom:
            center, width = center - 0.5, width - 1.0
        span = self.span or 1.0
        return Window((center - self.low) / span, max(width / abs(span), MIN_WIDTH))

    def describe(self, window: Window) -> str:
        center, width = self.to_file(window)
        digits = 0 if abs(self.span) >= 100 else 3
        text = f"W {width:.{digits}f} L {center:.{digits}f}"
        return f"{text} {self.unit}" if self.unit else text


@dataclass(frozen=True)
class NamedWindow:
    """A window a file names (DICOM Window Center/Width with its explanation), in file values."""

    name: str
    center: float
    width: float


def auto_window(pixels: np.ndarray) -> Window:
    """Window spanning the 1st–99th percentile (on a subsample of at most ~256k pixels)."""
    step = max(1, int(np.sqrt(pixels.size / 262_144)))
    low, high = np.percentile(pixels[::step, ::step], [1.0, 99.0])
    width = max(float(high - low), MIN_WIDTH)
    return Window(float(low + high) / 2.0, width)


def orient(array: np.ndarray, linear: np.ndarray) -> np.ndarray:
    """Resample ``array`` (H, W[, C]) through a dihedral ``linear`` map of its x/y axes."""
    h, w = array.shape[:2]
    corners = linear @ np.array([[0, w, 0, w], [0, 0, h, h]])
    offset = -corners.min(axis=1)
    out_w, out_h = (corners.max(axis=1) + offset).astype(int)
    inverse = np.round(np.linalg.inv(linear)).astype(int)
    ys, xs = np.mgrid[0:out_h, 0:out_w]
    centres = np.stack([xs.ravel() + 0.5 - offset[0], ys.ravel() + 0.5 - offset[1]])
    src = np.floor(inverse @ centres).astype(int)
    return array[src[1], src[0]].reshape(out_h, out_w, *array.shape[2:])


def windowed(pixels: np.ndarray, low: float, high: float) -> np.ndarray:
    """``pixels`` mapped linearly so that ``low`` is 0 and ``high`` is 1, clipped to [0, 1]."""
    return np.clip((pixels - low) / max(high - low, MIN_WIDTH), 0.0, 1.0)


def gray_rgb(gray: np.ndarray) -> np.ndarray:
    """A [0, 1] gray image as RGB uint8."""
    return np.repeat((gray * 255.0 + 0.5).astype(np.uint8)[..., None], 3, axis=2)


THUMBNAIL_SIZE = 112


def make_thumbnail(
    pixels: np.ndarray, low: float, high: float, size: int = THUMBNAIL_SIZE
) -> np.ndarray:
    """Windowed uint8 thumbnail whose longer side is at most ``size`` (block-mean downsampling).

    Pure numpy: runs in the loader threads, never on the GUI thread.
    """
    h, w = pixels.shape
    step = max(1, int(np.ceil(max(h, w) / size)))
    hh, ww = (h // step) * step, (w // step) * step
    small = pixels[:hh, :ww].reshape(hh // step, step, ww // step, step).mean(axis=(1, 3))
    return np.ascontiguousarray(windowed(small, low, high) * 255.0 + 0.5).astype(np.uint8)
