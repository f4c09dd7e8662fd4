"""Display maths without Qt: windowing, orientation, thumbnails and heatmap colours."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from mura_desktop.core.display import (
    MIN_WIDTH,
    auto_window,
    blend_heatmap,
    gray_rgb,
    heatmap_lut,
    make_thumbnail,
    orient,
    windowed,
)


def test_the_module_loads_without_qt():
    code = "import sys, mura_desktop.core.display; sys.exit('PySide6' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_windowing_maps_levels_to_0_and_1_and_clips():
    pixels = np.array([[0.0, 0.25, 0.5, 0.75, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(windowed(pixels, 0.25, 0.75), [[0, 0, 0.5, 1, 1]])
    assert np.isfinite(windowed(pixels, 0.5, 0.5)).all()  # a zero-width window is widened
    assert gray_rgb(windowed(pixels, 0.0, 1.0))[0, 2].tolist() == [128, 128, 128]


def test_auto_window_spans_the_bulk_of_the_values():
    pixels = np.linspace(0, 1, 10_000, dtype=np.float32).reshape(100, 100)
    window = auto_window(pixels)
    low, high = window.levels
    assert abs(low - 0.01) < 0.01 and abs(high - 0.99) < 0.01
    assert auto_window(np.zeros((4, 4), np.float32)).width == MIN_WIDTH


def test_orient_applies_rotations_and_flips_exactly():
    a = np.arange(12).reshape(3, 4)
    rotate = np.array([[0, -1], [1, 0]])  # 90° clockwise in image (y down) coordinates
    np.testing.assert_array_equal(orient(a, rotate), np.rot90(a, k=-1))
    np.testing.assert_array_equal(orient(a, np.array([[-1, 0], [0, 1]])), a[:, ::-1])
    np.testing.assert_array_equal(orient(a, np.eye(2, dtype=int)), a)


def test_thumbnail_block_means_then_windows():
    pixels = np.tile(np.array([[0.25, 0.75]], np.float32), (200, 100))
    thumb = make_thumbnail(pixels, 0.25, 0.75, size=100)
    assert thumb.dtype == np.uint8 and max(thumb.shape) <= 100
    assert set(np.unique(thumb).tolist()) <= {127, 128}  # each block averages 0.25 and 0.75


def test_the_viewer_lut_and_the_exported_blend_agree():
    heat = np.linspace(0, 1, 256, dtype=np.float32)[None, :]
    gray = np.zeros_like(heat)
    lut = heatmap_lut(0.6)
    blended = blend_heatmap(gray, heat, 0.6).astype(int)
    expected = (lut[:, :3].astype(int) * lut[:, 3:4].astype(int) / 255.0).round().astype(int)
    assert np.abs(blended[0] - expected).max() <= 2
