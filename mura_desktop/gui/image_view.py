"""The large image view: window/level, zoom, pan, orientation and the heatmap overlay.

Mouse (OHIF/Weasis conventions): left-drag sets window (horizontal) and level (vertical),
middle-drag or shift+left-drag pans, right-drag or the wheel zooms about the cursor,
double-click fits. Orientation changes act on the screen axes, whatever was done before.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QTransform
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from mura_desktop.core.display import (
    MIN_WIDTH,
    HeatmapStyle,
    NamedWindow,
    Window,
    auto_window,
    composite,
    draw_heatmap,
    gray_rgb,
    orient,
    overlay_rgba,
    turbo,
    windowed,
)
from mura_desktop.core.pixels import LoadedImage

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

WINDOW_PRESETS: tuple[str, ...] = ("File default", "Auto contrast", "Full range")
_DRAG_GAIN = 1.0 / 400.0  # window units per screen pixel of drag

_ROTATE_CW = np.array([[0, -1], [1, 0]])
_FLIP_H = np.array([[-1, 0], [0, 1]])
_FLIP_V = np.array([[1, 0], [0, -1]])

GRAY_LUT = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)


class _ImageViewBox(pg.ViewBox):
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


class ImageView(QWidget):
    """One radiograph with optional heatmap, window/level and orientation.

    Signals
    -------
    pixelHovered(str)
        A description of the pixel under the cursor ("" when outside the image).
    displayChanged()
        Window, inversion, orientation or overlay changed.
    imageClicked(x, y)
        A left click, in the image's own pixel coordinates (any orientation on screen).
    rangeChanged()
        Zoom or pan changed.
    imageHovered(x, y, viewport position)
        The cursor over the image (image coordinates, and where it is in the viewport);
        ``imageLeft()`` when it leaves.

    ``overlay`` is a graphics group drawn over the image in its own pixel coordinates
    (it follows rotations and flips), for measurements.
    """

    pixelHovered = Signal(str)
    displayChanged = Signal()
    imageClicked = Signal(float, float)
    imageHovered = Signal(int, int, object)
    imageLeft = Signal()
    rangeChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: LoadedImage | None = None
        self._heatmap: np.ndarray | None = None
        self._window = Window(0.5, 1.0)
        self._inverted = False
        self._linear = np.eye(2, dtype=int)
        self._heatmap_visible = True
        self._style = HeatmapStyle()
        self._overlay: np.ndarray | None = None  # the drawn map, RGBA, image coordinates
        self._probability: float | None = None
        self._floor: float | None = None

        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a click on the image takes the keys
        self._graphics = pg.GraphicsView(background="k")
        self._graphics.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._viewbox = _ImageViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self._viewbox.setDefaultPadding(0.02)
        self._graphics.setCentralItem(self._viewbox)
        self._gray = pg.ImageItem(axisOrder="row-major")
        self._gray.setLookupTable(GRAY_LUT)
        self._heat = pg.ImageItem(axisOrder="row-major")
        self._heat.setZValue(1)
        self.overlay = pg.ItemGroup()
        self.overlay.setZValue(2)
        self._viewbox.addItem(self._gray)
        self._viewbox.addItem(self._heat)
        self._viewbox.addItem(self.overlay)
        self._viewbox.clicked.connect(self._on_click)
        self._viewbox.windowDragged.connect(self._on_window_drag)
        self._viewbox.doubleClicked.connect(self.fit)
        self._viewbox.sigRangeChanged.connect(self._update_captions)
        self._viewbox.sigRangeChanged.connect(lambda *_: self.rangeChanged.emit())
        self._graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._graphics)

        viewport = self._graphics.viewport()
        self._corner = {
            name: self._make_caption(viewport)
            for name in ("top_left", "top_right", "bottom_left", "bottom_right")
        }
        self._message = QLabel(viewport)
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setWordWrap(True)
        self._message.setStyleSheet("color: #dddddd; font-size: 15px; background: transparent;")
        self._message.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._captions: dict[str, str] = {}
        self.set_message("")

    # --- content ------------------------------------------------------------------------

    @property
    def image(self) -> LoadedImage | None:
        return self._image

    @property
    def heatmap(self) -> np.ndarray | None:
        return self._heatmap

    def set_image(self, image: LoadedImage | None, keep_display: bool = False) -> None:
        """Show ``image``; unless ``keep_display``, window and orientation go back to defaults."""
        self._image = image
        self._heatmap = None
        self._overlay = None
        self._heat.clear()
        if image is None:
            self._gray.clear()
            self._update_captions()
            return
        self.set_message("")
        if not keep_display:
            self._window = Window(image.window_center, max(image.window_width, MIN_WIDTH))
            self._inverted = False
            self._linear = np.eye(2, dtype=int)
        self._gray.setImage(image.pixels, autoLevels=False, levels=self._window.levels)
        self._apply_lut()
        self._apply_orientation()
        self.fit()
        self.displayChanged.emit()

    def set_heatmap(
        self,
        heatmap: np.ndarray | None,
        probability: float | None = None,
        floor: float | None = None,
    ) -> None:
        """Overlay ``heatmap`` (float (H, W) in [0, 1], the image's shape) or remove it.

        ``probability`` is the view's score and ``floor`` the model's operating point (or
        its indeterminate band's lower edge): the style decides from them whether the map
        is drawn (``heatmap_drawn``) and how strongly.
        """
        if heatmap is not None and (
            self._image is None or heatmap.shape != self._image.pixels.shape
        ):
            raise ValueError("heatmap shape does not match the image on screen")
        self._heatmap = heatmap
        self._probability, self._floor = probability, floor
        self._redraw_heatmap()

    def set_message(self, text: str) -> None:
        """Centred text over the view (loading, failure, empty state); "" hides it."""
        self._message.setText(text)
        self._message.setVisible(bool(text))
        self._place_overlays()

    @property
    def message(self) -> str:
        return self._message.text() if self._message.isVisible() else ""

    def set_caption(self, corner: str, text: str) -> None:
        """Text in a corner: ``top_left``, ``top_right``, ``bottom_left``, ``bottom_right``."""
        self._captions[corner] = text
        self._update_captions()

    def caption(self, corner: str) -> str:
        return self._corner[corner].text()

    # --- heatmap ------------------------------------------------------------------------

    @property
    def heatmap_visible(self) -> bool:
        return self._heatmap_visible

    def set_heatmap_visible(self, visible: bool) -> None:
        self._heatmap_visible = bool(visible)
        self._heat.setVisible(self._heatmap_visible)
        self.displayChanged.emit()

    @property
    def heatmap_opacity(self) -> float:
        return self._style.opacity

    def set_heatmap_opacity(self, opacity: float) -> None:
        self.set_heatmap_style(replace(self._style, opacity=float(np.clip(opacity, 0.0, 1.0))))

    @property
    def heatmap_style(self) -> HeatmapStyle:
        return self._style

    def set_heatmap_style(self, style: HeatmapStyle) -> None:
        """Draw maps as ``style`` says (mode, opacity, which views); redraws the current one."""
        self._style = style
        self._redraw_heatmap()

    @property
    def heatmap_drawn(self) -> bool:
        """Whether a map is on screen now (present, visible, and the style shows it)."""
        return (
            self._heatmap is not None
            and self._heatmap_visible
            and self._style.shown(self._probability, self._floor)
        )

    def _redraw_heatmap(self) -> None:
        self._overlay = None
        if self._heatmap is None or not self._style.shown(self._probability, self._floor):
            self._heat.clear()
        else:
            self._overlay = overlay_rgba(self._heatmap, self._style, self._probability)
            self._heat.setImage(self._overlay, autoLevels=False, levels=None)
            self._apply_orientation()
        self._heat.setVisible(self._heatmap_visible)
        self.displayChanged.emit()

    # --- window / level -----------------------------------------------------------------

    @property
    def window(self) -> Window:
        return self._window

    def set_window(self, center: float, width: float) -> None:
        self._window = Window(float(center), max(float(width), MIN_WIDTH))
        self._gray.setLevels(self._window.levels)
        self._update_captions()
        self.displayChanged.emit()

    def apply_preset(self, name: str) -> None:
        if self._image is None:
            return
        if name == "File default":
            self.set_window(self._image.window_center, self._image.window_width)
        elif name == "Auto contrast":
            win = auto_window(self._image.pixels)
            self.set_window(win.center, win.width)
        elif name == "Full range":
            self.set_window(0.5, 1.0)
        else:
            raise ValueError(f"unknown window preset {name!r}")

    def apply_named_window(self, named: NamedWindow) -> None:
        """A window the file names (in its own values), e.g. a DICOM header's "BONE"."""
        if self._image is not None:
            window = self._image.scale.from_file(named.center, named.width)
            self.set_window(window.center, window.width)

    @property
    def inverted(self) -> bool:
        return self._inverted

    def toggle_invert(self) -> None:
        self._inverted = not self._inverted
        self._apply_lut()
        self._update_captions()
        self.displayChanged.emit()

    # --- orientation --------------------------------------------------------------------

    @property
    def orientation(self) -> np.ndarray:
        """The 2×2 map from image axes to screen axes (a rotation and/or flip)."""
        return self._linear.copy()

    def rotate(self, quarter_turns: int) -> None:
        """Rotate on screen by ``quarter_turns`` × 90°, clockwise for positive values."""
        step = _ROTATE_CW if quarter_turns > 0 else _ROTATE_CW.T
        for _ in range(abs(quarter_turns)):
            self._linear = step @ self._linear
        self._orientation_changed()

    def flip_horizontal(self) -> None:
        self._linear = _FLIP_H @ self._linear
        self._orientation_changed()

    def flip_vertical(self) -> None:
        self._linear = _FLIP_V @ self._linear
        self._orientation_changed()

    def reset(self) -> None:
        """File default window, no inversion, original orientation, image fitted."""
        if self._image is None:
            return
        self._inverted = False
        self._apply_lut()
        self._linear = np.eye(2, dtype=int)
        self._apply_orientation()
        self.set_window(self._image.window_center, self._image.window_width)
        self.fit()

    # --- zoom ---------------------------------------------------------------------------

    def fit(self) -> None:
        if self._image is not None:
            self._viewbox.autoRange(items=[self._gray])
            self._update_captions()

    def actual_size(self) -> None:
        """One image pixel per screen pixel, centred where the view is centred now."""
        if self._image is None:
            return
        view = self._viewbox.viewRect()
        size = self._viewbox.size()
        ratio = self._graphics.devicePixelRatioF()
        w, h = size.width() / ratio, size.height() / ratio
        c = view.center()
        self._viewbox.setRange(
            QRectF(c.x() - w / 2, c.y() - h / 2, w, h), padding=0, disableAutoRange=True
        )
        self._update_captions()

    def zoom_by(self, factor: float) -> None:
        self._viewbox.scaleBy((1.0 / factor, 1.0 / factor))
        self._update_captions()

    @property
    def zoom(self) -> float:
        """Screen pixels per image pixel."""
        view = self._viewbox.viewRect()
        return self._viewbox.width() / view.width() if view.width() > 0 else 1.0

    # --- export -------------------------------------------------------------------------

    def rendered_rgb(self) -> np.ndarray:
        """The whole image as shown (window, inversion, overlay, orientation), RGB uint8."""
        if self._image is None:
            raise ValueError("no image on screen")
        gray = windowed(self._image.pixels, *self._window.levels)
        if self._inverted:
            gray = 1.0 - gray
        if self.heatmap_drawn:
            rgb = draw_heatmap(gray, self._heatmap, self._style, self._probability)
        else:
            rgb = gray_rgb(gray)
        return orient(rgb, self._linear)

    def rendered_region(self, x: int, y: int, radius: int) -> np.ndarray:
        """The square of side ``2·radius`` around image pixel (x, y) as shown (window,
        inversion, heatmap, orientation), RGB uint8; parts outside the image are black."""
        if self._image is None:
            raise ValueError("no image on screen")
        h, w = self._image.pixels.shape
        x0, y0, x1, y1 = x - radius, y - radius, x + radius, y + radius
        crop = np.zeros((2 * radius, 2 * radius), np.float32)
        overlay = np.zeros((2 * radius, 2 * radius, 4), np.uint8)
        sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if sx1 > sx0 and sy1 > sy0:
            inside = (slice(sy0 - y0, sy1 - y0), slice(sx0 - x0, sx1 - x0))
            crop[inside] = windowed(self._image.pixels[sy0:sy1, sx0:sx1], *self._window.levels)
            if self._inverted:
                crop[inside] = 1.0 - crop[inside]
            if self._overlay is not None:
                overlay[inside] = self._overlay[sy0:sy1, sx0:sx1]
        if self.heatmap_drawn and self._overlay is not None:
            layers = overlay.astype(np.float32) / 255.0
            rgb = composite(crop, layers[..., :3], layers[..., 3])
        else:
            rgb = gray_rgb(crop)
        return orient(rgb, self._linear)

    def view_rect(self) -> QRectF:
        """The part of the scene on screen (zoom and pan)."""
        return self._viewbox.viewRect()

    def set_view_rect(self, rect: QRectF) -> None:
        self._viewbox.setRange(rect, padding=0, disableAutoRange=True)

    def viewport(self) -> QWidget:
        """Where overlays over the image (captions, the loupe) are placed."""
        return self._graphics.viewport()

    def pixel_at(self, scene_pos: QPointF) -> tuple[int, int, float] | None:
        """(x, y, value) of the image pixel under a scene position, or None outside."""
        if self._image is None:
            return None
        p = self._gray.mapFromScene(scene_pos)
        x, y = int(np.floor(p.x())), int(np.floor(p.y()))
        h, w = self._image.pixels.shape
        if 0 <= x < w and 0 <= y < h:
            return x, y, float(self._image.pixels[y, x])
        return None

    # --- internals ----------------------------------------------------------------------

    def _on_window_drag(self, dx: float, dy: float) -> None:
        if self._image is None:
            return
        self.set_window(self._window.center + dy * _DRAG_GAIN, self._window.width + dx * _DRAG_GAIN)

    def _on_click(self, scene_pos: QPointF) -> None:
        if self._image is not None:
            p = self._gray.mapFromScene(scene_pos)
            self.imageClicked.emit(float(p.x()), float(p.y()))

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        hit = self.pixel_at(scene_pos)
        if hit is None:
            self.pixelHovered.emit("")
            self.imageLeft.emit()
            return
        x, y, value = hit
        self.imageHovered.emit(x, y, self._graphics.mapFromScene(scene_pos))
        text = f"x {x}, y {y}: {value:.4f}"
        if self._heatmap is not None:
            text += f"   heat {self._heatmap[y, x]:.2f}"
        self.pixelHovered.emit(text)

    def _apply_lut(self) -> None:
        self._gray.setLookupTable(GRAY_LUT[::-1] if self._inverted else GRAY_LUT)

    def _orientation_changed(self) -> None:
        self._apply_orientation()
        self.fit()
        self.displayChanged.emit()

    def _apply_orientation(self) -> None:
        if self._image is None:
            return
        h, w = self._image.pixels.shape
        corners = self._linear @ np.array([[0, w, 0, w], [0, 0, h, h]])
        dx, dy = -corners.min(axis=1)
        (a, b), (c, d) = self._linear
        # QTransform maps (x, y) to (m11·x + m21·y + dx, m12·x + m22·y + dy)
        transform = QTransform(float(a), float(c), float(b), float(d), float(dx), float(dy))
        for item in (self._gray, self._heat, self.overlay):
            item.setTransform(transform)
        self._update_captions()

    def _make_caption(self, parent: QWidget) -> QLabel:
        label = QLabel(parent)
        label.setStyleSheet(
            "color: #f0f0f0; background: rgba(0, 0, 0, 140); padding: 2px 5px; border-radius: 3px;"
        )
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        label.hide()
        return label

    def _update_captions(self, *_: object) -> None:
        texts = dict(self._captions)
        if self._image is not None:
            state = [self._image.scale.describe(self._window)]
            if self._image.window_note:
                state.append(f"header window not used: {self._image.window_note}")
            if self._inverted:
                state.append("inverted")
            if not np.array_equal(self._linear, np.eye(2, dtype=int)):
                state.append("reoriented")
            texts.setdefault("bottom_left", "  ·  ".join(state))
            texts.setdefault("bottom_right", f"{self.zoom * 100:.0f}%")
        for corner, label in self._corner.items():
            text = texts.get(corner, "") if self._image is not None else ""
            label.setText(text)
            label.setVisible(bool(text))
            label.adjustSize()
        self._place_overlays()

    def _place_overlays(self) -> None:
        viewport = self._graphics.viewport()
        w, h, m = viewport.width(), viewport.height(), 6
        tl, tr = self._corner["top_left"], self._corner["top_right"]
        bl, br = self._corner["bottom_left"], self._corner["bottom_right"]
        tl.move(m, m)
        tr.move(w - tr.width() - m, m)
        bl.move(m, h - bl.height() - m)
        br.move(w - br.width() - m, h - br.height() - m)
        self._message.setGeometry(20, 0, max(w - 40, 10), h)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._update_captions()


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
        self.note.setText(style.legend())
        self.note.setToolTip(f"{style.legend()}. {self.NOTE}")
        self.colorbar.setVisible(style.mode != "off")

    def set_state(self, visible: bool, opacity: float) -> None:
        self.toggle.setChecked(visible)
        self.slider.setValue(round(opacity * 100))
