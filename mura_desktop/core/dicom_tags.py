"""The header fields a reader wants to see, and a one-line description, of a DICOM dataset."""

from __future__ import annotations

from collections.abc import Callable

from pydicom import uid
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

_TRANSFER_SYNTAX_LABELS: dict[str, str] = {
    uid.ImplicitVRLittleEndian: "uncompressed",
    uid.ExplicitVRLittleEndian: "uncompressed",
    uid.ExplicitVRBigEndian: "uncompressed (big endian)",
    uid.DeflatedExplicitVRLittleEndian: "deflated",
    uid.JPEGBaseline8Bit: "JPEG Baseline",
    uid.JPEGExtended12Bit: "JPEG Extended",
    uid.JPEGLossless: "JPEG Lossless",
    uid.JPEGLosslessSV1: "JPEG Lossless",
    uid.JPEGLSLossless: "JPEG-LS Lossless",
    uid.JPEGLSNearLossless: "JPEG-LS Near-Lossless",
    uid.JPEG2000Lossless: "JPEG 2000 Lossless",
    uid.JPEG2000: "JPEG 2000",
    uid.HTJ2KLossless: "HTJ2K Lossless",
    uid.HTJ2KLosslessRPCL: "HTJ2K Lossless",
    uid.HTJ2K: "HTJ2K",
    uid.RLELossless: "RLE Lossless",
}


def transfer_syntax_label(transfer_syntax: str) -> str:
    """Short name of a transfer syntax for the description line ("JPEG 2000 Lossless")."""
    return _TRANSFER_SYNTAX_LABELS.get(transfer_syntax) or uid.UID(transfer_syntax).name


def describe(ds: Dataset) -> str:
    """One line such as ``DICOM CR · JPEG 2000 Lossless · 10-bit MONOCHROME1``.

    Multi-frame files add ``· frame 1 of N``: only the first frame is shown.
    """
    parts = [" ".join(filter(None, ["DICOM", _text(ds, "Modality")]))]
    transfer_syntax = ds.file_meta.get("TransferSyntaxUID")
    if transfer_syntax:
        parts.append(transfer_syntax_label(transfer_syntax))
    pixel_format = _text(ds, "PhotometricInterpretation")
    bits = _text(ds, "BitsStored")
    if bits:
        signed = " signed" if ds.get("PixelRepresentation") == 1 else ""
        pixel_format = f"{bits}-bit{signed} {pixel_format}".strip()
    if pixel_format:
        parts.append(pixel_format)
    frames = _frame_count(ds)
    if frames > 1:
        parts.append(f"frame 1 of {frames}")
    return " · ".join(parts)


def reader_tags(ds: Dataset) -> dict[str, str]:
    """The fields a reader wants, in display order; fields absent or empty in ``ds`` are left out.

    A malformed value is left out too: the header is there to inform, never to stop a load.
    """
    fields: list[tuple[str, Callable[[Dataset], str]]] = [
        ("Patient ID", lambda d: _text(d, "PatientID")),
        ("Study date", _study_date),
        ("Modality", lambda d: _text(d, "Modality")),
        ("Body part", lambda d: _text(d, "BodyPartExamined")),
        ("View position", lambda d: _text(d, "ViewPosition")),
        ("Laterality", lambda d: _text(d, "ImageLaterality") or _text(d, "Laterality")),
        ("Study description", lambda d: _text(d, "StudyDescription")),
        ("Series description", lambda d: _text(d, "SeriesDescription")),
        ("Series number", lambda d: _text(d, "SeriesNumber")),
        ("Instance number", lambda d: _text(d, "InstanceNumber")),
        ("Rows × columns", _size),
        ("Bits stored", lambda d: _text(d, "BitsStored")),
        ("Photometric", lambda d: _text(d, "PhotometricInterpretation")),
        ("Transfer syntax", _transfer_syntax_name),
        ("Pixel spacing", _pixel_spacing),
        ("Window", _window),
        ("Rescale", _rescale),
        ("Manufacturer", lambda d: _text(d, "Manufacturer")),
        ("Study Instance UID", lambda d: _text(d, "StudyInstanceUID")),
    ]
    tags: dict[str, str] = {}
    for name, read in fields:
        try:
            value = read(ds)
        except Exception:  # any damaged field is skipped, see docstring
            continue
        if value:
            tags[name] = value
    return tags


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    if isinstance(value, MultiValue):
        return "\\".join(str(v) for v in value).strip()
    return str(value).strip()


def _values(ds: Dataset, keyword: str) -> list[str]:
    value = ds.get(keyword)
    if value is None or value == "":
        return []
    items = value if isinstance(value, MultiValue) else [value]
    return [_number(v) for v in items]


def _number(value: object) -> str:
    return f"{float(value):g}"


def _frame_count(ds: Dataset) -> int:
    try:
        return max(int(ds.get("NumberOfFrames") or 1), 1)
    except (TypeError, ValueError):
        return 1


def _study_date(ds: Dataset) -> str:
    raw = _text(ds, "StudyDate")
    if len(raw) == 8 and raw.isdigit():
        return f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"
    return raw


def _size(ds: Dataset) -> str:
    rows, columns = ds.get("Rows"), ds.get("Columns")
    return f"{int(rows)} × {int(columns)}" if rows and columns else ""


def _transfer_syntax_name(ds: Dataset) -> str:
    transfer_syntax = ds.file_meta.get("TransferSyntaxUID")
    return uid.UID(transfer_syntax).name if transfer_syntax else ""


def _pixel_spacing(ds: Dataset) -> str:
    spacing = _values(ds, "PixelSpacing") or _values(ds, "ImagerPixelSpacing")
    return f"{' × '.join(spacing)} mm" if spacing else ""


def _window(ds: Dataset) -> str:
    windows = [
        f"C {center} W {width}"
        for center, width in zip(
            _values(ds, "WindowCenter"), _values(ds, "WindowWidth"), strict=False
        )
    ]
    if ds.get("VOILUTSequence"):
        windows.insert(0, "VOI LUT")
    return "; ".join(windows)


def _rescale(ds: Dataset) -> str:
    if ds.get("ModalityLUTSequence"):
        return "Modality LUT"
    slope, intercept = _values(ds, "RescaleSlope"), _values(ds, "RescaleIntercept")
    if not slope and not intercept:
        return ""
    return f"slope {slope[0] if slope else '1'}, intercept {intercept[0] if intercept else '0'}"
