"""Deflated DICOM (transfer syntax 1.2.840.10008.1.2.1.99) is inflated whole by pydicom,
even for a header-only read: a 2 MB file inflated to 4.2 GB while a folder was scanned.
Before pydicom sees such a file, its deflated body is inflated here in small chunks that
are counted and thrown away, and a file that inflates past the budget is refused.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from mura_desktop.core.errors import ImageTooLargeError

DEFLATED = b"1.2.840.10008.1.2.1.99"
_META_SEARCH_BYTES = 4096
_CHUNK = 1 << 20


def inflation_budget() -> int:
    """Bytes a deflated dataset may inflate to: the pixel budget at 16 bits, plus 16 MB."""
    return 2 * (Image.MAX_IMAGE_PIXELS or 2**27) + (16 << 20)


def refuse_deflate_bomb(fh: BinaryIO, path: Path) -> None:
    """Raise ``ImageTooLargeError`` when ``fh`` is a deflated DICOM whose body inflates past
    ``inflation_budget``; leaves ``fh`` where it was. Costs nothing for other files."""
    start = fh.tell()
    head = fh.read(_META_SEARCH_BYTES)
    try:
        position = head.find(DEFLATED)
        if position < 0:
            return
        body = _body_offset(head)
        fh.seek(start + (body if body is not None else position + len(DEFLATED)))
        _count_inflation(fh, path, inflation_budget())
    finally:
        fh.seek(start)


def _body_offset(head: bytes) -> int | None:
    """Where the dataset starts: after the preamble and the (explicit VR) file meta group,
    whose first element, (0002,0000) UL, holds the group's length."""
    if head[128:132] != b"DICM" or head[132:138] != b"\x02\x00\x00\x00UL":
        return None
    group_length = int.from_bytes(head[140:144], "little")
    return 144 + group_length


def _count_inflation(fh: BinaryIO, path: Path, budget: int) -> None:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total = 0
    while True:
        data = fh.read(_CHUNK)
        if not data:
            return
        try:
            chunk = inflater.decompress(data, _CHUNK)
            while chunk:
                total += len(chunk)
                if total > budget:
                    raise ImageTooLargeError(
                        path,
                        f"deflated DICOM inflates to more than {budget // 2**20:,} MB from "
                        f"a {fh.seek(0, 2) / 2**20:.1f} MB file: refused (a decompression bomb)",
                    )
                chunk = inflater.decompress(inflater.unconsumed_tail, _CHUNK)
        except zlib.error:
            return  # damaged deflate data: pydicom reports it when it reads the file
        if inflater.eof:
            return
