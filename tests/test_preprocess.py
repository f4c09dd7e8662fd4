"""The numpy preprocessing and map drawing against torch's own operations: the viewer
runs without torch, so its resize must be torch's to well within 1e-3."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mura_desktop.inference.preprocess import (
    bilinear_weights,
    normalize_gray,
    preprocess_batch,
    resize_gray,
)

SHAPES = [(512, 384), (320, 320), (97, 211), (1000, 37), (128, 128), (40, 300)]


def _torch_resize(image: np.ndarray, size: int) -> np.ndarray:
    tensor = torch.from_numpy(image)[None, None]
    out = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False,
                        antialias=True)  # fmt: skip
    return out[0, 0].numpy()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("size", [64, 192, 320])
def test_resize_is_torchs_antialiased_bilinear(shape: tuple[int, int], size: int) -> None:
    image = np.random.default_rng(sum(shape)).random(shape, dtype=np.float32)
    ours = resize_gray(image, size)
    assert ours.dtype == np.float32 and ours.shape == (size, size)
    if shape == (size, size):
        assert ours is image or np.array_equal(ours, image)
    assert float(np.abs(ours - _torch_resize(image, size)).max()) < 1e-4


@pytest.mark.parametrize("source", [6, 12, 7])
@pytest.mark.parametrize("target", [192, 500, 333])
def test_map_upsampling_is_torchs_plain_bilinear(source: int, target: int) -> None:
    grid = np.random.default_rng(source).random((source, source), dtype=np.float32)
    rows, columns = bilinear_weights(source, target), bilinear_weights(source, target + 7)
    ours = rows @ grid @ columns.T
    theirs = F.interpolate(torch.from_numpy(grid)[None, None], size=(target, target + 7),
                           mode="bilinear", align_corners=False)[0, 0].numpy()  # fmt: skip
    assert float(np.abs(ours - theirs).max()) < 1e-5


def test_normalisation_is_the_same_for_numpy_and_torch() -> None:
    gray = np.random.default_rng(1).random((2, 16, 16), dtype=np.float32)
    ours = normalize_gray(gray)
    theirs = normalize_gray(torch.from_numpy(gray)).numpy()
    assert ours.shape == (2, 3, 16, 16) and ours.dtype == np.float32
    assert np.allclose(ours, theirs, atol=1e-6)
    assert np.allclose(ours[:, 0], (gray - 0.485) / 0.229, atol=1e-6)


def test_batch_of_mixed_sizes() -> None:
    images = [np.full((50, 70), 0.5, np.float32), np.zeros((20, 20), np.float32)]
    batch = preprocess_batch(images, 32, mean=(0, 0, 0), std=(1, 1, 1))
    assert batch.shape == (2, 3, 32, 32) and batch.dtype == np.float32
    assert np.allclose(batch[0], 0.5, atol=1e-6) and np.allclose(batch[1], 0.0)
    assert preprocess_batch([], 32).shape == (0, 3, 32, 32)
    with pytest.raises(ValueError, match="grayscale"):
        resize_gray(np.zeros((4, 4, 3), np.float32), 32)
