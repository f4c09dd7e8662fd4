"""One entry point that turns any supported file into display-ready grayscale pixels."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from mura_desktop.core.errors import CorruptImageError, UnsupportedImageError


@dataclass
class LoadedImage:
    """Pixels of one view.

    ``pixels`` is float32, shape (H, W), values in [0, 1], bone bright.
    ``window_center``/``window_width`` are the display defaults in the same [0, 1] units.
    ``tags`` holds the header fields a reader wants to see (DICOM), in display order.
    """

    path: Path
    pixels: np.ndarray
    window_center: float = 0.5
    window_width: float = 1.0
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)


def load_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Decode ``path`` read-only. Raises a subclass of ``ImageLoadError`` naming the file."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            gray = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    except UnidentifiedImageError as exc:
        raise UnsupportedImageError(path, "not an image format MURA Desktop reads") from exc
    except OSError as exc:
        raise CorruptImageError(path, str(exc)) from exc
    return LoadedImage(path=path, pixels=gray, description="image")
