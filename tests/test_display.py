"""Display maths without Qt: windowing, orientation, thumbnails and heatmap colours."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mura_desktop.core.display import (
    FLIP_H,
    MIN_WIDTH,
    OUTLINE_RGB,
    HeatmapStyle,
    ValueScale,
    Window,
    _outline,  # the line's pixels, checked against scipy
    auto_window,
    blend_heatmap,
    clipped_square,
    display_summary,
    draw_heatmap,
    gray_rgb,
    hottest_region,
    make_thumbnail,
    orient,
    overlay_layers,
    overlay_rgba,
    preset_window,
    rotated,
    shown_rgb,
    turbo,
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


def test_the_colour_wash_weights_each_colour_by_its_heat():
    heat = np.linspace(0, 1, 256, dtype=np.float32)[None, :]
    gray = np.zeros_like(heat)
    blended = blend_heatmap(gray, heat, 0.6).astype(int)
    expected = (turbo(heat[0]) * (0.6 * heat[0])[:, None] * 255).round().astype(int)
    assert np.abs(blended[0] - expected).max() <= 1
    rgba = overlay_rgba(heat, HeatmapStyle("wash", opacity=0.6))
    assert rgba[0, 0, 3] == 0 and rgba[0, -1, 3] == round(0.6 * 255)


def _two_spots(shape=(120, 160)) -> np.ndarray:
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    big = np.exp(-((ys - 40) ** 2 + (xs - 40) ** 2) / (2 * 12.0**2))
    small = 0.8 * np.exp(-((ys - 80) ** 2 + (xs - 120) ** 2) / (2 * 8.0**2))
    return (big + small).astype(np.float32)


def test_the_hottest_region_is_the_peaks_part_above_the_fraction():
    heat = _two_spots()
    region = hottest_region(heat, 0.5)
    assert region[40, 40] and not region[80, 120]  # the second spot is above 0.5 but apart
    assert np.all(heat[region] >= 0.5)
    assert hottest_region(heat, 0.9).sum() < region.sum()
    assert not hottest_region(np.zeros((4, 4)), 0.5).any()


def test_region_mode_colours_only_the_region_and_outlines_it():
    heat = _two_spots()
    rgb, alpha = overlay_layers(heat, HeatmapStyle("region", opacity=0.5))
    region = hottest_region(heat)
    assert np.all(alpha[~region] == 0)  # nothing outside, not even the second spot
    assert alpha[40, 40] == pytest.approx(0.5 * heat[40, 40])  # inside: the wash
    edge = region & ~np.roll(region, 1, axis=1)
    assert np.all(alpha[edge] == 1.0) and np.allclose(rgb[edge], OUTLINE_RGB)


def test_the_outline_is_the_regions_band_within_the_line_width_of_its_edge():
    from scipy import ndimage

    rng = np.random.default_rng(3)
    for size in (1, 2, 7, 40):
        for width in (1, 3):
            region = rng.random((size, size + 3)) < 0.8  # blobs touch the array's edges
            band = region & ~ndimage.binary_erosion(region, iterations=width, border_value=0)
            assert np.array_equal(_outline(region, width), band), (size, width)


def test_box_mode_draws_only_a_rectangle_around_the_region():
    heat = _two_spots()
    _, alpha = overlay_layers(heat, HeatmapStyle("box"))
    rows, columns = np.nonzero(hottest_region(heat))
    assert alpha[rows.min(), columns.min() : columns.max() + 1].min() == 1.0
    assert alpha[40, 40] == 0.0  # the inside stays readable
    assert set(np.unique(alpha)) == {0.0, 1.0}


def test_off_draws_nothing_and_probability_scales_the_opacity():
    heat = _two_spots()
    gray = np.full(heat.shape, 0.3, dtype=np.float32)
    assert np.array_equal(draw_heatmap(gray, heat, HeatmapStyle("off")), gray_rgb(gray))
    style = HeatmapStyle("wash", opacity=0.8, scale_by_probability=True)
    _, faint = overlay_layers(heat, style, probability=0.25)
    _, full = overlay_layers(heat, style, probability=1.0)
    assert faint.max() == pytest.approx(full.max() / 4)


def test_maps_show_at_or_above_the_floor_unless_all_views_are_asked_for():
    style = HeatmapStyle()
    assert style.shown(0.30, floor=0.30) and not style.shown(0.29, floor=0.30)
    assert not style.shown(None, floor=0.30)
    assert style.shown(0.10, floor=None)  # no operating point known: show
    assert HeatmapStyle(all_views=True).shown(0.10, floor=0.30)
    assert not HeatmapStyle("off", all_views=True).shown(0.99, floor=0.30)
    assert "normalised per image" in style.legend()
    assert len(style.caption()) < 45 and "50%" in style.caption()
    with pytest.raises(ValueError, match="mode"):
        HeatmapStyle("rainbow")


def test_presets_give_the_file_window_the_bulk_or_everything():
    pixels = np.linspace(0.0, 1.0, 10_000, dtype=np.float32).reshape(100, 100)
    default = Window(0.3, 0.2)
    assert preset_window("File default", pixels, default) == default
    assert preset_window("Full range", pixels, default) == Window(0.5, 1.0)
    assert preset_window("Auto contrast", pixels, default) == auto_window(pixels)
    with pytest.raises(ValueError, match="unknown window preset"):
        preset_window("Lung", pixels, default)


def test_four_quarter_turns_come_back_and_a_flip_is_undone_by_itself():
    eye = np.eye(2, dtype=int)
    assert np.array_equal(rotated(eye, 4), eye)
    assert np.array_equal(rotated(rotated(eye, 1), -1), eye)
    assert np.array_equal(FLIP_H @ FLIP_H, eye)
    image = np.arange(6).reshape(2, 3)
    assert np.array_equal(orient(image, rotated(eye, 1)), np.rot90(image, -1))


def test_the_clipped_square_pairs_the_arrays_part_with_the_squares_part():
    source, inside = clipped_square((10, 10), 1, 2, 4)  # the square spans x -3..5, y -2..6
    assert source == (slice(0, 6), slice(0, 5)) and inside == (slice(2, 8), slice(3, 8))
    assert clipped_square((10, 10), 30, 30, 4) is None


def test_shown_rgb_windows_inverts_and_composites():
    pixels = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    assert shown_rgb(pixels, (0.0, 1.0), True)[0, :, 0].tolist() == [255, 128, 0]
    red = np.zeros((1, 3, 3), np.float32)
    red[..., 0] = 1.0
    rgb = shown_rgb(pixels, (0.0, 1.0), False, (red, np.array([[0.0, 1.0, 0.0]])))
    assert rgb[0, 1].tolist() == [255, 0, 0] and rgb[0, 0].tolist() == [0, 0, 0]


def test_the_display_summary_names_what_was_changed():
    scale = ValueScale(0.0, 4096.0)
    plain = display_summary(scale, Window(0.5, 1.0), "", False, np.eye(2, dtype=int))
    assert "inverted" not in plain and "reoriented" not in plain
    changed = display_summary(scale, Window(0.5, 1.0), "outside", True, FLIP_H)
    assert changed.endswith("header window not used: outside  ·  inverted  ·  reoriented")
