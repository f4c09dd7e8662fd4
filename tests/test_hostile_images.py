"""Small files that claim to be huge: the frame header is checked before anything decodes."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom import uid
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate

from mura_desktop.core.codestreams import frame_header
from mura_desktop.core.errors import CorruptImageError, ImageTooLargeError
from mura_desktop.core.pixels import load_image

RNG = np.random.default_rng(5)


def _jpeg(gray: np.ndarray) -> bytearray:
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="JPEG", quality=90)
    return bytearray(buffer.getvalue())


def _claim_size(jpeg: bytearray, width: int, height: int) -> bytearray:
    sof = jpeg.find(b"\xff\xc0")
    struct.pack_into(">HH", jpeg, sof + 5, height, width)
    return jpeg


def _dicom_with_frame(path: Path, frame: bytes, rows: int, columns: int, syntax: uid.UID) -> Path:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.SOPClassUID = uid.DigitalXRayImageStorageForPresentation
    ds.SOPInstanceUID = uid.generate_uid()
    ds.StudyInstanceUID = "1.2.3"
    ds.Modality = "DX"
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.PixelData = encapsulate([bytes(frame)])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.save_as(path, enforce_file_format=True)
    return path


def test_frame_headers_are_read_from_jpeg_and_j2k():
    gray = RNG.integers(0, 255, (40, 56), dtype=np.uint8)
    header = frame_header(bytes(_jpeg(gray)))
    assert (header.codec, header.width, header.height, header.huffman) == ("jpeg", 56, 40, True)
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="JPEG2000")
    header = frame_header(buffer.getvalue())
    assert (header.codec, header.width, header.height) == ("jpeg2000", 56, 40)
    assert frame_header(b"\x89PNG\r\n\x1a\n") is None


def test_a_dicom_frame_claiming_65535_squared_is_refused_without_decoding(tmp_path):
    gray = RNG.integers(0, 255, (64, 64), dtype=np.uint8)
    bomb = _claim_size(_jpeg(gray), 65535, 65535)
    path = _dicom_with_frame(tmp_path / "bomb.dcm", bomb, 64, 64, uid.JPEGBaseline8Bit)
    with pytest.raises(CorruptImageError, match="declares 65535 × 65535 pixels but Rows/Col"):
        load_image(path)
    # with tags that agree: over the pixel budget, or too short for what it claims
    path = _dicom_with_frame(tmp_path / "agree.dcm", bomb, 65535, 65535, uid.JPEGBaseline8Bit)
    with pytest.raises(ImageTooLargeError, match="exceeds the limit"):
        load_image(path)
    short = _claim_size(_jpeg(gray), 9000, 9000)
    path = _dicom_with_frame(tmp_path / "short.dcm", short, 9000, 9000, uid.JPEGBaseline8Bit)
    with pytest.raises(CorruptImageError, match="truncated pixel data"):
        load_image(path)


def test_a_j2k_whose_siz_disagrees_with_the_tags_is_refused(tmp_path):
    gray = RNG.integers(0, 255, (40, 56), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="JPEG2000", irreversible=False)
    path = _dicom_with_frame(tmp_path / "j2k.dcm", buffer.getvalue(), 56, 40, uid.JPEG2000Lossless)
    with pytest.raises(CorruptImageError, match="declares 56 × 40 pixels but Rows/Columns say 40"):
        load_image(path)
    good = _dicom_with_frame(tmp_path / "ok.dcm", buffer.getvalue(), 40, 56, uid.JPEG2000Lossless)
    assert load_image(good).pixels.shape == (40, 56)


def test_a_jpeg_far_shorter_than_its_header_is_corrupt_not_gray(tmp_path):
    gray = RNG.integers(0, 255, (384, 327), dtype=np.uint8)
    path = tmp_path / "claims-9000.jpg"
    path.write_bytes(bytes(_claim_size(_jpeg(gray), 9000, 9000)))
    with pytest.raises(CorruptImageError, match="cannot hold the 9000 × 9000 image"):
        load_image(path)
    honest = tmp_path / "honest.jpg"
    honest.write_bytes(bytes(_jpeg(gray)))
    assert load_image(honest).pixels.shape == (384, 327)


@pytest.mark.parametrize(
    ("name", "process"), [("RG2_JLSL.dcm", "JPEG-LS"), ("RG2_JPLL.dcm", "JPEG lossless")]
)
def test_lossless_and_jpeg_ls_files_pillow_cannot_read_are_decoded(
    shared_dicom_dir, tmp_path, name, process
):
    import pydicom
    from pydicom.encaps import get_frame

    ds = pydicom.dcmread(shared_dicom_dir / name)
    stream = tmp_path / "frame.jpg"
    stream.write_bytes(get_frame(ds.PixelData, 0, number_of_frames=1))
    loaded = load_image(stream)
    assert loaded.description == f"{process} · {ds.BitsStored}-bit gray"
    expected = ds.pixel_array / float(2**ds.BitsStored - 1)
    np.testing.assert_allclose(loaded.pixels, expected, atol=1e-6)


def _deflated_dicom(path: Path, padding: int) -> Path:
    stored = RNG.integers(0, 4096, (32, 32), dtype=np.uint16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = uid.DigitalXRayImageStorageForPresentation
    ds.SOPInstanceUID = uid.generate_uid()
    ds.StudyInstanceUID = "7.7.7"
    ds.Modality = "DX"
    ds.set_pixel_data(stored, "MONOCHROME2", 12)
    if padding:
        ds.add_new(0x00091010, "OB", bytes(padding))  # zeros deflate to almost nothing
    ds.save_as(path, enforce_file_format=True, implicit_vr=False, little_endian=True)
    ds.file_meta.TransferSyntaxUID = uid.DeflatedExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)
    return path


def test_a_deflated_dicom_that_inflates_past_the_budget_is_refused_unread(tmp_path, monkeypatch):
    from mura_desktop.core.deflate_guard import inflation_budget
    from mura_desktop.core.dicom_index import read_dicom_header
    from mura_desktop.core.discovery import discover

    normal = _deflated_dicom(tmp_path / "ok.dcm", 0)
    assert load_image(normal).pixels.shape == (32, 32)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # a budget of 18 MB
    bomb = _deflated_dicom(tmp_path / "bomb.dcm", 3 * inflation_budget())
    assert bomb.stat().st_size < inflation_budget() // 100
    with pytest.raises(ImageTooLargeError, match="deflated DICOM inflates to more than"):
        read_dicom_header(bomb)
    with pytest.raises(ImageTooLargeError, match="decompression bomb"):
        load_image(bomb)
    scan = discover([tmp_path])
    assert [s.uid for s in scan.studies] == ["dicom:7.7.7"]
    assert [p.path.name for p in scan.failures] == ["bomb.dcm"]
