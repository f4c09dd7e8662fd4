"""The heatmap drawn over the radiograph: one image item that knows its map and style."""

from __future__ import annotations

import math

import numpy as np

from mura_desktop.core.display import HeatmapStyle, layers_rgba, overlay_layers
from mura_desktop.gui.pyqtgraph_setup import pg

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

    def set_map(
        self, heatmap: np.ndarray | None, probability: float | None, floor: float | None
    ) -> None:
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
        """Whether a map is on screen now (present, switched on, and the style shows it)."""
        return self.wanted and self.shown_by_style

    def layers(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The RGB and alpha drawn, at the image's size, or None when no map is drawn."""
        if not self.drawn:
            return None
        if self._layers is None:
            self._layers = overlay_layers(self.heatmap, self.style, self._probability)
        return self._layers

    def redraw(self) -> None:
        self._layers = None
        if not self.shown_by_style:
            self.clear()
            self.display_scale = (1.0, 1.0)
        else:
            h, w = self.heatmap.shape
            step = max(1, math.ceil(max(h, w) / DISPLAY_SIDE))
            small = self.heatmap[::step, ::step]
            self.setImage(
                layers_rgba(*overlay_layers(small, self.style, self._probability)),
                autoLevels=False,
                levels=None,
            )
            self.display_scale = (w / small.shape[1], h / small.shape[0])
        self.setVisible(self.wanted)
