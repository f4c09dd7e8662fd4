"""Side-by-side views of one study: the main view plus up to three more (1×1, 1×2, 2×2),
optionally zooming and panning together. The main cell is the current view, the others
the views after it in the study's order; clicking one makes it current."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QWidget

from mura_desktop.core.pixels import LoadedImage
from mura_desktop.gui.image_view import ImageView
from mura_desktop.gui.verdict_text import probability_caption

LAYOUTS: dict[str, tuple[int, int]] = {"1×1": (1, 1), "1×2": (1, 2), "2×2": (2, 2)}


@dataclass
class Cell:
    """What one of the other cells shows: view ``index`` of the study."""

    index: int
    caption: str
    image: LoadedImage | None = None
    heatmap: np.ndarray | None = None
    message: str = ""
    probability: float | None = None
    floor: float | None = None


class ViewGrid(QWidget):
    cellClicked = Signal(int)  # the view index shown in the clicked cell

    def __init__(self, main: ImageView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.main = main
        self.layout_name = "1×1"
        self.linked = False
        self.others: list[ImageView] = []
        self._indices: list[int] = []
        self._syncing = False
        main.rangeChanged.connect(lambda: self._follow(main))
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        self._grid.addWidget(main, 0, 0)

    @property
    def n_cells(self) -> int:
        rows, columns = LAYOUTS[self.layout_name]
        return rows * columns

    def set_layout(self, name: str) -> None:
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}; expected one of {list(LAYOUTS)}")
        self.layout_name = name
        rows, columns = LAYOUTS[name]
        while len(self.others) < rows * columns - 1:
            view = ImageView()
            position = len(self.others)
            view.imageClicked.connect(lambda _x, _y, i=position: self._clicked(i))
            view.rangeChanged.connect(lambda v=view: self._follow(v))
            self.others.append(view)
        for i, view in enumerate(self.others):
            self._grid.removeWidget(view)
            cell = i + 1
            if cell < rows * columns:
                self._grid.addWidget(view, cell // columns, cell % columns)
                view.show()
            else:
                view.hide()
        self.set_linked(self.linked)

    def set_linked(self, linked: bool) -> None:
        """Zoom and pan all cells together, in image pixel coordinates, from the main
        view's current zoom and pan."""
        self.linked = bool(linked)
        self._follow(self.main)

    def show_cells(self, cells: list[Cell]) -> None:
        """Fill the other cells (as many as the layout has; the rest are emptied)."""
        visible = self.others[: self.n_cells - 1]
        self._indices = [c.index for c in cells[: len(visible)]]
        for i, view in enumerate(visible):
            cell = cells[i] if i < len(cells) else None
            if cell is None:
                view.set_image(None)
                more = self.main.image is not None
                view.set_message("No more views in this study." if more else "")
                continue
            if view.image is not cell.image:
                view.set_image(cell.image)
                self._follow(self.main)
            view.set_message(cell.message if cell.image is None else "")
            if cell.image is not None:
                shape_ok = (
                    cell.heatmap is not None and cell.heatmap.shape == cell.image.pixels.shape
                )
                view.set_heatmap_style(self.main.heatmap_style)
                view.set_heatmap(cell.heatmap if shape_ok else None, cell.probability, cell.floor)
                view.set_heatmap_visible(self.main.heatmap_visible)
            view.set_caption("top_left", cell.caption)
            view.set_caption("top_right", probability_caption(cell.probability))

    def _follow(self, source: ImageView) -> None:
        """When linked, every other shown cell takes ``source``'s zoom and pan."""
        if not self.linked or self._syncing or source.image is None:
            return
        self._syncing = True
        try:
            rect = source.view_rect()
            for view in [self.main, *self.others[: self.n_cells - 1]]:
                if view is not source and view.image is not None:
                    view.set_view_rect(rect)
        finally:
            self._syncing = False

    def _clicked(self, position: int) -> None:
        if position < len(self._indices):
            self.cellClicked.emit(self._indices[position])
