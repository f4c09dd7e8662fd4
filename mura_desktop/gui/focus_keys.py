"""Keys go to the widget that has focus: the viewer's window-wide shortcuts (↑/↓ view,
PgUp/PgDn study, …) never take the navigation keys of a list, a field or a slider."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

NAVIGATION_KEYS = frozenset(
    {
        Qt.Key.Key_Up,
        Qt.Key.Key_Down,
        Qt.Key.Key_Left,
        Qt.Key.Key_Right,
        Qt.Key.Key_PageUp,
        Qt.Key.Key_PageDown,
        Qt.Key.Key_Home,
        Qt.Key.Key_End,
    }
)
NAVIGABLE = (
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
)


class NavigationKeyGuard(QObject):
    """An event filter on ``window``: a navigation key pressed in a navigable widget of it
    is claimed for that widget (its ShortcutOverride is accepted), so no shortcut fires and
    the widget moves as the user expects.

    A ShortcutOverride the focus widget leaves unaccepted travels up its parents to the
    window, so the window's own filter sees every one. An application-wide filter saw every
    event of the application instead: a Python call per event (4,000 while the metrics
    panel was built), each waiting for the interpreter lock while a worker held it."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self._window or event.type() != QEvent.Type.ShortcutOverride:
            return False
        focus = QApplication.focusWidget()
        if (
            isinstance(focus, NAVIGABLE)
            and isinstance(event, QKeyEvent)
            and Qt.Key(event.key()) in NAVIGATION_KEYS
            and not event.modifiers() & Qt.KeyboardModifier.ControlModifier
            and focus.window() is self._window
        ):
            event.accept()
            return True
        return False
