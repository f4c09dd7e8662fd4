"""What a compressed image stream says about itself, read before anything is decoded.

Decoders trust the frame header: a JPEG whose SOF claims 65535 × 65535 makes the decoder
allocate 8 GB, and one whose entropy data stops early decodes "fine" as mid-gray. So the
header's size is read here (JPEG and JPEG-LS SOF, JPEG 2000 SIZ) and checked against the
DICOM tags, the pixel budget and the number of bytes that follow it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_SOI = b"\xff\xd8"
_SOC_SIZ = b"\xff\x4f\xff\x51"
# Start-of-frame markers: Huffman (C0-C3, C5-C7), arithmetic (C9-CB, CD-CF), JPEG-LS (F7).
_HUFFMAN_FRAMES = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7})
_ARITHMETIC_FRAMES = frozenset({0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_LS_FRAME = 0xF7
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RSTn: no length field


@dataclass(frozen=True)
class FrameHeader:
    """The image size a codestream declares, and how its data is coded."""

    codec: str  # "jpeg", "jpeg-ls" or "jpeg2000"
    width: int
    height: int
    components: int
    marker: int = 0  # the JPEG start-of-frame marker (0xC0 baseline, ..., 0xF7 JPEG-LS)
    precision: int = 8  # bits per sample (JPEG, JPEG-LS)

    @property
    def huffman(self) -> bool:
        """JPEG with Huffman coding: any complete stream holds at least a bit per block."""
        return self.marker in _HUFFMAN_FRAMES

    def minimum_bytes(self) -> int:
        """Fewest bytes any complete encoding of this frame needs (0 when unknown)."""
        if not self.huffman or self.height == 0:
            return 0
        blocks = -(-self.width // 8) * -(-self.height // 8)
        return blocks // 8  # one bit per block of the first component


def frame_header(data: bytes) -> FrameHeader | None:
    """The frame header of a JPEG, JPEG-LS or JPEG 2000 stream; ``None`` if there is none."""
    if data.startswith(_SOI):
        return _jpeg_frame(data)
    position = data.find(_SOC_SIZ, 0, 4096)  # a raw codestream, or inside a JP2 box
    if position >= 0:
        return _j2k_size(data, position + 4)
    return None


def _jpeg_frame(data: bytes) -> FrameHeader | None:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        if marker in _STANDALONE:
            position += 2
            continue
        (length,) = struct.unpack_from(">H", data, position + 2)
        if marker in _HUFFMAN_FRAMES or marker in _ARITHMETIC_FRAMES or marker == _JPEG_LS_FRAME:
            if position + 10 > len(data):
                return None
            precision, height, width, components = struct.unpack_from(">BHHB", data, position + 4)
            codec = "jpeg-ls" if marker == _JPEG_LS_FRAME else "jpeg"
            return FrameHeader(codec, width, height, components, marker, precision)
        if marker == 0xDA or length < 2:  # scan data before any frame header: malformed
            return None
        position += 2 + length
    return None


def _j2k_size(data: bytes, position: int) -> FrameHeader | None:
    # SIZ: Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, XTsiz, YTsiz, XTOsiz, YTOsiz, Csiz
    if position + 38 > len(data):
        return None
    _lsiz, _rsiz, xsiz, ysiz, xosiz, yosiz = struct.unpack_from(">HHIIII", data, position)
    (components,) = struct.unpack_from(">H", data, position + 36)
    return FrameHeader("jpeg2000", xsiz - xosiz, ysiz - yosiz, components)
