"""Class activation maps (Zhou et al. 2016) for a global-average-pool + linear head.

With ``logit = w · mean_xy(A) + b`` over the last feature maps ``A`` (post-ReLU), the map
``CAM = Σ_k w_k A_k`` satisfies ``mean_xy(CAM) + b = logit`` exactly, so it needs no
backward pass. For display each map is upsampled to the image's own resolution and
min–max normalised per image to [0, 1]: values compare regions within one image, not
images with each other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F


def class_activation_maps(maps: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Raw CAMs: ``maps`` (N, C, h, w) weighted by a classifier row ``weight`` (C,) or (1, C).

    Returns float32 (N, h, w); its spatial mean plus the classifier bias is the logit.
    """
    return torch.einsum("nchw,c->nhw", maps.float(), weight.reshape(-1).float())


def normalize_map(raw: torch.Tensor) -> torch.Tensor:
    """Min–max normalise each map of (..., H, W) to [0, 1]; a constant map becomes zeros."""
    flat = raw.flatten(-2)
    low = flat.amin(-1, keepdim=True)
    span = flat.amax(-1, keepdim=True) - low
    span = torch.where(span > 0, span, torch.ones_like(span))
    return ((flat - low) / span).view_as(raw)


def display_heatmap(raw_maps: torch.Tensor, shape: Sequence[int]) -> np.ndarray:
    """One image's heatmap from the raw CAMs of one or more ensemble members.

    ``raw_maps`` is (h, w) or (M, h, w). Each member's map is upsampled (bilinear) to
    ``shape`` = (H, W) and min–max normalised; members are averaged. float32 in [0, 1].
    """
    stack = raw_maps.float().cpu().reshape(-1, 1, *raw_maps.shape[-2:])
    height, width = int(shape[0]), int(shape[1])
    upsampled = F.interpolate(stack, size=(height, width), mode="bilinear", align_corners=False)
    return normalize_map(upsampled[:, 0]).mean(0).numpy()
