"""The image comes first: a layout (saved, restored or grown by a panel) that leaves the image
view less than its share of the window is not kept."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow, QWidget

MIN_IMAGE_SHARE = 0.5
"""The smallest part of the central area, in each direction, the image view may get."""

MIN_CENTRAL_SHARE = 0.4
"""The smallest part of the window, in each direction, the central area may get."""


def image_has_room(window: QMainWindow, image: QWidget) -> bool:
    """Whether ``image`` (in ``window``'s central widget) has its share of the window."""
    central = window.centralWidget()
    if central is None or window.width() <= 0 or window.height() <= 0:
        return True
    return (
        central.width() >= MIN_CENTRAL_SHARE * window.width()
        and central.height() >= MIN_CENTRAL_SHARE * window.height()
        and image.width() >= MIN_IMAGE_SHARE * central.width()
        and image.height() >= MIN_IMAGE_SHARE * central.height()
    )
