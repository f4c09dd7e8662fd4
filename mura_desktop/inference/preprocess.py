"""The one preprocessing shared by inference and the trainer.

A grayscale image (float32 (H, W) in [0, 1], bone bright) becomes a (3, S, S) tensor:
plain resize to S × S as in the MURA paper (aspect ratio not kept; antialiased bilinear),
the gray channel replicated to three, each channel normalised with its mean and std.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


def resize_gray(pixels: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """Antialiased bilinear resize of an (H, W) image to (size, size), float32."""
    image = torch.as_tensor(pixels, dtype=torch.float32)
    if image.ndim != 2:
        raise ValueError(f"expected a grayscale (H, W) image, got shape {tuple(image.shape)}")
    if image.shape == (size, size):
        return image
    resized = F.interpolate(
        image[None, None], size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )
    return resized[0, 0]


def normalize_gray(
    image: torch.Tensor,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> torch.Tensor:
    """Replicate a (..., H, W) gray image to 3 channels, (..., 3, H, W), and normalise them."""
    m = torch.as_tensor(mean, dtype=image.dtype, device=image.device).view(3, 1, 1)
    s = torch.as_tensor(std, dtype=image.dtype, device=image.device).view(3, 1, 1)
    return (image.unsqueeze(-3) - m) / s


def preprocess(
    pixels: np.ndarray | torch.Tensor,
    size: int,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> torch.Tensor:
    """(H, W) gray image in [0, 1] -> normalised float32 tensor (3, size, size)."""
    return normalize_gray(resize_gray(pixels, size), mean, std)


def preprocess_batch(
    images: Sequence[np.ndarray | torch.Tensor],
    size: int,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> torch.Tensor:
    """A list of gray images of any sizes -> one (N, 3, size, size) batch."""
    if not images:
        return torch.empty((0, 3, size, size), dtype=torch.float32)
    return normalize_gray(torch.stack([resize_gray(p, size) for p in images]), mean, std)
