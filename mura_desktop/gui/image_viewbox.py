"""The pyqtgraph pieces under the image view: its view box, with the viewer's mouse
conventions, and the transform that orients an image on screen."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QTransform

from mura_desktop.core.display import oriented_frame
from mura_desktop.gui.pyqtgraph_setup import pg

GRAY_LUT = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)


def screen_transform(linear: np.ndarray, shape: tuple[int, ...]) -> QTransform:
    """The item transform that shows an image of ``shape`` through the dihedral ``linear``
    map, its top-left corner at the origin."""
    (dx, dy), _ = oriented_frame(linear, shape)
    (a, b), (c, d) = linear
    # QTransform maps (x, y) to (m11·x + m21·y + dx, m12·x + m22·y + dy)
    return QTransform(float(a), float(c), float(b), float(d), float(dx), float(dy))


class ImageViewBox(pg.ViewBox):
    """A ViewBox whose plain left-drag adjusts window/level instead of panning."""

    windowDragged = Signal(float, float)
    doubleClicked = Signal()
    clicked = Signal(object)  # scene position of a plain left click

    def mouseDragEvent(self, ev, axis=None):
        plain_left = ev.button() == Qt.MouseButton.LeftButton and not (
            ev.modifiers() & Qt.KeyboardModifier.ShiftModifier
        )
        if plain_left:
            ev.accept()
            delta = ev.screenPos() - ev.lastScreenPos()
            self.windowDragged.emit(delta.x(), delta.y())
        else:
            super().mouseDragEvent(ev, axis)

    def mouseDoubleClickEvent(self, ev):
        ev.accept()
        self.doubleClicked.emit()

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.clicked.emit(ev.scenePos())
        else:
            super().mouseClickEvent(ev)

    def zoom(self) -> float:
        """Screen pixels per scene unit (per image pixel)."""
        view = self.viewRect()
        return self.width() / view.width() if view.width() > 0 else 1.0

    def show_one_to_one(self, device_ratio: float) -> None:
        """One image pixel per screen pixel, centred where the view is centred now."""
        size, c = self.size(), self.viewRect().center()
        w, h = size.width() / device_ratio, size.height() / device_ratio
        self.setRange(QRectF(c.x() - w / 2, c.y() - h / 2, w, h), padding=0, disableAutoRange=True)
