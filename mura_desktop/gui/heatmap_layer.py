"""The heatmap drawn over the radiograph: one image item that knows its map and style.

The overlay is coloured in a background thread: while a dataset is scored the GUI thread
shares the CPU with inference, and colouring a 768 px overlay on it then took 60-110 ms
(10 ms on a quiet machine), the longest stalls of the event loop (bench_stall.py).
"""

from __future__ import annotations

import math

import numpy as np

from mura_desktop.core.display import HeatmapStyle, overlay_layers, overlay_rgba
from mura_desktop.gui.background import BackgroundWorker
from mura_desktop.gui.pyqtgraph_setup import pg

PAINT_POLL_MS = 5

DISPLAY_SIDE = 768
"""The longest side the overlay is drawn at on screen. Maps are smooth (upsampled from a
grid of a few cells), so a finer overlay looks the same and costs the GUI thread more: a
3000 × 2500 radiograph's full-size overlay takes about half a second to colour."""


class HeatmapLayer(pg.ImageItem):
    """The map of the view on screen, drawn in a ``HeatmapStyle``.

    The style decides from the view's probability and the model's floor (its operating
    point, or the indeterminate band's lower edge) whether the map is drawn at all. On
    screen the overlay is at most ``DISPLAY_SIDE`` pixels long and stretched over the
    image (``display_scale``); ``layers()`` gives it at the image's own size, for exports.

    A new map clears the old one at once (never a map over another image, not even for a
    moment); its overlay appears when coloured (``pending`` until then). A new style
    keeps the old drawing until the new one is ready.
    """

    def __init__(self) -> None:
        super().__init__(axisOrder="row-major")
        self.setZValue(1)
        self.heatmap: np.ndarray | None = None
        self.style = HeatmapStyle()
        self.wanted = True  # the user's on/off switch
        self.display_scale = (1.0, 1.0)  # image pixels per overlay pixel, x and y
        self._probability: float | None = None
        self._floor: float | None = None
        self._layers: tuple[np.ndarray, np.ndarray] | None = None
        self._job: int | None = None  # the overlay being coloured, if any
        self._painter = BackgroundWorker(self, poll_ms=PAINT_POLL_MS, name="mura-overlay")
        self._painter.finished.connect(self._on_painted)
        self._painter.failed.connect(self._on_failed)

    def set_map(
        self, heatmap: np.ndarray | None, probability: float | None, floor: float | None
    ) -> None:
        if heatmap is not self.heatmap:
            self.clear()
        self.heatmap = heatmap
        self._probability, self._floor = probability, floor
        self.redraw()

    def set_style(self, style: HeatmapStyle) -> None:
        self.style = style
        self.redraw()

    def set_wanted(self, wanted: bool) -> None:
        self.wanted = bool(wanted)
        self.setVisible(self.wanted)

    @property
    def shown_by_style(self) -> bool:
        return self.heatmap is not None and self.style.shown(self._probability, self._floor)

    @property
    def drawn(self) -> bool:
        """Whether a map is drawn (present, switched on, and the style shows it), once its
        overlay is coloured if ``pending``."""
        return self.wanted and self.shown_by_style

    def layers(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The RGB and alpha drawn, at the image's size, or None when no map is drawn."""
        if not self.drawn:
            return None
        if self._layers is None:
            self._layers = overlay_layers(self.heatmap, self.style, self._probability)
        return self._layers

    @property
    def pending(self) -> bool:
        """Whether an overlay is being coloured (what is on screen is about to change)."""
        return self._job is not None

    def redraw(self) -> None:
        self._layers = None
        if not self.shown_by_style:
            self._job = None
            self.clear()
            self.display_scale = (1.0, 1.0)
        else:
            h, w = self.heatmap.shape
            step = max(1, math.ceil(max(h, w) / DISPLAY_SIDE))
            small = self.heatmap[::step, ::step]
            style, probability = self.style, self._probability
            self._job = self._painter.submit(lambda: overlay_rgba(small, style, probability))
            self.display_scale = (w / small.shape[1], h / small.shape[0])
        self.setVisible(self.wanted)

    def _on_painted(self, job: int, rgba: np.ndarray) -> None:
        if job != self._job:
            return  # a map or style replaced since
        self._job = None
        self.setImage(rgba, autoLevels=False, levels=None)

    def _on_failed(self, job: int, _text: str) -> None:
        if job == self._job:  # logged by the worker; no drawing is better than a stale one
            self._job = None
            self.clear()
