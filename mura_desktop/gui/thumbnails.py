"""The strip of a study's views: thumbnails with a per-view probability badge.

A view that cannot be read keeps its place in the strip as a failed tile whose text and
tooltip give the reason, so the reader sees at once which file is missing from the score.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from mura_desktop.core.display import NO_VERDICT_COLOUR, THUMBNAIL_SIZE, VERDICT_COLOURS


def gray_qimage(array: np.ndarray) -> QImage:
    """A QImage that owns a copy of a 2-D uint8 array."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    h, w = array.shape
    return QImage(array.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


class ThumbnailTile(QFrame):
    """One view: the picture (or a failure notice), its file name and its probability."""

    clicked = Signal(int)

    def __init__(self, index: int, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.failure: str | None = None
        self.probability: float | None = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFixedWidth(THUMBNAIL_SIZE + 14)
        self._picture = QLabel("loading…")
        self._picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._picture.setFixedSize(QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        self._picture.setWordWrap(True)
        self._picture.setStyleSheet("background: #111; color: #bbb; font-size: 10px;")
        self._badge = QLabel("")
        self._badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._badge.hide()
        self._name = QLabel(name)
        self._name.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._name.setStyleSheet("font-size: 10px;")
        self._name.setToolTip(name)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addWidget(self._picture)
        layout.addWidget(self._badge)
        layout.addWidget(self._name)
        self.set_selected(False)

    @property
    def badge_text(self) -> str:
        return "" if self._badge.isHidden() else self._badge.text()

    def set_image(self, image: QImage) -> None:
        pixmap = QPixmap.fromImage(image).scaled(
            THUMBNAIL_SIZE,
            THUMBNAIL_SIZE,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self._picture.setPixmap(pixmap)

    def set_failed(self, reason: str) -> None:
        self.failure = reason
        self._picture.setPixmap(QPixmap())
        self._picture.setText(f"⚠ cannot read\n{_short_reason(reason)}")
        self._picture.setStyleSheet("background: #3b1f1f; color: #f5b7b1; font-size: 10px;")
        self.setToolTip(reason)
        self._set_badge("failed", NO_VERDICT_COLOUR)

    def set_probability(self, probability: float | None, verdict: str | None) -> None:
        """Badge with the view's probability, coloured by what the study rule would call it."""
        self.probability = probability
        if probability is None:
            if self.failure is None:
                self._badge.hide()
            return
        colour = VERDICT_COLOURS.get(verdict or "", NO_VERDICT_COLOUR)
        self._set_badge(f"p = {probability:.2f}", colour)

    def set_selected(self, selected: bool) -> None:
        border = "#3498db" if selected else "transparent"
        self.setStyleSheet(f"ThumbnailTile {{ border: 2px solid {border}; border-radius: 4px; }}")

    def _set_badge(self, text: str, color: str) -> None:
        self._badge.setText(text)
        self._badge.setStyleSheet(
            f"background: {color}; color: white; font-weight: bold; "
            "border-radius: 3px; padding: 1px;"
        )
        self._badge.show()

    def mousePressEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.index)
        super().mousePressEvent(event)


def _short_reason(reason: str) -> str:
    """The reason without the leading path (the tooltip keeps the whole message)."""
    text = reason.rsplit(": ", 1)[-1] if ": " in reason else reason
    return text if len(text) <= 60 else text[:57] + "…"


class ThumbnailStrip(QScrollArea):
    """A horizontal, scrollable row of ``ThumbnailTile`` s; emits ``viewSelected(index)``."""

    viewSelected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFixedHeight(THUMBNAIL_SIZE + 80)
        self._inner = QWidget()
        self._row = QHBoxLayout(self._inner)
        self._row.setContentsMargins(4, 4, 4, 4)
        self._row.setSpacing(6)
        self._row.addStretch(1)
        self.setWidget(self._inner)
        self._tiles: list[ThumbnailTile] = []
        self._selected = -1

    @property
    def tiles(self) -> list[ThumbnailTile]:
        return list(self._tiles)

    def set_views(self, names: list[str]) -> None:
        """Replace the strip with one loading tile per view name."""
        for tile in self._tiles:
            self._row.removeWidget(tile)
            tile.deleteLater()
        self._tiles = []
        for i, name in enumerate(names):
            tile = ThumbnailTile(i, name)
            tile.clicked.connect(self.viewSelected)
            self._row.insertWidget(i, tile)
            self._tiles.append(tile)
        self._selected = -1

    def set_thumbnail(self, index: int, image: QImage) -> None:
        if 0 <= index < len(self._tiles):
            self._tiles[index].set_image(image)

    def set_failed(self, index: int, reason: str) -> None:
        if 0 <= index < len(self._tiles):
            self._tiles[index].set_failed(reason)

    def set_probability(self, index: int, probability: float | None, verdict: str | None) -> None:
        if 0 <= index < len(self._tiles):
            self._tiles[index].set_probability(probability, verdict)

    def select(self, index: int) -> None:
        for tile in self._tiles:
            tile.set_selected(tile.index == index)
        self._selected = index
        if 0 <= index < len(self._tiles):
            self.ensureWidgetVisible(self._tiles[index])
