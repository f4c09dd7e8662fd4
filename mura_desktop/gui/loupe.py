"""A magnifier that follows the cursor over the image: the region under it, as shown
(window, inversion, heatmap, orientation), enlarged in a square beside the cursor."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QPointF, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel

from mura_desktop.gui.image_view import ImageView

SIDE = 224  # screen pixels, a multiple of 2 × MAGNIFICATION
MAGNIFICATION = 4


class Loupe(QObject):
    def __init__(self, view: ImageView) -> None:
        super().__init__(view)
        self.view = view
        self.enabled = False
        self.label = QLabel(view.viewport())
        self.label.setFixedSize(SIDE, SIDE)
        self.label.setStyleSheet("border: 2px solid #ffd54f; background: black;")
        self.label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.label.hide()
        view.imageHovered.connect(self._follow)
        view.imageLeft.connect(self.label.hide)

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = bool(enabled)
        if not self.enabled:
            self.label.hide()

    def show_at(self, x: int, y: int, where: QPointF) -> None:
        """Magnify image pixel (x, y), the square placed beside viewport point ``where``."""
        radius = max(SIDE // (2 * MAGNIFICATION), 1)
        region = self.view.rendered_region(x, y, radius)
        enlarged = np.ascontiguousarray(
            np.repeat(np.repeat(region, MAGNIFICATION, axis=0), MAGNIFICATION, axis=1)
        )
        h, w = enlarged.shape[:2]
        image = QImage(enlarged.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self.label.setPixmap(QPixmap.fromImage(image))
        viewport = self.view.viewport()
        left = where.x() + 24 if where.x() + 24 + SIDE < viewport.width() else where.x() - 24 - SIDE
        left = min(max(left, 0), max(viewport.width() - SIDE, 0))
        top = min(max(where.y() - SIDE / 2, 0), max(viewport.height() - SIDE, 0))
        self.label.move(int(left), int(top))
        self.label.show()
        self.label.raise_()

    def _follow(self, x: int, y: int, where: QPointF) -> None:
        if self.enabled and self.view.image is not None:
            self.show_at(x, y, where)
