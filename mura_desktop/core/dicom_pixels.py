"""DICOM pixel pipeline: first frame -> modality LUT/rescale -> VOI -> MONOCHROME1 inversion.

Output is float32 (H, W) in [0, 1], bone bright. The VOI step maps straight to [0, 1] in float32,
in place, following PS3.3 C.11.2.1.2; lookup tables are read through ``pydicom.pixels``.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pydicom
from PIL import Image
from pydicom import uid
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments, get_frame
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, apply_voi, get_decoder, pixel_array

from mura_desktop.core.codestreams import frame_header
from mura_desktop.core.deflate_guard import refuse_deflate_bomb
from mura_desktop.core.dicom_tags import transfer_syntax_label
from mura_desktop.core.display import NamedWindow, ValueScale
from mura_desktop.core.errors import (
    CorruptImageError,
    ImageTooLargeError,
    UnsupportedImageError,
    reason_from,
)

log = logging.getLogger(__name__)

_MONOCHROME = frozenset({"MONOCHROME1", "MONOCHROME2"})
_COLOUR = frozenset({"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420"})
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

_LIBJPEG = "pylibjpeg and pylibjpeg-libjpeg"
_OPENJPEG = "pylibjpeg and pylibjpeg-openjpeg"
_DECODER_PACKAGES: dict[str, str] = {
    uid.JPEGBaseline8Bit: _LIBJPEG,
    uid.JPEGExtended12Bit: _LIBJPEG,
    uid.JPEGLossless: _LIBJPEG,
    uid.JPEGLosslessSV1: _LIBJPEG,
    uid.JPEGLSLossless: _LIBJPEG,
    uid.JPEGLSNearLossless: _LIBJPEG,
    uid.JPEG2000Lossless: _OPENJPEG,
    uid.JPEG2000: _OPENJPEG,
    uid.HTJ2KLossless: _OPENJPEG,
    uid.HTJ2KLosslessRPCL: _OPENJPEG,
    uid.HTJ2K: _OPENJPEG,
}

# Used only to guess the codec of encapsulated data whose file has no transfer syntax. One
# decoder per family reads every variant (lossless or not), so the family is enough.
_J2K_CODESTREAM = b"\xff\x4f\xff\x51"
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_CODEC_BY_JPEG_FRAME_MARKER: dict[int, uid.UID] = {
    0xC0: uid.JPEGBaseline8Bit,
    0xC1: uid.JPEGExtended12Bit,
    0xC3: uid.JPEGLossless,
    0xF7: uid.JPEGLSLossless,
}


def read_dataset(fh: BinaryIO, path: Path) -> Dataset:
    """Parse a DICOM stream; the preamble and the file meta group may be missing."""
    refuse_deflate_bomb(fh, path)
    try:
        return pydicom.dcmread(fh, force=True)
    except Exception as exc:
        raise CorruptImageError(path, f"unreadable DICOM header ({reason_from(exc)})") from exc


def display_pixels(ds: Dataset, path: Path) -> tuple[np.ndarray, ValueScale, str]:
    """Decode the first frame of ``ds`` to float32 (H, W) in [0, 1], bone bright; with the
    scale back to the file's values and, when a header window could not be used, why.

    A transfer syntax inferred for a file without file meta is stored in ``ds.file_meta``
    (in memory only), so that the description and tags can name it.
    """
    if "PixelData" not in ds:
        if _expects_pixels(ds, path):
            raise CorruptImageError(
                path,
                "damaged DICOM: the header describes an image but its pixel data cannot be "
                "read (truncated or corrupted file)",
            )
        raise UnsupportedImageError(
            path, "DICOM file has no pixel data (a report, presentation state or DICOMDIR?)"
        )
    transfer_syntax = _transfer_syntax(ds, path)
    _require_decoder(transfer_syntax, path)
    _refuse_oversized(ds, path)
    if ds["PixelData"].is_undefined_length:
        _check_codestream(ds, path)
    photometric = str(ds.get("PhotometricInterpretation") or "").strip().upper()
    if not photometric:
        raise CorruptImageError(path, "DICOM file has no Photometric Interpretation")
    if photometric not in _MONOCHROME | _COLOUR:
        raise UnsupportedImageError(path, f"photometric interpretation {photometric} is not read")

    try:
        stored = pixel_array(ds, index=0)
    except MemoryError as exc:
        raise ImageTooLargeError(path, "not enough memory to decode the pixel data") from exc
    except BaseException as exc:
        # Rust decoders (pylibjpeg-rle) report damaged data with pyo3's PanicException, which
        # derives from BaseException; anything else that is not an Exception goes on up.
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        label = transfer_syntax_label(transfer_syntax)
        raise CorruptImageError(
            path, f"cannot decode {label} pixel data: {reason_from(exc)}"
        ) from exc

    if photometric in _COLOUR:
        levels = 2 ** int(ds.get("BitsStored") or 8 * stored.dtype.itemsize) - 1
        return _colour_to_gray(stored, ds), ValueScale(0.0, float(levels), "gray level"), ""
    values = _modality_values(stored, ds, path)
    del stored
    _require_finite(values, path, "after the rescale / Modality LUT")
    values, scale, note = _apply_voi(values, ds, path)
    _require_finite(values, path, "after the VOI LUT / window")
    if values.dtype != np.float32:
        values = values.astype(np.float32)
    if photometric == "MONOCHROME1":
        np.subtract(1.0, values, out=values)
        scale = ValueScale(scale.high, scale.low, scale.unit, scale.dicom)
    return values, scale, note


_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"  # (7FE0,0010), little endian


def _expects_pixels(ds: Dataset, path: Path) -> bool:
    """Whether a dataset without parsed pixel data is an image that lost them: it has image
    geometry, or an image SOP class, or the file holds a Pixel Data tag the parser missed."""
    if "Rows" in ds or "Columns" in ds or "BitsAllocated" in ds:
        return True
    if "ImageStorage" in uid.UID(str(ds.get("SOPClassUID", ""))).keyword:
        return True
    try:
        return _PIXEL_DATA_TAG in path.read_bytes()
    except OSError:
        return False


def _require_finite(values: np.ndarray, path: Path, step: str) -> None:
    if not np.isfinite(values).all():
        raise CorruptImageError(
            path,
            f"pixel values are not finite {step} (Rescale Slope/Intercept or LUT out of range)",
        )


def _transfer_syntax(ds: Dataset, path: Path) -> uid.UID:
    declared = ds.file_meta.get("TransferSyntaxUID")
    if declared:
        return uid.UID(declared)
    inferred = _infer_transfer_syntax(ds, path)
    ds.file_meta.TransferSyntaxUID = inferred
    return inferred


def _infer_transfer_syntax(ds: Dataset, path: Path) -> uid.UID:
    if not ds["PixelData"].is_undefined_length:
        implicit_vr, little_endian = ds.original_encoding
        if implicit_vr:
            return uid.ImplicitVRLittleEndian
        return uid.ExplicitVRLittleEndian if little_endian else uid.ExplicitVRBigEndian
    try:
        fragments = generate_fragments(ds.PixelData)
        next(fragments, None)  # the Basic Offset Table item always comes first
        fragment = next(fragments, b"")
    except ValueError as exc:
        raise CorruptImageError(
            path, f"malformed encapsulated pixel data ({reason_from(exc)})"
        ) from exc
    codec = _codec_of_fragment(fragment)
    if codec is None:
        raise UnsupportedImageError(
            path,
            "compressed pixel data in an unrecognised codec and no transfer syntax in the file",
        )
    return codec


def _codec_of_fragment(fragment: bytes) -> uid.UID | None:
    if fragment.startswith((_J2K_CODESTREAM, _JP2_SIGNATURE)):
        return uid.JPEG2000
    if fragment.startswith(b"\xff\xd8"):
        header = frame_header(fragment)
        return None if header is None else _CODEC_BY_JPEG_FRAME_MARKER.get(header.marker)
    if len(fragment) >= 64:
        segments, first_segment_offset = struct.unpack_from("<2I", fragment)
        if 1 <= segments <= 15 and first_segment_offset == 64:
            return uid.RLELossless
    return None


def _require_decoder(transfer_syntax: uid.UID, path: Path) -> None:
    try:
        decoder = get_decoder(transfer_syntax)
    except NotImplementedError as exc:
        raise UnsupportedImageError(
            path, f"no decoder exists for {transfer_syntax.name} pixel data"
        ) from exc
    if not decoder.is_available:
        packages = _DECODER_PACKAGES.get(transfer_syntax, "the pylibjpeg plugins")
        raise UnsupportedImageError(
            path, f"no decoder installed for {transfer_syntax.name}: install {packages}"
        )


def _refuse_oversized(ds: Dataset, path: Path) -> None:
    # The same decompression-bomb limit Pillow enforces for raster images.
    limit = Image.MAX_IMAGE_PIXELS
    try:
        rows, columns = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    except (TypeError, ValueError) as exc:
        raise CorruptImageError(path, "invalid Rows or Columns") from exc
    if limit and rows * columns > limit:
        raise ImageTooLargeError(
            path, f"{rows} × {columns} pixels exceeds the limit of {limit} pixels"
        )


def _check_codestream(ds: Dataset, path: Path) -> None:
    """The first frame's own header must agree with Rows/Columns, and its data must be long
    enough to hold it: decoders allocate what the codestream claims."""
    try:
        frames = int(ds.get("NumberOfFrames") or 1)
        frame = get_frame(ds.PixelData, 0, number_of_frames=frames)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise CorruptImageError(
            path, f"malformed encapsulated pixel data ({reason_from(exc)})"
        ) from exc
    header = frame_header(frame)
    if header is None:
        return  # RLE, or a stream the decoder will judge
    rows, columns = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    # Height 0 (defined later by a DNL marker) never matches: decoders can spin on it.
    if (header.width, header.height) != (columns, rows):
        raise CorruptImageError(
            path,
            f"the {header.codec} codestream declares {header.width} × {header.height} pixels "
            f"but Rows/Columns say {columns} × {rows}: damaged or inconsistent file",
        )
    if len(frame) < header.minimum_bytes():
        raise CorruptImageError(
            path,
            f"truncated pixel data: {len(frame):,} bytes cannot hold a {header.width} × "
            f"{header.height} {header.codec} frame (at least {header.minimum_bytes():,})",
        )


def _colour_to_gray(stored: np.ndarray, ds: Dataset) -> np.ndarray:
    gray = stored @ _LUMA
    gray /= 2 ** int(ds.get("BitsStored") or 8 * stored.dtype.itemsize) - 1
    np.clip(gray, 0.0, 1.0, out=gray)
    return gray


def _modality_values(stored: np.ndarray, ds: Dataset, path: Path) -> np.ndarray:
    if ds.get("ModalityLUTSequence"):
        try:
            return apply_modality_lut(stored, ds).astype(np.float32)
        except Exception as exc:  # like a broken VOI LUT: say so, and use the rescale
            log.warning(
                "%s: Modality LUT Sequence unusable (%s), using the rescale", path, reason_from(exc)
            )
    try:
        slope = _first_number(ds, "RescaleSlope")
        intercept = _first_number(ds, "RescaleIntercept")
    except ValueError as exc:
        raise CorruptImageError(path, f"invalid rescale ({exc})") from exc
    # float32 holds any stored value times a sane slope; a huge slope or intercept (1e38)
    # overflows it, so such files are rescaled in float64 (and fail only if even that does).
    largest = max(abs(float(stored.min(initial=0))), abs(float(stored.max(initial=0))))
    reach = largest * abs(slope or 1.0) + abs(intercept or 0.0)
    values = stored.astype(np.float32 if reach < _FLOAT32_SAFE else np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught as non-finite
        if slope is not None and slope != 1.0:
            values *= slope
        if intercept:
            values += intercept
    return values


def _apply_voi(values: np.ndarray, ds: Dataset, path: Path) -> tuple[np.ndarray, ValueScale, str]:
    """Map modality values to [0, 1]: VOI LUT, else the first window, else the full value
    range. Returns the values, the scale back to modality values, and why a header window
    or LUT was not used (empty when it was, or when there was none)."""
    note = ""
    if ds.get("VOILUTSequence"):
        try:
            return _voi_lut(values, ds), ValueScale(0.0, 1.0, "VOI LUT output"), ""
        except Exception as exc:
            note = f"VOI LUT Sequence unusable ({reason_from(exc)})"
    function = str(ds.get("VOILUTFunction") or "LINEAR").strip().upper()
    try:
        center = _first_number(ds, "WindowCenter")
        width = _first_number(ds, "WindowWidth")
    except ValueError as exc:
        note = str(exc)
        center = width = None
    if center is not None and width is not None:
        if not (width >= 1.0 or (width > 0.0 and function != "LINEAR")):
            note = f"window width {width:g} is invalid"
        elif _window_misses_data(values, center, width):
            note = f"window C {center:g} W {width:g} lies outside every pixel value"
        else:
            if note:
                log.warning("%s: %s, using the window", path, note)
            return (
                _window(values, center, width, function),
                _window_scale(center, width, function),
                note,
            )
    low, high = float(values.min()), float(values.max())
    if note:
        note += ", using the full value range"
        log.warning("%s: %s", path, note)
    return _full_range(values), ValueScale(low, high, "", dicom=True), note


def named_windows(ds: Dataset) -> tuple[NamedWindow, ...]:
    """Every usable window the header gives (Window Center/Width, named by the Window
    Center & Width Explanation when it has one), in modality values."""
    centers, widths = _numbers(ds.get("WindowCenter")), _numbers(ds.get("WindowWidth"))
    names = ds.get("WindowCenterWidthExplanation") or []
    names = [str(n) for n in names] if isinstance(names, (MultiValue, list)) else [str(names)]
    found = []
    for i, (center, width) in enumerate(zip(centers, widths, strict=False)):
        if center is None or width is None or width <= 0:
            continue
        name = names[i].strip() if i < len(names) and names[i].strip() else f"Header window {i + 1}"
        found.append(NamedWindow(name, center, width))
    return tuple(found)


def _numbers(value) -> list[float | None]:
    values = (
        list(value) if isinstance(value, MultiValue) else [] if value in (None, "") else [value]
    )
    out: list[float | None] = []
    for v in values:
        try:
            number = float(v)
        except (TypeError, ValueError):
            number = None
        out.append(number if number is not None and np.isfinite(number) else None)
    return out


def _window_scale(center: float, width: float, function: str) -> ValueScale:
    """The modality values at the window's 0 and 1 (for SIGMOID, where it crosses 0.12 and
    0.88: the readout is approximate there)."""
    if function == "LINEAR":
        low = center - 0.5 - (width - 1.0) / 2.0
        return ValueScale(low, low + width - 1.0, "", dicom=True)
    return ValueScale(center - width / 2.0, center + width / 2.0, "")


def _window_misses_data(values: np.ndarray, center: float, width: float) -> bool:
    """True when the window would paint every pixel the same (a header that does not fit)."""
    return float(values.max()) <= center - width / 2 or float(values.min()) >= center + width / 2


def _voi_lut(values: np.ndarray, ds: Dataset) -> np.ndarray:
    entries, first_mapped, _bits = (int(v) for v in ds.VOILUTSequence[0].LUTDescriptor)
    entries = entries or 2**16
    # pydicom parses the LUT (US or OW, either endianness); mapping every input once yields it.
    table = apply_voi(np.arange(first_mapped, first_mapped + entries), ds).astype(np.float32)
    # Scaled by the table's own range: LUT Descriptor bit depths are often wrong in the wild.
    table = _full_range(table)
    values -= first_mapped
    np.clip(values, 0, entries - 1, out=values)
    return table[values.astype(np.intp)]


def _window(values: np.ndarray, center: float, width: float, function: str) -> np.ndarray:
    """PS3.3 C.11.2.1.2-3 windowing to [0, 1], in place. Unknown functions are treated as LINEAR."""
    if function == "SIGMOID":
        values -= center
        values *= -4.0 / width
        with np.errstate(over="ignore"):
            np.exp(values, out=values)
        values += 1.0
        return np.reciprocal(values, out=values)
    if function == "LINEAR_EXACT":
        values -= center
        values /= width
    elif width == 1.0:
        return (values > center - 0.5).astype(np.float32)
    else:
        values -= center - 0.5
        values /= width - 1.0
    values += 0.5
    return np.clip(values, 0.0, 1.0, out=values)


def _full_range(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    values -= low
    if high > low:
        values /= high - low
    return values


_FLOAT32_SAFE = 1e30


def _first_number(ds: Dataset, keyword: str) -> float | None:
    value = ds.get(keyword)
    if isinstance(value, MultiValue):
        value = value[0] if len(value) else None
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{keyword} {value!r} is not a number") from exc
    if not np.isfinite(number):
        raise ValueError(f"{keyword} {value!r} is not a finite number")
    return number
