"""What a file is, judged by its first bytes: cheap enough to run on every file of a tree."""

from __future__ import annotations

import errno
import os
import stat
import struct
from typing import BinaryIO, Literal

FileFormat = Literal["dicom", "image"]

SNIFF_BYTES = 132
"""How many leading bytes ``format_of_header`` needs: the 128-byte preamble plus ``DICM``."""

_IMAGE_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n",  # PNG
    b"\xff\xd8\xff",  # JPEG
    b"II*\x00",  # TIFF, little endian
    b"MM\x00*",  # TIFF, big endian
    b"II+\x00",  # BigTIFF, little endian
    b"MM\x00+",  # BigTIFF, big endian
)
_BMP_INFO_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})

_DICOM_VRS = frozenset(
    b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM "
    b"UC UI UL UN UR US UT UV".split()
)
# A DICOM stream without preamble starts with its lowest tag: file meta (0002), identification
# (0008) or, in stripped files, patient/acquisition/image groups up to (0028). The group's high
# byte is therefore 0, which no text file has.
_FIRST_GROUPS = range(0x0002, 0x0029, 2)


def format_of_header(head: bytes) -> FileFormat | None:
    """Classify a file by its first ``SNIFF_BYTES`` bytes; ``None``: neither DICOM nor image."""
    if head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(_IMAGE_SIGNATURES):
        return "image"
    if head.startswith(b"BM") and len(head) >= 18:
        (info_size,) = struct.unpack_from("<I", head, 14)
        if info_size in _BMP_INFO_HEADER_SIZES:
            return "image"
    if _looks_like_bare_dicom(head):
        return "dicom"
    return None


def open_regular_file(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` read-only, but only if it is a regular file: a FIFO would block the
    reader forever and a device never ends, so they are refused before any ``open``.

    Raises ``OSError`` (``IsADirectoryError`` for a folder) saying what the path is.
    """
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", os.fspath(path))
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
        raise OSError(errno.EINVAL, f"not a regular file ({kind}): not opened", os.fspath(path))
    return open(path, "rb")


def sniff_format(path: str | os.PathLike[str]) -> FileFormat | None:
    """Read the first ``SNIFF_BYTES`` bytes of ``path`` and classify it, ignoring its extension.

    Returns ``"dicom"`` (with or without the 128-byte preamble and file meta), ``"image"``
    (PNG, JPEG, TIFF, BMP) or ``None``. Raises ``OSError`` when the file cannot be read.
    """
    with open_regular_file(path) as fh:
        return format_of_header(fh.read(SNIFF_BYTES))


def _looks_like_bare_dicom(head: bytes) -> bool:
    if len(head) < 8:
        return False
    group, _element = struct.unpack_from("<HH", head)
    if group not in _FIRST_GROUPS:
        return False
    if head[4:6] in _DICOM_VRS:
        return True
    (implicit_length,) = struct.unpack_from("<I", head, 4)
    return implicit_length < 0x10000
