"""The one preprocessing shared by inference and the trainer, in numpy (no torch needed).

A grayscale image (float32 (H, W) in [0, 1], bone bright) becomes a (3, S, S) array:
plain resize to S × S as in the MURA paper (aspect ratio not kept; antialiased bilinear),
the gray channel replicated to three, each channel normalised with its mean and std.

The resize is torch's ``interpolate(..., mode="bilinear", antialias=True,
align_corners=False)`` (PIL's triangle filter, widened by the scale when shrinking),
written as two matrix products; ``tests/test_preprocess.py`` holds it to torch's.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


@lru_cache(maxsize=64)
def antialiased_weights(source: int, target: int) -> np.ndarray:
    """(target, source) float32 rows of the antialiased bilinear filter, each summing to 1.

    Built as one array, not row by row: a Python loop of numpy calls per row held the
    interpreter lock for 9 ms per new image size while the viewer's GUI thread waited."""
    scale = source / target
    support = scale if scale >= 1.0 else 1.0
    inverse = 1.0 / scale if scale >= 1.0 else 1.0
    center = scale * (np.arange(target) + 0.5)
    first = np.maximum((center - support + 0.5).astype(np.int64), 0)
    last = np.minimum((center + support + 0.5).astype(np.int64), source)
    taps = np.arange(source)
    weights = np.clip(1.0 - np.abs((taps - center[:, None] + 0.5) * inverse), 0.0, None)
    weights[(taps < first[:, None]) | (taps >= last[:, None])] = 0.0
    total = weights.sum(axis=1, keepdims=True)
    np.divide(weights, total, out=weights, where=total > 0)
    return _read_only(weights)


@lru_cache(maxsize=64)
def bilinear_weights(source: int, target: int) -> np.ndarray:
    """(target, source) float32 rows of plain bilinear interpolation (torch's
    ``align_corners=False``, no antialiasing): how a coarse map is drawn over an image."""
    scale = source / target
    position = np.maximum((np.arange(target) + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(np.floor(position).astype(np.int64), source - 1)
    high = np.minimum(low + 1, source - 1)
    fraction = position - low
    weights = np.zeros((target, source), dtype=np.float64)
    rows = np.arange(target)
    np.add.at(weights, (rows, low), 1.0 - fraction)
    np.add.at(weights, (rows, high), fraction)
    return _read_only(weights)


def _read_only(weights: np.ndarray) -> np.ndarray:
    shared = weights.astype(np.float32)  # cached: one copy serves every caller
    shared.setflags(write=False)
    return shared


def resize_gray(pixels: np.ndarray, size: int) -> np.ndarray:
    """Antialiased bilinear resize of an (H, W) image to (size, size), float32."""
    image = np.asarray(pixels, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"expected a grayscale (H, W) image, got shape {tuple(image.shape)}")
    if image.shape == (size, size):
        return image
    rows = antialiased_weights(image.shape[0], size)
    columns = antialiased_weights(image.shape[1], size)
    return (rows @ image @ columns.T).astype(np.float32, copy=False)


def normalize_gray(
    image: Any,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> Any:
    """Replicate a (..., H, W) gray image to 3 channels, (..., 3, H, W), and normalise them.
    ``image`` is a numpy array, or a torch tensor (the trainer's batches, on their device)."""
    if isinstance(image, np.ndarray):
        m = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
        s = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)
        return ((image[..., None, :, :] - m) / s).astype(np.float32, copy=False)
    m = image.new_tensor(mean).view(3, 1, 1)
    s = image.new_tensor(std).view(3, 1, 1)
    return (image.unsqueeze(-3) - m) / s


def preprocess(
    pixels: np.ndarray,
    size: int,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> np.ndarray:
    """(H, W) gray image in [0, 1] -> normalised float32 array (3, size, size)."""
    return normalize_gray(resize_gray(pixels, size), mean, std)


def preprocess_batch(
    images: Sequence[np.ndarray],
    size: int,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> np.ndarray:
    """A list of gray images of any sizes -> one (N, 3, size, size) float32 batch."""
    if not images:
        return np.empty((0, 3, size, size), dtype=np.float32)
    return normalize_gray(np.stack([resize_gray(p, size) for p in images]), mean, std)
