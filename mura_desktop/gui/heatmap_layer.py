"""The heatmap drawn over the radiograph: one image item that knows its map and style."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from mura_desktop.core.display import HeatmapStyle, layers_rgba, overlay_layers


class HeatmapLayer(pg.ImageItem):
    """The map of the view on screen, drawn in a ``HeatmapStyle``.

    The style decides from the view's probability and the model's floor (its operating
    point, or the indeterminate band's lower edge) whether the map is drawn at all.
    """

    def __init__(self) -> None:
        super().__init__(axisOrder="row-major")
        self.setZValue(1)
        self.heatmap: np.ndarray | None = None
        self.style = HeatmapStyle()
        self.wanted = True  # the user's on/off switch
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
    def drawn(self) -> bool:
        """Whether a map is on screen now (present, switched on, and the style shows it)."""
        return self.wanted and self._layers is not None

    def layers(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The RGB and alpha on screen, or None when no map is drawn."""
        return self._layers if self.drawn else None

    def redraw(self) -> None:
        self._layers = None
        if self.heatmap is None or not self.style.shown(self._probability, self._floor):
            self.clear()
        else:
            self._layers = overlay_layers(self.heatmap, self.style, self._probability)
            self.setImage(layers_rgba(*self._layers), autoLevels=False, levels=None)
        self.setVisible(self.wanted)
