"""load_image on raster files (PNG/JPEG/TIFF/BMP) made with Pillow, plus sniffing and errors."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mura_desktop.core.errors import (
    CorruptImageError,
    ImageLoadError,
    ImageTooLargeError,
    UnreadableFileError,
    UnsupportedImageError,
)
from mura_desktop.core.formats import format_of_header, sniff_format
from mura_desktop.core.pixels import LoadedImage, load_image

RNG = np.random.default_rng(7)


def _ramp8(height: int = 24, width: int = 32) -> np.ndarray:
    return (np.arange(height * width) % 256).astype(np.uint8).reshape(height, width)


def _save(img: Image.Image, path: Path, **params: object) -> Path:
    img.save(path, **params)
    return path


def _assert_unit_float(loaded: LoadedImage, shape: tuple[int, int]) -> None:
    assert loaded.pixels.dtype == np.float32
    assert loaded.pixels.shape == shape
    assert float(loaded.pixels.min()) >= 0.0 and float(loaded.pixels.max()) <= 1.0


def test_png_8bit_gray_is_exact(tmp_path: Path) -> None:
    gray = _ramp8()
    loaded = load_image(_save(Image.fromarray(gray), tmp_path / "view.png"))
    _assert_unit_float(loaded, gray.shape)
    np.testing.assert_array_equal(loaded.pixels, gray.astype(np.float32) / 255)
    assert (loaded.window_center, loaded.window_width) == (0.5, 1.0)
    assert loaded.description == "PNG · 8-bit gray"
    assert loaded.tags == {}


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_gray_keeps_its_precision_and_is_scaled_by_65535(tmp_path: Path, suffix: str) -> None:
    # 12-bit data in a 16-bit container: values that an 8-bit conversion would merge or clip.
    stored = (np.arange(40 * 50) * 2 % 4096).astype(np.uint16).reshape(40, 50)
    stored[0, 0] = 1
    loaded = load_image(_save(Image.fromarray(stored), tmp_path / f"view{suffix}"))
    _assert_unit_float(loaded, stored.shape)
    np.testing.assert_allclose(loaded.pixels, stored / 65535.0, rtol=1e-6)
    assert len(np.unique(loaded.pixels)) > 256
    assert "16-bit gray" in loaded.description
    # Display defaults span the data so a 12-bit image is not shown near black.
    low, high = stored.min() / 65535, stored.max() / 65535
    assert loaded.window_center == pytest.approx((low + high) / 2, rel=1e-5)
    assert loaded.window_width == pytest.approx(high - low, rel=1e-5)


def test_rgb_and_rgba_become_luma_gray(tmp_path: Path) -> None:
    rgb = np.zeros((4, 3, 3), dtype=np.uint8)
    rgb[:, 0] = (255, 0, 0)
    rgb[:, 1] = (0, 255, 0)
    rgb[:, 2] = (0, 0, 255)
    expected = np.array([76, 150, 29], dtype=np.float32) / 255  # ITU-R 601-2 luma
    loaded = load_image(_save(Image.fromarray(rgb), tmp_path / "rgb.png"))
    _assert_unit_float(loaded, (4, 3))
    np.testing.assert_allclose(loaded.pixels[0], expected, atol=1 / 255)
    assert loaded.description == "PNG · RGB"

    rgba = np.dstack([rgb, np.zeros((4, 3), dtype=np.uint8)])  # fully transparent
    loaded = load_image(_save(Image.fromarray(rgba), tmp_path / "rgba.png"))
    np.testing.assert_allclose(loaded.pixels[0], expected, atol=1 / 255)
    assert loaded.description == "PNG · RGBA"


def test_palette_is_converted_through_its_colours_not_its_indices(tmp_path: Path) -> None:
    indices = np.tile(np.array([0, 1, 2], dtype=np.uint8), (5, 1))
    img = Image.fromarray(indices, mode="P")
    img.putpalette([0, 0, 0, 255, 255, 255, 128, 128, 128] + [0] * (3 * 253))
    loaded = load_image(_save(img, tmp_path / "palette.png"))
    np.testing.assert_allclose(loaded.pixels[0], [0.0, 1.0, 128 / 255], atol=1e-6)
    assert loaded.description == "PNG · palette"


def test_jpeg_and_bmp(tmp_path: Path) -> None:
    gray = np.repeat(np.linspace(0, 255, 64).astype(np.uint8)[None, :], 48, axis=0)
    jpeg = load_image(_save(Image.fromarray(gray), tmp_path / "view.jpg", quality=95))
    _assert_unit_float(jpeg, gray.shape)
    np.testing.assert_allclose(jpeg.pixels, gray / 255.0, atol=4 / 255)
    assert jpeg.description == "JPEG · 8-bit gray"

    rgb = np.dstack([gray, gray, gray])
    bmp = load_image(_save(Image.fromarray(rgb), tmp_path / "view.bmp"))
    np.testing.assert_allclose(bmp.pixels, gray / 255.0, atol=1 / 255)
    assert bmp.description == "BMP · RGB"


def test_32bit_tiff_integer_and_float(tmp_path: Path) -> None:
    integers = (np.arange(20 * 30, dtype=np.int32) * 100).reshape(20, 30)  # fits 0..65535
    loaded = load_image(_save(Image.fromarray(integers), tmp_path / "int32.tif"))
    np.testing.assert_allclose(loaded.pixels, integers / 65535.0, rtol=1e-6)
    assert loaded.description == "TIFF · 32-bit integer"

    floats = np.linspace(-2.0, 6.0, 20 * 30, dtype=np.float32).reshape(20, 30)
    loaded = load_image(_save(Image.fromarray(floats), tmp_path / "float32.tif"))
    np.testing.assert_allclose(loaded.pixels, (floats + 2.0) / 8.0, atol=1e-6)
    assert loaded.description == "TIFF · 32-bit float"


def test_multi_page_tiff_shows_the_first_page(tmp_path: Path) -> None:
    first, second = Image.fromarray(_ramp8()), Image.fromarray(255 - _ramp8())
    path = _save(first, tmp_path / "pages.tif", save_all=True, append_images=[second])
    loaded = load_image(path)
    np.testing.assert_array_equal(loaded.pixels, _ramp8() / np.float32(255))
    assert loaded.description == "TIFF · 8-bit gray · first of 2 frames"


def test_exif_orientation_is_honoured(tmp_path: Path) -> None:
    stored = np.zeros((20, 30), dtype=np.uint8)  # 20 rows, 30 columns as stored
    stored[:8, :8] = 255  # marker in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # display = stored rotated 90° clockwise
    path = _save(Image.fromarray(stored), tmp_path / "rotated.jpg", exif=exif, quality=95)

    loaded = load_image(path)
    assert loaded.pixels.shape == (30, 20)
    assert loaded.pixels[:8, -8:].mean() > 0.9  # marker now top-right
    assert loaded.pixels[:8, :8].mean() < 0.1
    assert "EXIF-rotated" in loaded.description


def test_content_decides_the_format_not_the_extension(tmp_path: Path) -> None:
    gray = _ramp8()
    loaded = load_image(_save(Image.fromarray(gray), tmp_path / "scan.dcm", format="PNG"))
    np.testing.assert_array_equal(loaded.pixels, gray / np.float32(255))


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("PNG", {}), ("JPEG", {}), ("TIFF", {}), ("BMP", {})],
)
def test_sniff_recognises_images_by_content(tmp_path: Path, fmt: str, params: dict) -> None:
    path = _save(Image.fromarray(_ramp8()), tmp_path / "no_extension", format=fmt, **params)
    assert sniff_format(path) == "image"


def test_sniff_rejects_text_empty_and_lookalikes(tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("BM is how this line starts, but it is not a bitmap\n" * 4)
    assert sniff_format(text) is None
    assert format_of_header(b"") is None
    assert format_of_header(b"\x89PN") is None


def test_decompression_bomb_header_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", 20000, 20000)  # IHDR width, height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path = tmp_path / "bomb.png"
    path.write_bytes(bytes(data))

    with pytest.raises(ImageTooLargeError) as info:
        load_image(path)
    assert info.value.path == path
    assert "bomb.png" in str(info.value)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [40, 50])  # 40²: Pillow only warns; 50²: Pillow raises
def test_bomb_limit_applies_from_the_warning_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, side: int
) -> None:
    path = _save(Image.new("L", (side, side)), tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageTooLargeError, match=r"big\.png"):
        load_image(path)


def test_truncated_png_is_corrupt(tmp_path: Path) -> None:
    noise = RNG.integers(0, 256, size=(200, 200), dtype=np.uint8)
    whole = _save(Image.fromarray(noise), tmp_path / "whole.png").read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CorruptImageError, match=r"cut\.png"):
        load_image(path)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.touch()
    with pytest.raises(CorruptImageError) as info:
        load_image(path)
    assert info.value.reason == "empty file (0 bytes)"
    assert info.value.path == path


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "fake.png"
    path.write_text("not a picture\n")
    with pytest.raises(UnsupportedImageError) as info:
        load_image(path)
    assert "fake.png" in str(info.value)
    assert info.value.reason.startswith("text is neither DICOM nor")
    assert "despite its .png name" in info.value.reason


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="file not found"):
        load_image(tmp_path / "gone.png")
    with pytest.raises(UnreadableFileError, match="is a folder"):
        load_image(tmp_path)


def test_permission_denied(tmp_path: Path) -> None:
    path = _save(Image.fromarray(_ramp8()), tmp_path / "locked.png")
    path.chmod(0)
    try:
        try:
            path.open("rb").close()
        except PermissionError:
            pass
        else:
            pytest.skip("file modes do not bind for this user (root)")
        with pytest.raises(UnreadableFileError, match="permission denied"):
            load_image(path)
    finally:
        path.chmod(0o600)


def test_load_never_modifies_or_writes_beside_the_file(tmp_path: Path) -> None:
    path = _save(Image.fromarray(_ramp8()), tmp_path / "view.png")
    path.chmod(0o444)  # a write attempt would fail
    before = (path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(tmp_path)))
    load_image(path)
    after = (path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(tmp_path)))
    assert after == before


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "TIFF"])
def test_damaged_bytes_never_escape_as_raw_exceptions(tmp_path: Path, fmt: str) -> None:
    buffer = io.BytesIO()
    Image.fromarray(RNG.integers(0, 256, size=(32, 32), dtype=np.uint8)).save(buffer, format=fmt)
    original = buffer.getvalue()
    for trial in range(25):
        data = bytearray(original)
        for position in RNG.integers(8, len(data), size=1 + trial % 4):
            data[position] = int(RNG.integers(0, 256))
        path = tmp_path / f"damaged_{trial}.{fmt.lower()}"
        path.write_bytes(bytes(data[: len(data) - trial * 7]))
        try:
            loaded = load_image(path)
        except ImageLoadError as exc:
            assert exc.path == path
        else:
            _assert_unit_float(loaded, loaded.pixels.shape)
