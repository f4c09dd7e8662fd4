"""The strip under the image: heatmap toggle, opacity, the colour bar and what maps mean."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QWidget

from mura_desktop.core.display import HeatmapStyle, turbo


class ColorBar(QWidget):
    """A horizontal turbo gradient labelled low → high, matching the overlay's colours."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(120, 18)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Heatmap colours: blue = low, red = high model attention")
        stops = np.linspace(0.0, 1.0, 11)
        self._colors = [(float(s), QColor(*(turbo(np.array(s)) * 255).astype(int))) for s in stops]

    def paintEvent(self, event):
        painter = QPainter(self)
        rect = QRectF(self.rect()).adjusted(30, 3, -32, -3)
        gradient = QLinearGradient(rect.topLeft(), rect.topRight())
        for stop, color in self._colors:
            gradient.setColorAt(stop, color)
        painter.fillRect(rect, gradient)
        painter.setPen(self.palette().windowText().color())
        painter.drawText(QRectF(0, 0, 28, self.height()), Qt.AlignmentFlag.AlignCenter, "low")
        painter.drawText(
            QRectF(self.width() - 30, 0, 30, self.height()), Qt.AlignmentFlag.AlignCenter, "high"
        )
        painter.end()


class HeatmapBar(QWidget):
    """Overlay controls under the image: toggle, opacity, colour bar and what maps mean."""

    visibilityToggled = Signal(bool)
    opacityChanged = Signal(float)

    NOTE = (
        "Maps are normalised per image: colours rank regions within this image, not across images."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggle = QCheckBox("Heatmap (M)")
        self.toggle.setChecked(True)
        self.toggle.toggled.connect(self.visibilityToggled)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(50)
        self.slider.setMinimumWidth(60)  # the bar must not widen the centre: the docks pay
        self.slider.setMaximumWidth(120)
        self.slider.setToolTip("Overlay opacity")
        self.slider.valueChanged.connect(lambda v: self.opacityChanged.emit(v / 100.0))
        self.colorbar = ColorBar()
        self.colorbar.setMaximumWidth(260)
        self.note = QLabel(self.NOTE)
        self.note.setStyleSheet("color: gray; font-size: 11px;")
        self.note.setWordWrap(True)
        self.note.setMinimumWidth(150)  # never a column of one word per line
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        row.addWidget(self.toggle)
        row.addWidget(QLabel("Opacity"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.colorbar, 1)
        row.addWidget(self.note, 2)

    def set_legend(self, style: HeatmapStyle) -> None:
        """Say under the image what ``style``'s drawing means (the longer explanation of the
        per-image scale in the tooltip, so the line under the image stays short)."""
        self.note.setText(style.caption())
        self.note.setToolTip(f"{style.legend()}. {self.NOTE}")
        self.colorbar.setVisible(style.mode != "off")

    def set_state(self, visible: bool, opacity: float) -> None:
        self.toggle.setChecked(visible)
        self.slider.setValue(round(opacity * 100))
