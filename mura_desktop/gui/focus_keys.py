"""Keys go to the widget that has focus: the viewer's window-wide shortcuts (↑/↓ view,
PgUp/PgDn study, …) never take the navigation keys of a list, a field or a slider."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
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
    """An application event filter: in ``window``, a navigation key pressed in a navigable
    widget is claimed for that widget (its ShortcutOverride is accepted), so no shortcut
    fires and the widget moves as the user expects."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(watched, NAVIGABLE)
            and isinstance(event, QKeyEvent)
            and Qt.Key(event.key()) in NAVIGATION_KEYS
            and not event.modifiers() & Qt.KeyboardModifier.ControlModifier
            and watched.window() is self._window
        ):
            event.accept()
            return True
        return False
