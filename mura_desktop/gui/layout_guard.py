"""The main window's size and dock layout. The image comes first: a layout (saved, restored
or grown by a panel) that leaves the image view less than its share of the window is not
kept."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow, QWidget

if TYPE_CHECKING:
    from mura_desktop.gui.main_window import MainWindow
    from mura_desktop.gui.settings import Settings

log = logging.getLogger(__name__)

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


class WindowLayout:
    """Sizes the window for its screen, lays out its docks, keeps the layout between
    launches and falls back to the default one when the image has no room."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self._default_state = None
        self._shown_once = False
        self._restored_state = False

    def first_size(self) -> None:
        """Nine tenths of the screen, at most 1400 × 900."""
        screen = QGuiApplication.primaryScreen()
        room = screen.availableGeometry().size() if screen is not None else None
        if room is not None and room.width() > 0:
            self.window.resize(
                min(1400, int(room.width() * 0.9)), min(900, int(room.height() * 0.9))
            )
        else:
            self.window.resize(1400, 900)

    def size_docks(self) -> None:
        w = self.window
        w.resizeDocks([w.browser_dock, w.verdict_dock], [430, 320], Qt.Orientation.Horizontal)
        w.resizeDocks([w.verdict_dock, w.tags_dock], [520, 260], Qt.Orientation.Vertical)

    def restore(self, settings: Settings) -> None:
        """The layout saved by the last launch, else the default one (remembered as the
        fallback)."""
        w = self.window
        self._default_state = w.saveState()
        if settings.geometry is not None:
            w.restoreGeometry(settings.geometry)
        self._restored_state = settings.window_state is not None
        if self._restored_state:
            w.restoreState(settings.window_state)
        else:
            self.size_docks()

    def save(self, settings: Settings) -> None:
        settings.geometry = self.window.saveGeometry()
        settings.window_state = self.window.saveState()

    def shown(self) -> None:
        """The first show: docks sized before it get their minimum, so size them again once
        the layout has its sizes, then check that the image has room."""
        if self._shown_once:
            return
        self._shown_once = True
        if not self._restored_state:
            QTimer.singleShot(0, self.size_docks)
        QTimer.singleShot(0, self.ensure_image_room)

    def ensure_image_room(self) -> bool:
        """Fall back to the default layout when the image view lacks its share of the window
        (a layout saved crushed, or from a larger screen); True if it had to."""
        w = self.window
        if image_has_room(w, w.grid):
            return False
        log.info("the image view had too little room; the default layout is restored")
        w.restoreState(self._default_state)
        self.size_docks()
        return True
