"""Text over an image viewport: four corner captions and a centred message."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")
_MARGIN = 6


def _overlay_label(parent: QWidget, style: str) -> QLabel:
    label = QLabel(parent)
    label.setStyleSheet(style)
    label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    label.hide()
    return label


class ViewCaptions:
    """Labels that float over ``viewport`` and stay in place as it is resized."""

    def __init__(self, viewport: QWidget) -> None:
        self._viewport = viewport
        self._corner = {
            name: _overlay_label(
                viewport,
                "color: #f0f0f0; background: rgba(0, 0, 0, 140); padding: 2px 5px;"
                " border-radius: 3px;",
            )
            for name in CORNERS
        }
        self._message = _overlay_label(
            viewport, "color: #dddddd; font-size: 15px; background: transparent;"
        )
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setWordWrap(True)

    def show(self, texts: dict[str, str]) -> None:
        """Put ``texts`` (corner → text) in the corners; a corner left out is hidden."""
        for corner, label in self._corner.items():
            text = texts.get(corner, "")
            label.setText(text)
            label.setVisible(bool(text))
            label.adjustSize()
        self.place()

    def text(self, corner: str) -> str:
        return self._corner[corner].text()

    def set_message(self, text: str) -> None:
        self._message.setText(text)
        self._message.setVisible(bool(text))
        self.place()

    @property
    def message(self) -> str:
        return self._message.text() if self._message.isVisible() else ""

    def place(self) -> None:
        w, h, m = self._viewport.width(), self._viewport.height(), _MARGIN
        corner = self._corner
        corner["top_left"].move(m, m)
        corner["top_right"].move(w - corner["top_right"].width() - m, m)
        corner["bottom_left"].move(m, h - corner["bottom_left"].height() - m)
        corner["bottom_right"].move(
            w - corner["bottom_right"].width() - m, h - corner["bottom_right"].height() - m
        )
        self._message.setGeometry(20, 0, max(w - 40, 10), h)
