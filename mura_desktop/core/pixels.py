"""One entry point that turns any supported file into display-ready grayscale pixels."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mura_desktop.core.codestreams import FrameHeader, frame_header
from mura_desktop.core.display import NamedWindow, ValueScale
from mura_desktop.core.errors import (
    BlankImageError,
    CorruptImageError,
    ImageLoadError,
    ImageTooLargeError,
    UnreadableFileError,
    UnsupportedImageError,
    os_error_reason,
    reason_from,
)
from mura_desktop.core.formats import SNIFF_BYTES, format_of_header, open_regular_file
from mura_desktop.core.measure import Calibration

_PILLOW_FORMATS = ("PNG", "JPEG", "TIFF", "BMP")
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_MODE_NAMES = {
    "1": "1-bit",
    "L": "8-bit gray",
    "LA": "8-bit gray + alpha",
    "P": "palette",
    "PA": "palette + alpha",
    "RGB": "RGB",
    "RGBA": "RGBA",
    "CMYK": "CMYK",
    "YCbCr": "YCbCr",
    "I": "32-bit integer",
    "F": "32-bit float",
}
_EXIF_ORIENTATION = 0x0112


GRAY_8 = ValueScale(0.0, 255.0, "")
GRAY_16 = ValueScale(0.0, 65535.0, "")


@dataclass
class LoadedImage:
    """Pixels of one view.

    ``pixels`` is float32, shape (H, W), values in [0, 1], bone bright.
    ``window_center``/``window_width`` are the display defaults in the same [0, 1] units.
    ``scale`` maps them back to the file's own values (for window/level readouts);
    ``named_windows`` are the windows the file names, and ``window_note`` says why a
    header window could not be used, when one could not.
    ``tags`` holds the header fields a reader wants to see (DICOM), in display order;
    ``calibration`` the file's pixel spacing, for measurements in mm.
    """

    path: Path
    pixels: np.ndarray
    window_center: float = 0.5
    window_width: float = 1.0
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    scale: ValueScale = field(default_factory=ValueScale)
    named_windows: tuple[NamedWindow, ...] = ()
    window_note: str = ""
    calibration: Calibration | None = None


def load_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Decode ``path`` read-only, recognising DICOM and PNG/JPEG/TIFF/BMP by content.

    DICOM: first frame, rescale or Modality LUT, VOI LUT or window (the full value range when
    the file has neither), MONOCHROME1 inverted last. Images: 16-bit data scaled by 65535,
    colour and palette converted to gray, EXIF orientation applied.

    Raises a subclass of ``ImageLoadError`` naming the file and the reason:
    ``UnreadableFileError``, ``UnsupportedImageError``, ``CorruptImageError``,
    ``ImageTooLargeError`` or ``BlankImageError`` (one value everywhere, e.g. Rescale
    Slope 0). The pixels returned are always finite.
    """
    path = Path(path)
    with _open_read_only(path) as fh:
        head = fh.read(SNIFF_BYTES)
        if not head:
            raise CorruptImageError(path, "empty file (0 bytes)")
        kind = format_of_header(head)
        if kind is None:
            raise UnsupportedImageError(path, _unknown_content_reason(path, head))
        fh.seek(0)
        loaded = _load_dicom(path, fh) if kind == "dicom" else _load_raster(path, fh)
    _require_usable(loaded)
    return loaded


def _require_usable(image: LoadedImage) -> None:
    """Refuse pixels no score may be made from: non-finite, or one value everywhere."""
    pixels = image.pixels
    if not np.isfinite(pixels).all():
        raise CorruptImageError(image.path, "pixel values are not finite (NaN or infinity)")
    low, high = float(pixels.min()), float(pixels.max())
    if low == high:
        raise BlankImageError(
            image.path,
            f"every pixel has the same value ({low:.3g}): a blank image, nothing to score",
        )


def _open_read_only(path: Path) -> BinaryIO:
    try:
        return open_regular_file(path)
    except FileNotFoundError as exc:
        raise UnreadableFileError(path, "file not found") from exc
    except IsADirectoryError as exc:
        raise UnreadableFileError(path, "is a folder, not a file") from exc
    except PermissionError as exc:
        reason = "is a folder, not a file" if path.is_dir() else "permission denied"
        raise UnreadableFileError(path, reason) from exc
    except OSError as exc:
        raise UnreadableFileError(path, os_error_reason(exc, path)) from exc


def _unknown_content_reason(path: Path, head: bytes) -> str:
    named = f" despite its {path.suffix} name" if path.suffix else ""
    content = "text" if all(byte >= 0x20 or byte in b"\t\n\r\f" for byte in head) else "content"
    return f"{content} is neither DICOM nor a PNG, JPEG, TIFF or BMP image{named}"


def _load_dicom(path: Path, fh: BinaryIO) -> LoadedImage:
    # pydicom (0.25 s to import) loads where a DICOM is read, not with the window
    from mura_desktop.core.dicom_pixels import display_pixels, named_windows, read_dataset
    from mura_desktop.core.dicom_tags import describe, reader_tags

    try:
        ds = read_dataset(fh, path)
        pixels, scale, note = display_pixels(ds, path)
        description = describe(ds)
        windows = named_windows(ds)
        calibration = Calibration.from_dataset(ds)
    except ImageLoadError:
        raise
    except Exception as exc:  # pydicom parses element values lazily, on first access
        raise CorruptImageError(path, f"malformed DICOM header ({reason_from(exc)})") from exc
    return LoadedImage(
        path=path,
        pixels=pixels,
        description=description,
        tags=reader_tags(ds),
        scale=scale,
        named_windows=windows,
        window_note=note,
        calibration=calibration,
    )


def _load_raster(path: Path, fh: BinaryIO) -> LoadedImage:
    try:
        with Image.open(fh, formats=_PILLOW_FORMATS) as img:
            _refuse_bomb(path, img)
            if img.format == "JPEG":
                _refuse_short_jpeg(path, fh)
            parts = [img.format or "image", _MODE_NAMES.get(img.mode, img.mode)]
            if img.mode in _SIXTEEN_BIT_MODES:
                parts[1] = "16-bit gray"
            if img.getexif().get(_EXIF_ORIENTATION, 1) != 1:
                parts.append("EXIF-rotated")
            frames = getattr(img, "n_frames", 1)
            if frames > 1:
                parts.append(f"first of {frames} frames")
            ImageOps.exif_transpose(img, in_place=True)
            pixels, window, scale = _gray_pixels(img)
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(path, reason_from(exc)) from exc
    except UnidentifiedImageError as exc:
        fh.seek(0)
        data = fh.read()
        header = frame_header(data)
        if header is not None and header.codec in ("jpeg", "jpeg-ls"):
            return _load_jpeg_with_libjpeg(path, data, header)
        raise CorruptImageError(path, "image header is damaged") from exc
    except MemoryError as exc:
        raise ImageTooLargeError(path, "not enough memory to decode the image") from exc
    except Exception as exc:
        raise CorruptImageError(path, reason_from(exc)) from exc
    center, width = window
    return LoadedImage(
        path=path,
        pixels=pixels,
        window_center=center,
        window_width=width,
        description=" · ".join(parts),
        scale=scale,
    )


_JPEG_PROCESSES = {
    0xC0: "JPEG baseline",
    0xC1: "JPEG extended",
    0xC2: "JPEG progressive",
    0xC3: "JPEG lossless",
    0xF7: "JPEG-LS",
}


def _load_jpeg_with_libjpeg(path: Path, data: bytes, header: FrameHeader) -> LoadedImage:
    """JPEG processes Pillow does not read (lossless, 12-bit, JPEG-LS) through the same
    libjpeg decoder the DICOM path uses; checked against the pixel budget first."""
    process = _JPEG_PROCESSES.get(header.marker, f"JPEG (SOF {header.marker:#04x})")
    if header.width == 0 or header.height == 0:
        raise CorruptImageError(
            path, f"the {process} header declares a {header.width} × {header.height} image"
        )
    limit = Image.MAX_IMAGE_PIXELS
    if limit and header.width * header.height > limit:
        raise ImageTooLargeError(
            path, f"{header.width} × {header.height} pixels exceeds the limit of {limit} pixels"
        )
    if len(data) < header.minimum_bytes():
        raise CorruptImageError(path, f"truncated {process} stream")
    try:
        from libjpeg import decode
    except ImportError as exc:
        raise UnsupportedImageError(
            path, f"unsupported JPEG process ({process}): install pylibjpeg-libjpeg"
        ) from exc
    try:
        stored = decode(data)
    except Exception as exc:
        raise CorruptImageError(path, f"cannot decode {process}: {reason_from(exc)}") from exc
    if stored.ndim == 3:
        stored = stored @ np.array([0.299, 0.587, 0.114])
    pixels = stored.astype(np.float32)
    pixels /= float(2**header.precision - 1)
    center, width = _data_window(pixels)
    return LoadedImage(
        path=path,
        pixels=pixels,
        window_center=center,
        window_width=width,
        description=f"{process} · {header.precision}-bit gray",
        scale=ValueScale(0.0, float(2**header.precision - 1), ""),
    )


def _refuse_bomb(path: Path, img: Image.Image) -> None:
    # Pillow only warns between MAX_IMAGE_PIXELS and twice that; the warning counts as refusal.
    # Checking here, rather than turning warnings into errors, keeps this safe across threads.
    limit = Image.MAX_IMAGE_PIXELS
    width, height = img.size
    if limit and width * height > limit:
        raise ImageTooLargeError(
            path, f"{width} × {height} pixels exceeds the limit of {limit} pixels"
        )


_JPEG_HEADER_BYTES = 1 << 20


def _refuse_short_jpeg(path: Path, fh: BinaryIO) -> None:
    """A JPEG far shorter than its frame header claims decodes "fine", as mid-gray padding."""
    position = fh.tell()
    fh.seek(0)
    head = fh.read(_JPEG_HEADER_BYTES)  # the frame header follows the APP segments
    size = fh.seek(0, os.SEEK_END)
    fh.seek(position)
    header = frame_header(head)
    if header is not None and (header.width == 0 or header.height == 0):
        raise CorruptImageError(
            path, f"the JPEG header declares a {header.width} × {header.height} image"
        )
    if header is not None and size < header.minimum_bytes():
        raise CorruptImageError(
            path,
            f"truncated: {size:,} bytes cannot hold the {header.width} × {header.height} "
            f"image its JPEG header declares (at least {header.minimum_bytes():,} needed)",
        )


def _gray_pixels(img: Image.Image) -> tuple[np.ndarray, tuple[float, float], ValueScale]:
    """Float32 gray pixels in [0, 1], the default (center, width) window for them, and the
    scale back to the file's gray levels."""
    if img.mode in _SIXTEEN_BIT_MODES:
        pixels = np.asarray(img).astype(np.float32)
        pixels /= 65535.0
        return pixels, _data_window(pixels), GRAY_16
    if img.mode in ("I", "F"):
        pixels = np.asarray(img).astype(np.float32)
        low, high = float(pixels.min()), float(pixels.max())
        if img.mode == "I" and low >= 0 and high <= 65535:
            pixels /= 65535.0
            return pixels, _data_window(pixels), GRAY_16
        pixels -= low
        if high > low:
            pixels /= high - low
        return pixels, (0.5, 1.0), ValueScale(low, high, "")
    if img.mode != "L":
        img = img.convert("L")
    pixels = np.asarray(img).astype(np.float32)
    pixels /= 255.0
    return pixels, (0.5, 1.0), GRAY_8


def _data_window(pixels: np.ndarray) -> tuple[float, float]:
    """Window spanning the data, so 12-bit values stored in 16 bits are not shown near black."""
    low, high = float(pixels.min()), float(pixels.max())
    if high <= low:
        return 0.5, 1.0
    return (low + high) / 2.0, high - low
