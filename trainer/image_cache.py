"""Views decoded once: the resized grayscale image stored as a small uint8 ``.npy`` file.

The first epoch decodes each file with the engine's pixel loader and resizes it with the
engine's ``resize_gray`` (the first half of the shared preprocessing); later epochs read
the cached S×S array. Entries are keyed by the source file's resolved path, modification
time, byte size and the target size, so an edited file is decoded again. A file that
cannot be decoded is remembered (``.bad`` with the reason) under the same key.
Writes are atomic (temporary file + rename), so concurrent DataLoader workers, ranks and
killed runs never leave a half-written entry.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np

from mura_desktop.core.errors import CorruptImageError, ImageLoadError
from mura_desktop.core.pixels import load_image
from mura_desktop.inference.preprocess import resize_gray

CACHE_VERSION = 1


def decode_resized(path: str | os.PathLike[str], size: int) -> np.ndarray:
    """Decode ``path`` and resize it to (size, size) uint8 (0..255, bone bright)."""
    pixels = load_image(path).pixels
    resized = np.clip(np.round(resize_gray(pixels, size) * 255.0), 0, 255)
    return resized.astype(np.uint8)


class ImageCache:
    """Resized views on disk. ``root=None`` disables caching (every call decodes)."""

    def __init__(self, root: str | os.PathLike[str] | None, size: int) -> None:
        self.root = Path(root) / f"v{CACHE_VERSION}-{size}px" if root is not None else None
        self.size = size

    def load(self, path: str | os.PathLike[str]) -> np.ndarray:
        """The (size, size) uint8 image of ``path``; raises ``ImageLoadError`` if unusable."""
        if self.root is None:
            return decode_resized(path, self.size)
        try:
            stat = os.stat(path)
        except OSError as exc:
            raise CorruptImageError(path, f"cannot read the file: {exc.strerror or exc}") from exc
        key = hashlib.sha1(
            f"{os.path.realpath(path)}|{stat.st_mtime_ns}|{stat.st_size}|{self.size}".encode()
        ).hexdigest()
        entry = self.root / key[:2] / key
        npy, bad = entry.with_suffix(".npy"), entry.with_suffix(".bad")
        try:
            return np.load(npy)
        except FileNotFoundError:
            pass
        except (OSError, ValueError):
            npy.unlink(missing_ok=True)  # a damaged entry: decode again
        if bad.exists():
            raise CorruptImageError(path, bad.read_text(encoding="utf-8"))
        entry.parent.mkdir(parents=True, exist_ok=True)
        try:
            image = decode_resized(path, self.size)
        except ImageLoadError as exc:
            _write_atomic(bad, exc.reason.encode("utf-8"))
            raise
        _write_atomic(npy, _npy_bytes(image))
        return image


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
