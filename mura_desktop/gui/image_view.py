"""The large image view: window/level, zoom, pan, orientation and the heatmap overlay.

Mouse (OHIF/Weasis conventions): left-drag sets window (horizontal) and level (vertical),
middle-drag or shift+left-drag pans, right-drag or the wheel zooms about the cursor,
double-click fits. Orientation changes act on the screen axes, whatever was done before.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import (
    QVBoxLayout,
    QWidget,
)

from mura_desktop.core.display import (
    FLIP_H,
    FLIP_V,
    MIN_WIDTH,
    HeatmapStyle,
    NamedWindow,
    Window,
    clipped_square,
    display_summary,
    orient,
    preset_window,
    rotated,
    shown_rgb,
)
from mura_desktop.core.pixels import LoadedImage
from mura_desktop.gui.heatmap_layer import HeatmapLayer
from mura_desktop.gui.image_viewbox import GRAY_LUT, ImageViewBox, screen_transform
from mura_desktop.gui.pyqtgraph_setup import pg
from mura_desktop.gui.view_captions import ViewCaptions

_DRAG_GAIN = 1.0 / 400.0  # window units per screen pixel of drag


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
        self._window = Window(0.5, 1.0)
        self._inverted = False
        self._linear = np.eye(2, dtype=int)

        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a click on the image takes the keys
        self._graphics = pg.GraphicsView(background="k")
        self._graphics.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._viewbox = ImageViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self._viewbox.setDefaultPadding(0.02)
        self._graphics.setCentralItem(self._viewbox)
        self._gray = pg.ImageItem(axisOrder="row-major")
        self._gray.setLookupTable(GRAY_LUT)
        self._heat = HeatmapLayer()
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

        self._overlay_text = ViewCaptions(self._graphics.viewport())
        self._captions: dict[str, str] = {}

    # --- content ------------------------------------------------------------------------

    @property
    def image(self) -> LoadedImage | None:
        return self._image

    @property
    def heatmap(self) -> np.ndarray | None:
        return self._heat.heatmap

    def set_image(self, image: LoadedImage | None, keep_display: bool = False) -> None:
        """Show ``image``; unless ``keep_display``, window and orientation go back to defaults."""
        self._image = image
        self._heat.set_map(None, None, None)
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
        self._heat.set_map(heatmap, probability, floor)
        self._apply_orientation()
        self.displayChanged.emit()

    def set_message(self, text: str) -> None:
        """Centred text over the view (loading, failure, empty state); "" hides it."""
        self._overlay_text.set_message(text)

    @property
    def message(self) -> str:
        return self._overlay_text.message

    def set_caption(self, corner: str, text: str) -> None:
        """Text in a corner: ``top_left``, ``top_right``, ``bottom_left``, ``bottom_right``."""
        self._captions[corner] = text
        self._update_captions()

    def caption(self, corner: str) -> str:
        return self._overlay_text.text(corner)

    # --- heatmap ------------------------------------------------------------------------

    @property
    def heatmap_visible(self) -> bool:
        return self._heat.wanted

    def set_heatmap_visible(self, visible: bool) -> None:
        self._heat.set_wanted(visible)
        self.displayChanged.emit()

    @property
    def heatmap_opacity(self) -> float:
        return self._heat.style.opacity

    def set_heatmap_opacity(self, opacity: float) -> None:
        style = self._heat.style
        self.set_heatmap_style(replace(style, opacity=float(np.clip(opacity, 0.0, 1.0))))

    @property
    def heatmap_style(self) -> HeatmapStyle:
        return self._heat.style

    def set_heatmap_style(self, style: HeatmapStyle) -> None:
        """Draw maps as ``style`` says (mode, opacity, which views); redraws the current one."""
        self._heat.set_style(style)
        self._apply_orientation()
        self.displayChanged.emit()

    @property
    def heatmap_drawn(self) -> bool:
        """Whether a map is drawn (present, visible, and the style shows it); its overlay
        may still be being coloured (``heatmap_pending``)."""
        return self._heat.drawn

    @property
    def heatmap_pending(self) -> bool:
        """Whether the map's overlay is still being coloured (in the background)."""
        return self._heat.pending

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
        default = Window(self._image.window_center, self._image.window_width)
        window = preset_window(name, self._image.pixels, default)
        self.set_window(window.center, window.width)

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
        self._linear = rotated(self._linear, quarter_turns)
        self._orientation_changed()

    def flip_horizontal(self) -> None:
        self._linear = FLIP_H @ self._linear
        self._orientation_changed()

    def flip_vertical(self) -> None:
        self._linear = FLIP_V @ self._linear
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
        self._viewbox.show_one_to_one(self._graphics.devicePixelRatioF())
        self._update_captions()

    def zoom_by(self, factor: float) -> None:
        self._viewbox.scaleBy((1.0 / factor, 1.0 / factor))
        self._update_captions()

    @property
    def zoom(self) -> float:
        """Screen pixels per image pixel."""
        return self._viewbox.zoom()

    # --- export -------------------------------------------------------------------------

    def rendered_rgb(self) -> np.ndarray:
        """The whole image as shown (window, inversion, overlay, orientation), RGB uint8."""
        return orient(self._shown((slice(None), slice(None))), self._linear)

    def rendered_region(self, x: int, y: int, radius: int) -> np.ndarray:
        """The square of side ``2·radius`` around image pixel (x, y) as shown (window,
        inversion, heatmap, orientation), RGB uint8; parts outside the image are black."""
        rgb = np.zeros((2 * radius, 2 * radius, 3), np.uint8)
        parts = clipped_square(self._shown_image().pixels.shape, x, y, radius)
        if parts is not None:
            rgb[parts[1]] = self._shown(parts[0])
        return orient(rgb, self._linear)

    def _shown_image(self) -> LoadedImage:
        if self._image is None:
            raise ValueError("no image on screen")
        return self._image

    def _shown(self, part: tuple[slice, slice]) -> np.ndarray:
        layers = self._heat.layers()
        if layers is not None:
            layers = (layers[0][part], layers[1][part])
        pixels = self._shown_image().pixels[part]
        return shown_rgb(pixels, self._window.levels, self._inverted, layers)

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
        if self._heat.heatmap is not None:
            text += f"   heat {self._heat.heatmap[y, x]:.2f}"
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
        transform = screen_transform(self._linear, self._image.pixels.shape)
        self._gray.setTransform(transform)
        self.overlay.setTransform(transform)
        self._heat.setTransform(QTransform.fromScale(*self._heat.display_scale) * transform)
        self._update_captions()

    def _update_captions(self, *_: object) -> None:
        if self._image is None:
            self._overlay_text.show({})
            return
        texts = dict(self._captions)
        image = self._image
        summary = display_summary(
            image.scale, self._window, image.window_note, self._inverted, self._linear
        )
        texts.setdefault("bottom_left", summary)
        texts.setdefault("bottom_right", f"{self.zoom * 100:.0f}%")
        self._overlay_text.show(texts)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._overlay_text.place()
