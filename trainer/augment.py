"""Training-time augmentation of a resized grayscale view (the MURA paper's flip and rotation).

Applied to the S×S float image in [0, 1] between the shared resize and the shared
normalisation, so the network sees exactly the inference preprocessing plus these changes.
Randomness comes from a generator the caller seeds per (run seed, epoch, sample): an
epoch's augmentations are the same whether or not the run was interrupted and resumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF


@dataclass(frozen=True)
class Augmentation:
    """Random horizontal flip (p = 0.5), rotation uniform in ±``rotation`` degrees (zero
    fill, bilinear), and contrast scaled about the image mean by a factor uniform in
    ``1 ± contrast`` (0 disables each)."""

    flip: bool = True
    rotation: float = 30.0
    contrast: float = 0.0

    def __call__(self, image: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """``image``: float (S, S) in [0, 1]; returns a new float (S, S) in [0, 1]."""
        # Draw every number even when unused, so each option's randomness is independent.
        flip, angle, factor = rng.random(3)
        if self.flip and flip < 0.5:
            image = image.flip(-1)
        if self.rotation > 0:
            degrees = float((2.0 * angle - 1.0) * self.rotation)
            image = TF.rotate(
                image[None], degrees, interpolation=InterpolationMode.BILINEAR, fill=[0.0]
            )[0]
        if self.contrast > 0:
            scale = 1.0 + (2.0 * factor - 1.0) * self.contrast
            mean = image.mean()
            image = ((image - mean) * scale + mean).clamp_(0.0, 1.0)
        return image
