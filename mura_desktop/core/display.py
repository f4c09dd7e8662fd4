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


def _turbo_exact(x: np.ndarray) -> np.ndarray:
    powers = x[..., None] ** np.arange(6, dtype=np.float64)
    return np.clip(powers @ _TURBO.T, 0.0, 1.0).astype(np.float32)


# The polynomial tabulated: 4096 steps put every colour within 0.002 of the exact one
# (half a uint8 step) at a fifth of the cost per pixel.
_TURBO_STEPS = 4096
_TURBO_TABLE = _turbo_exact(np.linspace(0.0, 1.0, _TURBO_STEPS))


def turbo(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB floats in [0, 1] (shape ``values.shape + (3,)``)."""
    x = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)
    # np.take: half the time of fancy indexing for this gather of rows.
    return np.take(_TURBO_TABLE, (x * (_TURBO_STEPS - 1) + 0.5).astype(np.intp), axis=0)


# How a heatmap is drawn. The maps are normalised per image, so every mode shows where
# *this* image's map is highest, never how abnormal the image is.
# Which map is drawn: the exact class activation map, or one of the gradient-weighted maps
# of ``inference.alternative_maps`` (approximate, one backward pass per view).
EXACT_MAP = "cam"
MAP_KINDS: dict[str, str] = {
    EXACT_MAP: "Class activation map (exact)",
    "layercam": "LayerCAM, dense block 3 (approximate)",
    "gradcam++": "Grad-CAM++, last block (approximate)",
}

HEATMAP_MODES: dict[str, str] = {
    "region": "Hottest region, outlined",
    "box": "Box around the hottest region",
    "wash": "Colour wash (whole map)",
    "off": "Off",
}
DEFAULT_HEATMAP_MODE = "region"
REGION_FRACTION = 0.5  # the region: the peak's connected part of the map at >= this × peak
OUTLINE_RGB = (1.0, 0.84, 0.0)  # region outlines and boxes: opaque amber


@dataclass(frozen=True)
class HeatmapStyle:
    """How (and on which views) heatmaps are drawn.

    ``mode``: a key of ``HEATMAP_MODES``. ``opacity``: the colour's weight at the peak.
    ``fraction``: the region's cut-off as a share of the peak. ``scale_by_probability``:
    multiply the opacity by the view's probability, so a map of a view the model calls
    normal is faint. ``all_views``: also draw maps of views below the operating point
    (by default those show no map: a normal view's map points at nothing). ``map_kind``:
    which map is drawn, a key of ``MAP_KINDS`` (the legends name an approximate one).
    """

    mode: str = DEFAULT_HEATMAP_MODE
    opacity: float = 0.5
    fraction: float = REGION_FRACTION
    scale_by_probability: bool = False
    all_views: bool = False
    map_kind: str = EXACT_MAP

    def __post_init__(self) -> None:
        if self.mode not in HEATMAP_MODES:
            modes = ", ".join(HEATMAP_MODES)
            raise ValueError(f"heatmap mode {self.mode!r}: choose one of {modes}")
        if not 0.0 < self.fraction < 1.0:
            raise ValueError(f"region fraction {self.fraction} must be in (0, 1)")
        if self.map_kind not in MAP_KINDS:
            raise ValueError(f"kind of map {self.map_kind!r}: choose one of {', '.join(MAP_KINDS)}")

    def shown(self, probability: float | None, floor: float | None) -> bool:
        """Whether a view scored ``probability`` gets its map drawn, given the model's
        ``floor`` (its operating point, or the indeterminate band's lower edge)."""
        if self.mode == "off":
            return False
        if self.all_views or floor is None:
            return True
        return probability is not None and probability >= floor

    def legend(self) -> str:
        """What the drawing means, for a caption or tooltip."""
        if self.mode == "off":
            return "Heatmaps off"
        scale = "; opacity scales with the view's probability" if self.scale_by_probability else ""
        what = _MODE_TEXT[self.mode][0].format(cut=f"{self.fraction:.0%}")
        return f"{self._kind(': ')}Heatmap {what} (normalised per image, not a probability){scale}"

    def caption(self) -> str:
        """``legend`` in a few words, for the line under the image."""
        if self.mode == "off":
            return "Heatmaps off"
        what = _MODE_TEXT[self.mode][1].format(cut=f"{self.fraction:.0%}")
        return self._kind(" · ") + what + (" · opacity × p" if self.scale_by_probability else "")

    def _kind(self, separator: str) -> str:
        return "" if self.map_kind == EXACT_MAP else MAP_KINDS[self.map_kind] + separator


# Each drawing mode in a legend and in a caption; ``cut`` is the region's share of the peak.
_MODE_TEXT = {
    "region": (
        "outlined: where this image's map is >= {cut} of its peak",
        "Outlined: ≥ {cut} of this image's peak",
    ),
    "box": (
        "box: around the part of this image's map >= {cut} of its peak",
        "Box: around ≥ {cut} of this image's peak",
    ),
    "wash": (
        "colours: blue = low, red = high, relative to this image's own peak",
        "Colours: relative to this image's peak",
    ),
}


def load_region_tools() -> None:
    """Import what finding a map's region needs (scipy.ndimage: 0.3-0.4 s) now, in a
    background thread: the viewer's first map would otherwise wait for it on the GUI
    thread."""
    from scipy import ndimage  # noqa: F401


def hottest_region(heatmap: np.ndarray, fraction: float = REGION_FRACTION) -> np.ndarray:
    """Boolean mask: the connected part (8-neighbours) of ``heatmap >= fraction × peak``
    that holds the peak. Empty for a map without a positive peak."""
    from scipy import ndimage  # imported here: the viewer's start does not need it

    top = float(np.max(heatmap)) if heatmap.size else 0.0
    if not top > 0:
        return np.zeros(heatmap.shape, dtype=bool)
    labels, _ = ndimage.label(heatmap >= fraction * top, structure=np.ones((3, 3)))
    row, column = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
    return labels == labels[row, column]


def _outline(region: np.ndarray, width: int) -> np.ndarray:
    """The pixels of ``region`` within ``width`` pixels (4-neighbour steps) of its edge
    (``region`` may be cropped to its bounding box: what lies outside the array counts as
    outside it)."""
    # Erosion by the 4-neighbour cross, ``width`` times, as shifted ANDs: the same pixels
    # as scipy's binary_erosion(iterations=width, border_value=0) at a fifth of its time.
    core = region.copy()
    for _ in range(width):
        eroded = core.copy()
        eroded[1:] &= core[:-1]
        eroded[:-1] &= core[1:]
        eroded[:, 1:] &= core[:, :-1]
        eroded[:, :-1] &= core[:, 1:]
        eroded[[0, -1]] = False
        eroded[:, [0, -1]] = False
        core = eroded
    return region & ~core


def _support(mask: np.ndarray) -> tuple[slice, slice] | None:
    """The bounding box (rows, columns) of ``mask``'s true pixels; None when it has none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if not rows.size:
        return None
    columns = np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1)


def _box(region: np.ndarray, width: int) -> np.ndarray:
    """A rectangle ``width`` px wide around ``region``'s bounding box (inside the image)."""
    box = np.zeros_like(region)
    support = _support(region)
    if support is not None:
        rows, columns = support
        box[rows, columns] = True
        box[
            rows.start + width : rows.stop - width, columns.start + width : columns.stop - width
        ] = False
    return box


def overlay_layers(
    heatmap: np.ndarray, style: HeatmapStyle, probability: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """RGB floats (H, W, 3) and alpha (H, W) in [0, 1] of ``heatmap`` drawn in ``style``.

    The line width of outlines and boxes is 1/150 of the image's long side (at least 1 px).
    """
    heat = np.clip(np.asarray(heatmap, dtype=np.float32), 0.0, 1.0)
    opacity = float(np.clip(style.opacity, 0.0, 1.0))
    if style.scale_by_probability and probability is not None:
        opacity *= float(np.clip(probability, 0.0, 1.0))
    if style.mode == "wash":
        return turbo(heat), opacity * heat
    # Colour is computed only where the alpha can be non-zero; elsewhere it stays black.
    rgb = np.zeros((*heat.shape, 3), dtype=np.float32)
    if style.mode == "off":
        return rgb, np.zeros(heat.shape, dtype=np.float32)
    width = max(1, round(max(heat.shape) / 150))
    region = hottest_region(heat, style.fraction)
    alpha = np.zeros(heat.shape, dtype=np.float32)
    box = _support(region)
    if box is None:
        return rgb, alpha
    # Everything drawn lies in the region's bounding box: work on that crop alone.
    inside, heat_box = region[box], heat[box]
    if style.mode == "region":
        line = _outline(inside, width)
        alpha[box] = np.where(inside, opacity * heat_box, 0.0)
        rgb[box] = turbo(heat_box)
    else:
        line = _box(inside, width)
    rgb[box][line] = OUTLINE_RGB
    alpha[box][line] = 1.0
    return rgb, alpha


def composite(image: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """RGB uint8: colour ``rgb`` weighted ``alpha`` over grayscale ``image`` ([0, 1])."""
    gray = np.clip(image, 0.0, 1.0).astype(np.float32, copy=False)
    out = gray_rgb(gray)
    box = _support(alpha > 0)  # outside it the blend is the gray itself
    if box is not None:
        g = gray[box][..., None]
        a = alpha[box][..., None].astype(np.float32, copy=False)
        blend = rgb[box] * a  # in place from here: no more temporaries of the box's size
        blend += g * (1.0 - a)
        blend *= 255.0
        blend += 0.5
        out[box] = blend
    return out


def draw_heatmap(
    image: np.ndarray,
    heatmap: np.ndarray,
    style: HeatmapStyle,
    probability: float | None = None,
) -> np.ndarray:
    """RGB uint8 of ``heatmap`` drawn over grayscale ``image`` (same (H, W), [0, 1])."""
    if image.shape != heatmap.shape:
        raise ValueError(f"image {image.shape} and heatmap {heatmap.shape} differ in shape")
    return composite(image, *overlay_layers(heatmap, style, probability))


def overlay_rgba(
    heatmap: np.ndarray, style: HeatmapStyle, probability: float | None = None
) -> np.ndarray:
    """The overlay alone as RGBA uint8 (H, W, 4), for an image item over the radiograph."""
    return layers_rgba(*overlay_layers(heatmap, style, probability))


def layers_rgba(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Overlay layers (``overlay_layers``) as one RGBA uint8 array; outside the bounding box
    of the pixels with some alpha, all four channels are 0."""
    out = np.zeros((*alpha.shape, 4), dtype=np.uint8)
    box = _support(alpha > 0)
    if box is not None:
        layers = np.concatenate([rgb[box], alpha[box][..., None]], axis=-1)
        out[box] = (layers * 255.0 + 0.5).astype(np.uint8)
    return out


def shown_rgb(
    pixels: np.ndarray,
    levels: tuple[float, float],
    inverted: bool,
    layers: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """RGB uint8 of ``pixels`` as the viewer shows them: windowed to ``levels``, inverted if
    asked, with the overlay ``layers`` (RGB and alpha of the same (H, W)) over them."""
    gray = windowed(pixels, *levels)
    if inverted:
        gray = 1.0 - gray
    return gray_rgb(gray) if layers is None else composite(gray, *layers)


def clipped_square(
    shape: tuple[int, int], x: int, y: int, radius: int
) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
    """Where the square of side ``2·radius`` around (x, y) meets an array of ``shape``:
    (the array's part, the square's part) as (rows, columns) slices; None where they miss."""
    h, w = shape
    x0, y0 = x - radius, y - radius
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x + radius, w), min(y + radius, h)
    if sx1 <= sx0 or sy1 <= sy0:
        return None
    source = (slice(sy0, sy1), slice(sx0, sx1))
    return source, (slice(sy0 - y0, sy1 - y0), slice(sx0 - x0, sx1 - x0))


def blend_heatmap(image: np.ndarray, heatmap: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """RGB uint8 image with ``heatmap`` as a colour wash over grayscale ``image``.

    Each pixel's colour weight is ``opacity × heat``, so cold regions leave the radiograph
    readable.
    """
    return draw_heatmap(image, heatmap, HeatmapStyle("wash", opacity))


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


ROTATE_CW = np.array([[0, -1], [1, 0]])
FLIP_H = np.array([[-1, 0], [0, 1]])
FLIP_V = np.array([[1, 0], [0, -1]])


def rotated(linear: np.ndarray, quarter_turns: int) -> np.ndarray:
    """``linear`` followed by ``quarter_turns`` × 90° on screen, clockwise when positive."""
    step = ROTATE_CW if quarter_turns > 0 else ROTATE_CW.T
    for _ in range(abs(quarter_turns)):
        linear = step @ linear
    return linear


def oriented_frame(linear: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """For an image of ``shape`` (H, W, ...) mapped by ``linear``: the shift that puts its
    top-left corner at the origin, and the (width, height) it then covers."""
    h, w = shape[:2]
    corners = linear @ np.array([[0, w, 0, w], [0, 0, h, h]])
    offset = -corners.min(axis=1)
    return offset, (corners.max(axis=1) + offset).astype(int)


WINDOW_PRESETS: tuple[str, ...] = ("File default", "Auto contrast", "Full range")


def preset_window(name: str, pixels: np.ndarray, file_default: Window) -> Window:
    """The window a preset of ``WINDOW_PRESETS`` gives ``pixels``."""
    if name == "File default":
        return file_default
    if name == "Auto contrast":
        return auto_window(pixels)
    if name == "Full range":
        return Window(0.5, 1.0)
    raise ValueError(f"unknown window preset {name!r}")


def display_summary(
    scale: ValueScale, window: Window, note: str, inverted: bool, linear: np.ndarray
) -> str:
    """One line of how an image is displayed: its window in the file's values, a header
    window that could not be used, inversion and reorientation."""
    state = [scale.describe(window)]
    if note:
        state.append(f"header window not used: {note}")
    if inverted:
        state.append("inverted")
    if not np.array_equal(linear, np.eye(2, dtype=int)):
        state.append("reoriented")
    return "  ·  ".join(state)


def orient(array: np.ndarray, linear: np.ndarray) -> np.ndarray:
    """Resample ``array`` (H, W[, C]) through a dihedral ``linear`` map of its x/y axes."""
    offset, (out_w, out_h) = oriented_frame(linear, array.shape)
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
    level = (gray * 255.0 + 0.5).astype(np.uint8)
    out = np.empty((*gray.shape, 3), dtype=np.uint8)
    for channel in range(3):  # three plain copies: faster than np.repeat or broadcasting
        out[..., channel] = level
    return out


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
