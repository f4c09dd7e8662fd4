"""DICOM headers for discovery: a few tags per file, never the pixels; DICOMDIR listings.

pydicom is imported by the functions that read a DICOM file, so scanning a folder of
PNGs or JPEGs never loads it (0.35 s, on the first image's path in the viewer).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from mura_desktop.core.deflate_guard import refuse_deflate_bomb
from mura_desktop.core.errors import CorruptImageError, UnsupportedImageError
from mura_desktop.core.formats import SNIFF_BYTES, format_of_header, open_regular_file
from mura_desktop.core.study import BODY_PARTS

_HEADER_TAGS = [
    "StudyInstanceUID",
    "SeriesNumber",
    "InstanceNumber",
    "BodyPartExamined",
    "PatientID",
    "StudyDescription",
    "SeriesDescription",
    "StudyDate",
    "Rows",
]

# Spellings seen in BodyPartExamined and study descriptions, mapped onto MURA's parts.
_SYNONYMS: dict[str, str] = {
    "UPPER ARM": "HUMERUS",
    "UPPERARM": "HUMERUS",
    "ARM UPPER": "HUMERUS",
    "LOWER ARM": "FOREARM",
    "LOWERARM": "FOREARM",
    "ARM LOWER": "FOREARM",
    "FORE ARM": "FOREARM",
    "RADIUS ULNA": "FOREARM",
    "FINGERS": "FINGER",
    "THUMB": "FINGER",
    "DIGIT": "FINGER",
    "HANDS": "HAND",
    "WRISTS": "WRIST",
    "ELBOWS": "ELBOW",
    "FOREARMS": "FOREARM",
    "SHOULDERS": "SHOULDER",
}
_PHRASES: dict[str, str] = {**{p: p for p in BODY_PARTS}, **_SYNONYMS}
_SEPARATORS = re.compile(r"[\s_\-/,.;:()^]+")


@dataclass(frozen=True)
class DicomHeader:
    """The header fields discovery groups and orders by. Numbers are ``None`` when absent."""

    path: Path
    study_uid: str | None
    series_number: int | None
    instance_number: int | None
    body_part: str | None
    patient_id: str | None
    study_description: str
    study_date: str
    has_image: bool


def read_dicom_header(path: str | os.PathLike[str]) -> DicomHeader:
    """Read the grouping tags of one DICOM file, stopping before the pixel data.

    Raises ``UnsupportedImageError`` when the file is not DICOM, ``CorruptImageError``
    when its header cannot be parsed, and ``OSError`` when it cannot be opened.
    """
    path = Path(path)
    with open_regular_file(path) as fp:
        if format_of_header(fp.read(SNIFF_BYTES)) != "dicom":
            raise UnsupportedImageError(path, "not a DICOM file (no DICM marker)")
        fp.seek(0)
        refuse_deflate_bomb(fp, path)
        from pydicom import dcmread
        from pydicom.errors import InvalidDicomError

        try:
            ds = dcmread(fp, stop_before_pixels=True, specific_tags=_HEADER_TAGS, force=True)
            fields = {tag: ds.get(tag) for tag in _HEADER_TAGS}
        except InvalidDicomError as exc:
            raise UnsupportedImageError(path, f"not a DICOM file: {exc}") from exc
        # pydicom raises many types (ValueError, struct.error, EOFError, ...) on damaged headers.
        except Exception as exc:
            raise CorruptImageError(path, f"damaged DICOM header: {exc}") from exc
    return DicomHeader(
        path=path,
        study_uid=_text(fields["StudyInstanceUID"]) or None,
        series_number=_number(fields["SeriesNumber"]),
        instance_number=_number(fields["InstanceNumber"]),
        body_part=body_part_from_dicom(
            _text(fields["BodyPartExamined"]),
            _text(fields["StudyDescription"]),
            _text(fields["SeriesDescription"]),
        ),
        patient_id=_text(fields["PatientID"]) or None,
        study_description=_text(fields["StudyDescription"]),
        study_date=_text(fields["StudyDate"]),
        has_image=fields["Rows"] is not None,
    )


def body_part_from_dicom(*texts: str) -> str | None:
    """Map ``BodyPartExamined`` (then descriptions, in the order given) onto a MURA part.

    Each text counts only if it names exactly one MURA part: ``'UPPER ARM'`` -> ``HUMERUS``,
    ``'XR WRIST 3 VIEWS'`` -> ``WRIST``, ``'CHEST'`` or ``'HAND WRIST'`` -> try the next text.
    """
    for text in texts:
        words = [w for w in _SEPARATORS.split(text.upper()) if w]
        phrases = words + [f"{a} {b}" for a, b in pairwise(words)]
        found = {_PHRASES[p] for p in phrases if p in _PHRASES}
        if len(found) == 1:
            return found.pop()
    return None


class DicomdirError(Exception):
    """A DICOMDIR that cannot be used to list its file-set."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def dicomdir_instances(path: str | os.PathLike[str]) -> list[Path]:
    """The files a DICOMDIR's directory records reference, in record order.

    Paths are resolved against the DICOMDIR's folder and not checked for existence.
    Raises ``DicomdirError`` if the file is not a readable DICOMDIR or a reference would
    leave its folder.
    """
    from pydicom import dcmread
    from pydicom.uid import MediaStorageDirectoryStorage

    path = Path(path)
    try:
        ds = dcmread(path)
        sop_class = ds.file_meta.get("MediaStorageSOPClassUID")
        records = ds.get("DirectoryRecordSequence")
    except Exception as exc:
        raise DicomdirError(path, f"cannot read DICOMDIR: {exc}") from exc
    if sop_class != MediaStorageDirectoryStorage or records is None:
        raise DicomdirError(path, "not a DICOMDIR (no Media Storage Directory records)")
    found: list[Path] = []
    for record in records:
        file_id = record.get("ReferencedFileID")
        if file_id is None:
            continue
        parts = [file_id] if isinstance(file_id, str) else list(file_id)
        if not parts or any(p in ("", ".", "..") or "/" in p or "\\" in p for p in parts):
            raise DicomdirError(path, f"unusable Referenced File ID {file_id!r}")
        found.append(path.parent.joinpath(*parts))
    return found


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _number(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None
