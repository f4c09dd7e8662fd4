"""Class activation maps (Zhou et al. 2016) for a global-average-pool + linear head.

With ``logit = w · mean_xy(A) + b`` over the last feature maps ``A`` (post-ReLU), the map
``CAM = Σ_k w_k A_k`` satisfies ``mean_xy(CAM) + b = logit`` exactly, so it needs no
backward pass. For display each map is upsampled to the image's own resolution and
min–max normalised per image to [0, 1]: values compare regions within one image, not
images with each other. numpy only: the viewer draws maps without torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mura_desktop.inference.preprocess import bilinear_weights


def class_activation_maps(maps: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Raw CAMs: ``maps`` (N, C, h, w) weighted by a classifier row ``weight`` (C,) or (1, C).

    Returns float32 (N, h, w); its spatial mean plus the classifier bias is the logit.
    """
    row = np.asarray(weight, dtype=np.float32).reshape(-1)
    return np.tensordot(np.asarray(maps, dtype=np.float32), row, axes=([1], [0]))


def normalize_map(raw: np.ndarray) -> np.ndarray:
    """Min–max normalise each map of (..., H, W) to [0, 1]; a constant map becomes zeros."""
    flat = np.asarray(raw, dtype=np.float32).reshape(*raw.shape[:-2], -1)
    low = flat.min(-1, keepdims=True)
    span = flat.max(-1, keepdims=True) - low
    span = np.where(span > 0, span, 1.0).astype(np.float32)
    return ((flat - low) / span).reshape(raw.shape)


def display_heatmap(raw_maps: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """One image's heatmap from the raw CAMs of one or more ensemble members.

    ``raw_maps`` is (h, w) or (M, h, w). Each member's map is upsampled (bilinear, as
    torch's ``align_corners=False``) to ``shape`` = (H, W) and min–max normalised; members
    are averaged. float32 in [0, 1].
    """
    stack = np.asarray(raw_maps, dtype=np.float32)
    stack = stack.reshape(-1, *stack.shape[-2:])
    rows = bilinear_weights(stack.shape[-2], int(shape[0]))
    columns = bilinear_weights(stack.shape[-1], int(shape[1]))
    upsampled = rows @ stack @ columns.T
    return normalize_map(upsampled).mean(0, dtype=np.float32)
