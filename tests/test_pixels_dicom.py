"""load_image on DICOM: files written here with pydicom, and the real radiographs in ../shared."""

from __future__ import annotations

import csv
import io
import os
import struct
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom import uid
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import apply_modality_lut, apply_windowing

from mura_desktop.core.display import Window, windowed
from mura_desktop.core.errors import (
    CorruptImageError,
    ImageLoadError,
    ImageTooLargeError,
    UnsupportedImageError,
)
from mura_desktop.core.formats import sniff_format
from mura_desktop.core.pixels import LoadedImage, load_image

RNG = np.random.default_rng(11)


def _dataset(stored: np.ndarray, photometric: str = "MONOCHROME2", bits: int = 12) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = uid.DigitalXRayImageStorageForPresentation
    ds.StudyInstanceUID = "1.2.3.4"
    ds.Modality = "DX"
    ds.set_pixel_data(stored, photometric, bits)
    return ds


def _write(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def _write_bare(ds: Dataset, path: Path, *, implicit_vr: bool, keep_meta: bool = False) -> Path:
    """Write without the 128-byte preamble and, unless ``keep_meta``, without file meta."""
    ds = ds.copy()
    ds.preamble = None
    if not keep_meta:
        ds.file_meta = FileMetaDataset()
    ds.save_as(path, enforce_file_format=False, implicit_vr=implicit_vr, little_endian=True)
    return path


def _ramp(rows: int = 32, columns: int = 48, top: int = 4095) -> np.ndarray:
    values = np.linspace(0, top, rows * columns).round().astype(np.uint16)
    return values.reshape(rows, columns)


def _load(ds: Dataset, path: Path) -> LoadedImage:
    return load_image(_write(ds, path))


def _assert_unit_float(loaded: LoadedImage, shape: tuple[int, ...]) -> None:
    assert loaded.pixels.dtype == np.float32
    assert loaded.pixels.shape == shape
    assert float(loaded.pixels.min()) >= 0.0 and float(loaded.pixels.max()) <= 1.0


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(np.float64), b.ravel().astype(np.float64))[0, 1])


# --- pixel pipeline on files written here ----------------------------------------------------


def test_no_voi_uses_the_full_value_range(tmp_path: Path) -> None:
    stored = _ramp(top=65535)
    stored[3, 4] = 1000
    loaded = _load(_dataset(stored, bits=16), tmp_path / "u16.dcm")
    _assert_unit_float(loaded, stored.shape)
    np.testing.assert_allclose(loaded.pixels, stored / 65535.0, atol=1e-6)
    assert (loaded.window_center, loaded.window_width) == (0.5, 1.0)
    assert loaded.description == "DICOM DX · uncompressed · 16-bit MONOCHROME2"


def test_monochrome1_is_shown_inverted(tmp_path: Path) -> None:
    stored = _ramp()
    mono2 = _load(_dataset(stored, "MONOCHROME2"), tmp_path / "m2.dcm")
    mono1 = _load(_dataset(stored, "MONOCHROME1"), tmp_path / "m1.dcm")
    np.testing.assert_allclose(mono1.pixels, 1.0 - mono2.pixels, atol=1e-6)
    assert mono1.pixels[0, 0] == 1.0  # lowest stored value is brightest (bone) in MONOCHROME1


def test_monochrome1_inversion_comes_after_a_nonlinear_voi(tmp_path: Path) -> None:
    stored = _ramp()
    ds = _dataset(stored, "MONOCHROME1")
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = 1000, 800, "SIGMOID"
    loaded = _load(ds, tmp_path / "m1_sigmoid.dcm")
    sigmoid = 1.0 / (1.0 + np.exp(-4.0 * (stored.astype(np.float64) - 1000) / 800))
    np.testing.assert_allclose(loaded.pixels, 1.0 - sigmoid, atol=1e-5)


def test_signed_pixels_keep_their_sign(tmp_path: Path) -> None:
    stored = np.linspace(-1000, 3000, 32 * 48).round().astype(np.int16).reshape(32, 48)
    stored[5, :2] = (-1, 1)
    loaded = _load(_dataset(stored, bits=16), tmp_path / "signed.dcm")
    assert loaded.pixels[5, 0] < loaded.pixels[5, 1]  # -1 read as 65535 would be brightest
    np.testing.assert_allclose(loaded.pixels, (stored + 1000) / 4000.0, atol=1e-6)
    assert "16-bit signed MONOCHROME2" in loaded.description


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
def test_rescale_then_window_matches_pydicom(tmp_path: Path, function: str) -> None:
    stored = _ramp()
    ds = _dataset(stored)
    ds.RescaleSlope, ds.RescaleIntercept = 2, -1000
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = 3000, 2000, function
    loaded = _load(ds, tmp_path / "window.dcm")

    reference = apply_windowing(apply_modality_lut(stored, ds), ds)
    y_min, y_max = -1000.0, 4095 * 2 - 1000.0  # pydicom's output range for this header
    np.testing.assert_allclose(loaded.pixels, (reference - y_min) / (y_max - y_min), atol=1e-5)
    if function != "SIGMOID":
        assert (loaded.pixels == 0).any() and (loaded.pixels == 1).any()
    assert ((loaded.pixels > 0.1) & (loaded.pixels < 0.9)).any()


def test_first_of_several_windows_is_used(tmp_path: Path) -> None:
    stored = _ramp()
    several = _dataset(stored)
    several.WindowCenter, several.WindowWidth = [1000, 3000], [500, 4000]
    single = _dataset(stored)
    single.WindowCenter, single.WindowWidth = 1000, 500
    np.testing.assert_array_equal(
        _load(several, tmp_path / "several.dcm").pixels, _load(single, tmp_path / "one.dcm").pixels
    )


def test_window_that_misses_every_pixel_falls_back_to_the_full_range(tmp_path: Path) -> None:
    stored = _ramp() + 30000
    ds = _dataset(stored, bits=16)
    ds.WindowCenter, ds.WindowWidth = 2000, 1000
    loaded = _load(ds, tmp_path / "stale_window.dcm")
    np.testing.assert_allclose(loaded.pixels, (stored - 30000) / 4095.0, atol=1e-6)
    assert loaded.window_note == (
        "window C 2000 W 1000 lies outside every pixel value, using the full value range"
    )
    full = Window(loaded.window_center, loaded.window_width)
    assert loaded.scale.to_file(full) == pytest.approx((32048.0, 4096.0))


def test_window_level_reads_in_the_files_own_values(tmp_path: Path) -> None:
    """The header's C 2048 W 4096 reads back as that, and its named windows are presets."""
    ds = _dataset(_ramp())
    ds.WindowCenter, ds.WindowWidth = [2048, 1000], [4096, 500]
    ds.WindowCenterWidthExplanation = ["FULL", "BONE"]
    loaded = _load(ds, tmp_path / "named.dcm")
    default = Window(loaded.window_center, loaded.window_width)
    assert loaded.scale.to_file(default) == pytest.approx((2048.0, 4096.0))
    assert loaded.scale.describe(default) == "W 4096 L 2048"
    assert loaded.window_note == ""
    assert [(w.name, w.center, w.width) for w in loaded.named_windows] == [
        ("FULL", 2048.0, 4096.0),
        ("BONE", 1000.0, 500.0),
    ]
    bone = loaded.scale.from_file(1000.0, 500.0)
    assert loaded.scale.to_file(bone) == pytest.approx((1000.0, 500.0))
    # the BONE window on the stored values gives what pydicom's windowing gives
    shown = windowed(loaded.pixels, *bone.levels)
    wide = _dataset(_ramp())
    wide.WindowCenter, wide.WindowWidth = 1000, 500
    expected = apply_windowing(_ramp().astype(np.float64), wide)
    np.testing.assert_allclose(shown, (expected - expected.min()) / np.ptp(expected), atol=2e-3)


def test_an_inverted_image_reads_its_window_the_right_way_round(tmp_path: Path) -> None:
    ds = _dataset(_ramp(), photometric="MONOCHROME1")
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    loaded = _load(ds, tmp_path / "mono1.dcm")
    assert loaded.scale.to_file(Window(0.5, 1.0)) == pytest.approx((2048.0, 4096.0))
    assert loaded.scale.to_file(Window(0.25, 0.5)) == pytest.approx((3071.75, 2048.5))


def test_modality_lut_sequence_is_applied(tmp_path: Path) -> None:
    stored = np.tile(np.arange(256, dtype=np.uint8), (8, 1))
    ds = _dataset(stored, bits=8)
    item = Dataset()
    item.add_new(0x00283002, "US", [256, 0, 16])  # LUT Descriptor
    item.add_new(0x00283006, "US", [(255 - i) * 200 for i in range(256)])  # LUT Data, falling
    item.ModalityLUTType = "OD"
    ds.ModalityLUTSequence = [item]
    loaded = _load(ds, tmp_path / "modality_lut.dcm")
    np.testing.assert_allclose(loaded.pixels, (255 - stored) / 255.0, atol=1e-6)
    assert loaded.tags["Rescale"] == "Modality LUT"


def test_voi_lut_sequence_is_applied_in_preference_to_the_window(tmp_path: Path) -> None:
    stored = _ramp()
    lut = np.sqrt(np.arange(4096) / 4095.0) * 4095.0
    ds = _dataset(stored)
    ds.WindowCenter, ds.WindowWidth = 100, 10  # nearly binary if it were used
    item = Dataset()
    item.add_new(0x00283002, "US", [4096, 0, 12])
    item.add_new(0x00283006, "US", lut.round().astype(int).tolist())
    ds.VOILUTSequence = [item]
    loaded = _load(ds, tmp_path / "voi_lut.dcm")
    np.testing.assert_allclose(loaded.pixels, lut.round()[stored] / 4095.0, atol=1e-6)
    assert loaded.tags["Window"] == "VOI LUT; C 100 W 10"


def test_rle_compressed_equals_uncompressed(tmp_path: Path) -> None:
    stored = RNG.integers(0, 4096, size=(40, 56), dtype=np.uint16)
    plain = _load(_dataset(stored), tmp_path / "plain.dcm")
    ds = _dataset(stored)
    ds.compress(uid.RLELossless)  # with the encoders installed in this environment
    rle = _load(ds, tmp_path / "rle.dcm")
    np.testing.assert_array_equal(rle.pixels, plain.pixels)
    assert rle.description == "DICOM DX · RLE Lossless · 12-bit MONOCHROME2"


@pytest.mark.parametrize(
    ("implicit_vr", "keep_meta"), [(True, False), (False, False), (False, True)]
)
def test_files_without_preamble_or_file_meta(
    tmp_path: Path, implicit_vr: bool, keep_meta: bool
) -> None:
    stored = _ramp()
    expected = _load(_dataset(stored), tmp_path / "full.dcm").pixels
    path = _write_bare(
        _dataset(stored), tmp_path / "bare", implicit_vr=implicit_vr, keep_meta=keep_meta
    )
    assert path.read_bytes()[128:132] != b"DICM"
    assert sniff_format(path) == "dicom"
    loaded = load_image(path)
    np.testing.assert_array_equal(loaded.pixels, expected)
    assert "uncompressed" in loaded.description


def test_compressed_file_without_meta_gets_its_codec_inferred(tmp_path: Path) -> None:
    stored = RNG.integers(0, 4096, size=(40, 56), dtype=np.uint16)
    ds = _dataset(stored)
    ds.compress(uid.RLELossless)
    loaded = load_image(_write_bare(ds, tmp_path / "rle_bare.dcm", implicit_vr=False))
    np.testing.assert_array_equal(loaded.pixels, stored / np.float32(stored.max() - stored.min()))
    assert "RLE Lossless" in loaded.description


def _jpeg_baseline_dataset(gray: np.ndarray) -> Dataset:
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="JPEG", quality=95)
    ds = _dataset(gray, bits=8)
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = uid.JPEGBaseline8Bit
    return ds


@pytest.mark.parametrize("with_meta", [True, False])
def test_jpeg_baseline(tmp_path: Path, with_meta: bool) -> None:
    gray = np.repeat(np.linspace(10, 240, 64).astype(np.uint8)[None, :], 40, axis=0)
    ds = _jpeg_baseline_dataset(gray)
    path = (
        _write(ds, tmp_path / "jpeg.dcm")
        if with_meta
        else _write_bare(ds, tmp_path / "jpeg.dcm", implicit_vr=False)
    )
    loaded = load_image(path)
    _assert_unit_float(loaded, gray.shape)
    np.testing.assert_allclose(loaded.pixels, (gray - 10.0) / 230.0, atol=0.03)
    assert loaded.description == "DICOM DX · JPEG Baseline · 8-bit MONOCHROME2"


def test_rgb_dicom_becomes_luma_gray(tmp_path: Path) -> None:
    rgb = np.zeros((4, 3, 3), dtype=np.uint8)
    rgb[:, 0], rgb[:, 1], rgb[:, 2] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    loaded = _load(_dataset(rgb, "RGB", bits=8), tmp_path / "rgb.dcm")
    _assert_unit_float(loaded, (4, 3))
    np.testing.assert_allclose(loaded.pixels[0], [0.299, 0.587, 0.114], atol=1e-6)


def test_multi_frame_shows_the_first_frame(tmp_path: Path) -> None:
    first = _ramp()
    frames = np.stack([first, first[::-1], np.full_like(first, 7)])
    single = _load(_dataset(first), tmp_path / "single.dcm")
    multi = _load(_dataset(frames), tmp_path / "multi.dcm")
    np.testing.assert_array_equal(multi.pixels, single.pixels)
    assert multi.description.endswith("· frame 1 of 3")


def test_tags_and_description(tmp_path: Path) -> None:
    ds = _dataset(_ramp())
    ds.Modality = "CR"
    ds.PatientID = "P042"
    ds.StudyDate = "20240131"
    ds.BodyPartExamined = "HAND"
    ds.ViewPosition = "PA"
    ds.ImageLaterality = "L"
    ds.StudyDescription = "XR HAND 3 VIEWS"
    ds.SeriesNumber, ds.InstanceNumber = 2, 3
    ds.PixelSpacing = [0.1, 0.12]
    ds.WindowCenter, ds.WindowWidth = [2048, 1000], [4096, 500]
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    ds.Manufacturer = "ACME"
    loaded = _load(ds, tmp_path / "tags.dcm")
    assert list(loaded.tags.items()) == [
        ("Patient ID", "P042"),
        ("Study date", "2024-01-31"),
        ("Modality", "CR"),
        ("Body part", "HAND"),
        ("View position", "PA"),
        ("Laterality", "L"),
        ("Study description", "XR HAND 3 VIEWS"),
        ("Series number", "2"),
        ("Instance number", "3"),
        ("Rows × columns", "32 × 48"),
        ("Bits stored", "12"),
        ("Photometric", "MONOCHROME2"),
        ("Transfer syntax", "Explicit VR Little Endian"),
        ("Pixel spacing", "0.1 × 0.12 mm"),
        ("Window", "C 2048 W 4096; C 1000 W 500"),
        ("Rescale", "slope 1, intercept 0"),
        ("Manufacturer", "ACME"),
        ("Study Instance UID", "1.2.3.4"),
    ]
    assert loaded.description == "DICOM CR · uncompressed · 12-bit MONOCHROME2"


# --- detection by content and errors ---------------------------------------------------------


@pytest.mark.parametrize("name", ["image.png", "image.bin", "no_extension"])
def test_dicom_is_recognised_by_content(tmp_path: Path, name: str) -> None:
    loaded = _load(_dataset(_ramp()), tmp_path / name)
    assert loaded.description.startswith("DICOM DX")


def test_text_file_named_dcm_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "report.dcm"
    path.write_text("Findings: no fracture.\n")
    with pytest.raises(UnsupportedImageError) as info:
        load_image(path)
    assert info.value.path == path
    assert "despite its .dcm name" in str(info.value)


def test_dicom_without_pixel_data_is_unsupported(tmp_path: Path) -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = uid.ExplicitVRLittleEndian
    ds.SOPClassUID = uid.ComprehensiveSRStorage
    ds.SOPInstanceUID = uid.generate_uid()
    ds.StudyInstanceUID = "1.2.3.4"
    ds.Modality = "SR"
    with pytest.raises(UnsupportedImageError, match="no pixel data") as info:
        _load(ds, tmp_path / "sr.dcm")
    assert "sr.dcm" in str(info.value)


def test_an_image_that_lost_its_pixels_says_damaged(tmp_path: Path) -> None:
    ds = _dataset(_ramp())
    del ds.PixelData
    with pytest.raises(CorruptImageError, match="damaged DICOM: the header describes an image"):
        _load(ds, tmp_path / "lost.dcm")
    whole = _write(_dataset(_ramp()), tmp_path / "whole.dcm").read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(whole[: whole.index(b"\xe0\x7f\x10\x00") + 6])  # inside the tag's header
    with pytest.raises(CorruptImageError, match="damaged DICOM"):
        load_image(cut)


def test_an_unusable_modality_lut_falls_back_to_the_rescale_like_a_voi_lut(
    tmp_path: Path,
) -> None:
    ds = _dataset(_ramp())
    ds.ModalityLUTSequence = [Dataset()]  # one empty item: pydicom decodes the image anyway
    loaded = _load(ds, tmp_path / "empty-lut.dcm")
    np.testing.assert_allclose(loaded.pixels, _ramp() / 4095.0, atol=1e-6)


def test_transfer_syntax_without_any_decoder_is_unsupported(tmp_path: Path) -> None:
    ds = _dataset(_ramp())
    ds.PixelData = encapsulate([b"\xff\x0a" + bytes(64)])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = uid.MPEG2MPML  # video: pydicom has no decoder at all
    with pytest.raises(UnsupportedImageError, match="no decoder exists for MPEG2"):
        _load(ds, tmp_path / "jxl.dcm")


def test_truncated_pixel_data_is_corrupt(tmp_path: Path) -> None:
    whole = _write(_dataset(_ramp()), tmp_path / "whole.dcm").read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(whole[: len(whole) - 1000])
    with pytest.raises(CorruptImageError) as info:
        load_image(path)
    assert info.value.path == path


def test_rle_stream_that_makes_the_rust_decoder_panic_is_corrupt(tmp_path: Path) -> None:
    # Each segment of a 4x4 16-bit frame may hold 16 bytes; these runs replicate a byte 128 times.
    # pylibjpeg-rle reports that with pyo3's PanicException, a BaseException.
    header = struct.pack("<16I", 2, 64, 66, *([0] * 13))
    ds = _dataset(np.zeros((4, 4), dtype=np.uint16), bits=16)
    ds.PixelData = encapsulate([header + bytes([0x81, 0]) + bytes([0x81, 0])])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = uid.RLELossless
    with pytest.raises(CorruptImageError, match="cannot decode RLE Lossless pixel data"):
        _load(ds, tmp_path / "bad_rle.dcm")


def test_header_claiming_a_huge_image_is_refused(tmp_path: Path) -> None:
    ds = _dataset(_ramp())
    ds.Rows, ds.Columns = 60000, 60000
    with pytest.raises(ImageTooLargeError, match="60000 × 60000"):
        _load(ds, tmp_path / "huge.dcm")


def test_load_never_modifies_or_writes_beside_the_file(tmp_path: Path) -> None:
    ds = _dataset(_ramp())
    ds.compress(uid.RLELossless)
    path = _write_bare(ds, tmp_path / "bare.dcm", implicit_vr=False)
    path.chmod(0o444)
    before = (path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(tmp_path)))
    load_image(path)
    after = (path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(tmp_path)))
    assert after == before


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("compressed", [False, True])
def test_damaged_bytes_never_escape_as_raw_exceptions(tmp_path: Path, compressed: bool) -> None:
    ds = _dataset(RNG.integers(0, 4096, size=(16, 16), dtype=np.uint16))
    if compressed:
        ds.compress(uid.RLELossless)
    original = _write(ds, tmp_path / "original.dcm").read_bytes()
    for trial in range(30):
        data = bytearray(original)
        for position in RNG.integers(132, len(data), size=1 + trial % 5):
            data[position] = int(RNG.integers(0, 256))
        path = tmp_path / f"damaged_{trial}.dcm"
        path.write_bytes(bytes(data[: len(data) - trial * 11]))
        try:
            loaded = load_image(path)
        except ImageLoadError as exc:
            assert exc.path == path
        else:
            assert loaded.pixels.dtype == np.float32
            assert float(loaded.pixels.min()) >= 0.0 and float(loaded.pixels.max()) <= 1.0


# --- the real radiographs in ../shared/data/dicom --------------------------------------------


def _manifest(shared_dicom_dir: Path) -> list[dict[str, str]]:
    with open(shared_dicom_dir / "manifest.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_shared_file_decodes_or_fails_as_the_manifest_says(shared_dicom_dir: Path) -> None:
    rows = _manifest(shared_dicom_dir)
    assert sorted(row["path"] for row in rows) == sorted(
        path.name for path in shared_dicom_dir.glob("*.dcm")
    )
    for row in rows:
        path = shared_dicom_dir / row["path"]
        outcome = list(row.values())[-1]
        if outcome.startswith("ok"):
            loaded = load_image(path)
            _assert_unit_float(loaded, (int(row["Rows"]), int(row["Columns"])))
            assert float(loaded.pixels.std()) > 0.05, f"{path.name} shows a flat image"
            assert loaded.description.startswith(f"DICOM {row['Modality']} · ")
            assert row["PhotometricInterpretation"] in loaded.description
        else:
            assert outcome.startswith("FAIL")
            with pytest.raises(CorruptImageError) as info:
                load_image(path)
            assert info.value.path == path
            assert path.name in str(info.value)


@pytest.mark.parametrize(
    ("name", "sign"), [("RG3_J2KR.dcm", -1), ("RG1_JLSN.dcm", -1), ("RG2_JPLL.dcm", 1)]
)
def test_bone_is_bright_whatever_the_photometric_interpretation(
    shared_dicom_dir: Path, name: str, sign: int
) -> None:
    path = shared_dicom_dir / name
    stored = pydicom.dcmread(path).pixel_array[::8, ::8]
    shown = load_image(path).pixels[::8, ::8]
    # MONOCHROME1 stores bone as low values: brighter output must come from lower stored values.
    assert sign * _correlation(shown, stored) > 0.9


@pytest.mark.parametrize(
    ("original", "copy"),
    [("RG3_J2KR.dcm", "RG3_from_UNCR_RLE.dcm"), ("RG2_JPLL.dcm", "RG2_from_JPLL_RLE.dcm")],
)
def test_pixel_identical_files_load_identically(
    shared_dicom_dir: Path, original: str, copy: str
) -> None:
    a = load_image(shared_dicom_dir / original)
    b = load_image(shared_dicom_dir / copy)
    np.testing.assert_array_equal(a.pixels, b.pixels)


def test_shared_description_and_tags(shared_dicom_dir: Path) -> None:
    loaded = load_image(shared_dicom_dir / "RG3_J2KR.dcm")
    assert loaded.description == "DICOM CR · JPEG 2000 Lossless · 10-bit MONOCHROME1"
    assert loaded.tags["Body part"] == "EXTREMITY"
    assert loaded.tags["Rows × columns"] == "1760 × 1760"
    assert loaded.tags["Window"] == "C 550 W 1024"
    assert loaded.tags["Transfer syntax"] == "JPEG 2000 Image Compression (Lossless Only)"
    assert "Pixel spacing" not in loaded.tags  # absent from this file, so not shown


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("RG3_J2KR.dcm", "JPEG 2000"),
        ("RG2_JLSL.dcm", "JPEG-LS Lossless"),
        ("RG2_JPLL.dcm", "JPEG Lossless"),
        ("RG2_JPLY_fixed.dcm", "JPEG Extended"),
    ],
)
def test_real_compressed_files_without_meta_get_their_codec_inferred(
    shared_dicom_dir: Path, tmp_path: Path, name: str, label: str
) -> None:
    original = shared_dicom_dir / name
    bare = _write_bare(pydicom.dcmread(original), tmp_path / name, implicit_vr=False)
    loaded = load_image(bare)
    assert f"· {label} ·" in loaded.description
    np.testing.assert_array_equal(loaded.pixels, load_image(original).pixels)
