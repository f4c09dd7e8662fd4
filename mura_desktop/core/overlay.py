"""Heatmap colouring and blending onto a grayscale image (for PNG export and reports)."""

from __future__ import annotations

import numpy as np

# Polynomial fit of the Turbo colormap (Mikhailov 2019; fit by R. Du, Apache-2.0).
_TURBO = np.array(
    [
        [0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943],
        [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604],
        [0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973],
    ]
)


def turbo(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB floats in [0, 1] (shape ``values.shape + (3,)``)."""
    x = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)[..., None]
    powers = x ** np.arange(6, dtype=np.float32)
    return np.clip(powers @ _TURBO.T.astype(np.float32), 0.0, 1.0)


def blend_heatmap(image: np.ndarray, heatmap: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """RGB uint8 image with ``heatmap`` coloured over grayscale ``image``.

    Both inputs are float arrays in [0, 1] of the same (H, W). Each pixel's colour weight is
    ``opacity × heat``, so cold regions leave the radiograph readable.
    """
    if image.shape != heatmap.shape:
        raise ValueError(f"image {image.shape} and heatmap {heatmap.shape} differ in shape")
    gray = np.clip(image, 0.0, 1.0)[..., None].astype(np.float32)
    alpha = (opacity * np.clip(heatmap, 0.0, 1.0))[..., None].astype(np.float32)
    rgb = gray * (1.0 - alpha) + turbo(heatmap) * alpha
    return (rgb * 255.0 + 0.5).astype(np.uint8)
