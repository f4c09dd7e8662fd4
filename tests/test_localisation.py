"""Localisation metrics of heatmaps against masks (core) and their phantom check (trainer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mura_desktop.core.localisation import (
    ViewLocalisation,
    format_localisation_table,
    localise,
    summarise,
)
from mura_desktop.core.metrics import OVERALL
from mura_desktop.inference.cam import display_heatmap
from trainer.localisation import oracle_map


def _mask(shape=(100, 120), rows=slice(40, 60), columns=slice(50, 70)) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[rows, columns] = True
    return mask


def _spot(shape, row, column, sigma=6.0) -> np.ndarray:
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    return np.exp(-((ys - row) ** 2 + (xs - column) ** 2) / (2 * sigma**2))


def test_peak_inside_the_mask_hits_both_pointing_games() -> None:
    mask = _mask()
    result = localise(_spot(mask.shape, 50, 60), mask)
    assert result.strict and result.tolerance
    assert result.energy > 0.5
    assert result.pixel_auroc > 0.95


def test_the_tolerance_is_15_pixels_from_the_mask_edge() -> None:
    mask = _mask()  # columns 50..69
    near = localise(_spot(mask.shape, 50, 69 + 15), mask)  # 15 px right of the last column
    far = localise(_spot(mask.shape, 50, 69 + 16), mask)
    assert not near.strict and near.tolerance
    assert near.offset == pytest.approx((50 - 49.5, 84 - 59.5))  # from the mask's centroid
    assert not far.strict and not far.tolerance
    diagonal = localise(_spot(mask.shape, 59 + 11, 69 + 11), mask)  # 15.6 px away
    assert not diagonal.tolerance


def test_energy_is_the_share_of_positive_mass_in_the_mask() -> None:
    mask = _mask()
    heatmap = np.where(mask, 1.0, 0.0)
    heatmap[0, :10] = 1.0  # 10 px outside beside the 400 inside
    heatmap[1, :] = -5.0  # negative values count as nothing
    assert localise(heatmap, mask).energy == pytest.approx(400 / 410)


def test_a_map_that_avoids_the_mask_scores_low_pixel_auroc() -> None:
    mask = _mask()
    result = localise(1.0 - _spot(mask.shape, 50, 60, sigma=20.0), mask)
    assert not result.strict
    assert result.pixel_auroc < 0.1


def test_shapes_must_match_and_masks_must_hold_something() -> None:
    with pytest.raises(ValueError, match="shape"):
        localise(np.zeros((10, 10)), np.ones((10, 11), dtype=bool))
    with pytest.raises(ValueError, match="empty"):
        localise(np.zeros((10, 10)), np.zeros((10, 10), dtype=bool))


def test_summaries_per_kind_and_overall() -> None:
    hit = ViewLocalisation(True, True, 0.8, 0.9, (0.0, 2.0))
    near = ViewLocalisation(False, True, 0.2, 0.7, (4.0, 10.0))
    miss = ViewLocalisation(False, False, 0.0, 0.3, (-1.0, -30.0))
    out = summarise([("fracture", hit), ("fracture", near), ("lytic", miss)])
    assert list(out) == [OVERALL, "fracture", "lytic"]
    assert out[OVERALL].n == 3
    assert out[OVERALL].strict == pytest.approx(1 / 3)
    assert out[OVERALL].tolerance == pytest.approx(2 / 3)
    assert out["fracture"].energy == pytest.approx(0.5)
    assert out["lytic"].pixel_auroc == pytest.approx(0.3)
    assert out["fracture"].offset == pytest.approx((2.0, 6.0))
    assert out[OVERALL].offset == pytest.approx((1.0, -6.0))
    table = format_localisation_table({"model": out})
    assert "fracture" in table and "66.7%" in table


def test_the_resolution_oracle_is_the_mask_at_the_grid() -> None:
    """The oracle map is the mask averaged over the grid, drawn as the viewer draws a map:
    a mask filling one cell peaks in that cell; a mask smaller than a cell, off a cell's
    centre, can miss its strict pointing game: that is what the grid costs."""
    mask = np.zeros((192, 192), dtype=bool)
    mask[64:96, 32:64] = True  # exactly cell (2, 1) of a 6x6 grid
    raw = oracle_map(torch.from_numpy(mask), (6, 6))
    assert raw[2, 1] == 1.0 and raw.sum() == 1.0
    assert localise(display_heatmap(raw, mask.shape), mask).strict
    small = np.zeros((192, 192), dtype=bool)
    small[65:70, 33:38] = True  # a corner of the cell, far from its centre (80, 48)
    oracle = display_heatmap(oracle_map(torch.from_numpy(small), (6, 6)), (192, 192))
    result = localise(oracle, small)
    assert not result.strict
