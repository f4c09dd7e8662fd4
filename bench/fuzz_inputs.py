"""Deterministic fuzzing of the decoders and the scanner with mutated DICOM, PNG and JPEG.

Seeds are real files: the shared radiograph DICOMs (``../shared/data/dicom``, when
present) and files written here (DICOM uncompressed, RLE, JPEG baseline, JPEG 2000, JPEG-LS
when an encoder is installed; 8- and 16-bit PNG; JPEG). Each seed gets the same mutants for
the same ``--seed``: truncations, byte flips in the header and in the pixel data, element
lengths and image dimensions (DICOM tags, JPEG SOF, JPEG 2000 SIZ, PNG IHDR with a valid
CRC), and rescale/window edge values.

Every mutant is read in its own forked child with an address-space cap and a timeout:
``read_dicom_header`` (what scanning does), ``discover`` on its folder, and ``load_image``.
Outcomes:

- handled: a typed ``ImageLoadError`` that names the file, or pixels that are finite,
  float32 and in [0, 1]; the scanner listed it as a study or a problem;
- wrong: anything else that returned (non-finite or out-of-range pixels, an error message
  without the file name, a scan that lost the file);
- crash: an exception of any other type, or the child died (a signal, the memory cap);
- hang: the child ran past the timeout;
- data lost: the mutant's bytes changed (nothing may write to an input).

    python bench/fuzz_inputs.py [--seed 0] [--per-seed 40] [--timeout 20] [--memory-gb 3]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import multiprocessing
import os
import random
import re
import resource
import struct
import sys
import tempfile
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED_DICOM = ROOT.parent / "shared" / "data" / "dicom"
OUTCOMES = ("handled", "wrong", "crash", "hang", "data lost")


# --- seeds ------------------------------------------------------------------------------


def write_seeds(folder: Path, include_shared: bool = True) -> list[Path]:
    """The files mutants are made from: generated here, plus the shared real DICOMs."""
    from pydicom import uid
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    gray = (np.add.outer(np.arange(96), np.arange(80)) * 10 % 4096).astype(np.uint16)
    gray[20:40, 30:50] = rng.integers(0, 4096, (20, 20))
    seeds: list[Path] = []

    def dicom(name: str, syntax=None, pixels=gray, bits: int = 12) -> Dataset:
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.SOPClassUID = uid.DigitalXRayImageStorageForPresentation
        ds.SOPInstanceUID = uid.generate_uid(entropy_srcs=[name])
        ds.StudyInstanceUID = uid.generate_uid(entropy_srcs=["fuzz-study"])
        ds.Modality = "DX"
        ds.BodyPartExamined = "HAND"
        ds.RescaleSlope, ds.RescaleIntercept = "1", "0"
        ds.WindowCenter, ds.WindowWidth = "2048", "4096"
        ds.set_pixel_data(pixels, "MONOCHROME2", bits)
        if syntax is not None:
            ds.compress(syntax)
        return ds

    def save(ds: Dataset, name: str) -> None:
        path = folder / name
        ds.save_as(path, enforce_file_format=True)
        seeds.append(path)

    save(dicom("plain.dcm"), "plain.dcm")
    save(dicom("rle.dcm", uid.RLELossless), "rle.dcm")
    for name, syntax in (("j2k.dcm", uid.JPEG2000Lossless), ("jls.dcm", uid.JPEGLSLossless)):
        with contextlib.suppress(RuntimeError, ValueError, NotImplementedError):
            save(dicom(name, syntax), name)  # skipped when no encoder is installed for it
    eight = (gray >> 4).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(eight).save(buffer, format="JPEG", quality=90)
    ds = dicom("jpeg.dcm", pixels=eight, bits=8)
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = uid.JPEGBaseline8Bit
    save(ds, "jpeg.dcm")
    for name, image in (
        ("gray8.png", Image.fromarray(eight)),
        ("gray16.png", Image.fromarray(gray.astype(np.uint16) * 16)),
        ("photo.jpg", Image.fromarray(eight)),
    ):
        image.save(folder / name)
        seeds.append(folder / name)
    if include_shared and SHARED_DICOM.is_dir():
        seeds += sorted(p for p in SHARED_DICOM.glob("*.dcm") if p.stat().st_size < 6 << 20)
    return seeds


# --- mutations --------------------------------------------------------------------------

_DICOM_TAGS = {
    "rows": b"\x28\x00\x10\x00",
    "columns": b"\x28\x00\x11\x00",
    "bits": b"\x28\x00\x00\x01",
    "slope": b"\x28\x00\x53\x10",
    "intercept": b"\x28\x00\x52\x10",
    "center": b"\x28\x00\x50\x10",
    "width": b"\x28\x00\x51\x10",
    "pixels": b"\xe0\x7f\x10\x00",
}
_EDGE_NUMBERS = (b"1e38", b"-1e38", b"1e308", b"0", b"nan", b"inf", b"-0", b"1e-38", b"99999")


@dataclass(frozen=True)
class Mutant:
    name: str
    data: bytes


def mutants(seed_path: Path, count: int, seed: int) -> list[Mutant]:
    """``count`` mutants of one seed file, the same for the same ``seed``."""
    data = seed_path.read_bytes()
    digest = int.from_bytes(hashlib.sha1(f"{seed}:{seed_path.name}".encode()).digest()[:8], "big")
    rng = random.Random(digest)
    makers = [_truncate, _flip_header, _flip_pixels, _length_field, _dimension, _edge_number]
    out = []
    for i in range(count):
        maker = makers[i % len(makers)]
        mutated, what = maker(data, rng)
        out.append(Mutant(f"{seed_path.stem}-{i:03d}-{what}{seed_path.suffix}", mutated))
    return out


def _truncate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    cut = rng.choice([0.02, 0.1, 0.3, 0.5, 0.8, 0.95, 0.999])
    return data[: max(1, int(len(data) * cut))], f"cut{int(cut * 1000)}"


def _flip(data: bytes, rng: random.Random, lo: int, hi: int, n: int) -> bytes:
    buf = bytearray(data)
    for _ in range(n):
        position = rng.randrange(lo, max(lo + 1, hi))
        buf[position] ^= 1 << rng.randrange(8)
    return bytes(buf)


def _flip_header(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    return _flip(data, rng, 0, min(len(data), 1024), rng.choice([1, 4, 16])), "hflip"


def _flip_pixels(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    return _flip(data, rng, len(data) // 2, len(data), rng.choice([1, 8, 64])), "pflip"


def _length_field(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    buf = bytearray(data)
    tag = _DICOM_TAGS[rng.choice(["pixels", "rows", "slope"])]
    position = data.find(tag)
    if position < 0 or position + 12 > len(data):
        return _flip_header(data, rng)[0], "len-none"
    value = rng.choice([0xFFFFFFF0, 0x7FFFFFFF, 0, 1, 3])
    if data[position + 4 : position + 6] in (b"OB", b"OW", b"UN", b"SQ", b"UT"):
        struct.pack_into("<I", buf, position + 8, value)
    else:
        struct.pack_into("<H", buf, position + 6, value & 0xFFFF)
    return bytes(buf), "len"


def _dimension(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    buf = bytearray(data)
    value = rng.choice([0, 1, 3, 9000, 65535])
    if data.startswith(b"\x89PNG"):
        struct.pack_into(">II", buf, 16, value or 1, rng.choice([1, 9000, 65535, 0x7FFFFFFF]))
        struct.pack_into(">I", buf, 29, zlib.crc32(bytes(buf[12:29])))  # keep the CRC valid
        return bytes(buf), "ihdr"
    for marker in (b"\xff\xc0", b"\xff\xc1", b"\xff\xc3", b"\xff\xf7"):
        position = data.find(marker, 2)
        if position > 0 and position + 9 < len(data):
            struct.pack_into(">HH", buf, position + 5, value, rng.choice([value, 1, 65535]))
            return bytes(buf), "sof"
    position = data.find(b"\xff\x4f\xff\x51")
    if position >= 0 and position + 16 < len(data):
        struct.pack_into(">II", buf, position + 8, value, rng.choice([value, 1, 0xFFFFFFF]))
        return bytes(buf), "siz"
    tag = _DICOM_TAGS[rng.choice(["rows", "columns", "bits"])]
    position = data.find(tag)
    if position >= 0 and position + 10 <= len(data):
        struct.pack_into("<H", buf, position + 8, value)
        return bytes(buf), "tagdim"
    return _flip_header(data, rng)[0], "dim-none"


def _edge_number(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    tag = _DICOM_TAGS[rng.choice(["slope", "intercept", "center", "width"])]
    position = data.find(tag)
    if position < 0 or data[position + 4 : position + 6] != b"DS":
        return _flip_pixels(data, rng)[0], "num-none"
    (length,) = struct.unpack_from("<H", data, position + 6)
    value = rng.choice(_EDGE_NUMBERS)
    if len(value) % 2:
        value += b" "
    head = bytearray(data[: position + 6])
    head += struct.pack("<H", len(value)) + value
    return bytes(head) + data[position + 8 + length :], "num"


# --- one mutant, in a child -------------------------------------------------------------


def _child(path: str, memory_bytes: int, queue) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        queue.put(_examine(Path(path)))
    except BaseException as exc:  # the harness reports whatever escaped, as a crash
        queue.put(("crash", f"{type(exc).__name__}: {exc}"))


def _examine(path: Path) -> tuple[str, str]:
    from mura_desktop.core.dicom_index import read_dicom_header
    from mura_desktop.core.discovery import discover
    from mura_desktop.core.errors import ImageLoadError
    from mura_desktop.core.pixels import load_image

    try:
        scan = discover([path.parent])
    except Exception:
        return "crash", "discover raised: " + traceback.format_exc(limit=3)
    listed = {v.path for s in scan.studies for v in s.views} | {p.path for p in scan.problems}
    if path not in listed:
        return "wrong", "the scanner lost the file"
    if path.suffix == ".dcm":
        try:
            read_dicom_header(path)
        except (ImageLoadError, OSError):
            pass
        except Exception:
            return "crash", "header reader raised: " + traceback.format_exc(limit=3)
    try:
        image = load_image(path)
    except ImageLoadError as exc:
        if path.name not in str(exc) or not exc.reason:
            return "wrong", f"error does not name the file: {exc}"
        return "handled", exc.reason
    except Exception:
        return "crash", traceback.format_exc(limit=3)
    pixels = image.pixels
    if pixels.dtype != np.float32 or not np.isfinite(pixels).all():
        return "wrong", "non-finite or non-float32 pixels returned"
    if float(pixels.min()) < 0.0 or float(pixels.max()) > 1.0:
        return "wrong", f"pixels outside [0, 1]: {pixels.min()} .. {pixels.max()}"
    return "handled", "decoded"


def examine_in_child(path: Path, timeout: float, memory_bytes: int) -> tuple[str, str]:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_child, args=(str(path), memory_bytes, queue))
    process.start()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
        return "hang", f"still running after {timeout:.0f} s"
    if not queue.empty():
        return queue.get()
    return "crash", f"child died with exit code {process.exitcode}"


# --- the run ----------------------------------------------------------------------------


def run(
    seeds: list[Path], per_seed: int, seed: int, timeout: float, memory_bytes: int, work: Path
) -> Iterator[tuple[Mutant, str, str]]:
    """Write each mutant alone in a folder under ``work`` and examine it; yields outcomes."""
    from mura_desktop.core.pixels import load_image  # imported once, before the forks

    del load_image
    for seed_path in seeds:
        for mutant in mutants(seed_path, per_seed, seed):
            folder = work / re.sub(r"[^A-Za-z0-9_.-]", "_", mutant.name)
            folder.mkdir()
            path = folder / mutant.name
            path.write_bytes(mutant.data)
            before = hashlib.sha256(mutant.data).hexdigest()
            outcome, detail = examine_in_child(path, timeout, memory_bytes)
            if hashlib.sha256(path.read_bytes()).hexdigest() != before:
                outcome, detail = "data lost", "the input file changed"
            yield mutant, outcome, detail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-seed", type=int, default=40, help="mutants per seed file")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per mutant")
    parser.add_argument("--memory-gb", type=float, default=3.0, help="address-space cap")
    parser.add_argument("--no-shared", action="store_true", help="leave out ../shared DICOMs")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts: Counter[str] = Counter()
    by_seed: dict[str, Counter[str]] = {}
    bad: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mura-fuzz-") as tmp:
        seeds = write_seeds(Path(tmp) / "seeds", include_shared=not args.no_shared)
        work = Path(tmp) / "mutants"
        work.mkdir()
        for mutant, outcome, detail in run(
            seeds, args.per_seed, args.seed, args.timeout, int(args.memory_gb * 2**30), work
        ):
            counts[outcome] += 1
            by_seed.setdefault(mutant.name.split("-")[0], Counter())[outcome] += 1
            if outcome != "handled":
                bad.append(f"{outcome:>9}  {mutant.name}: {detail.strip().splitlines()[-1]}")
    tried = sum(counts.values())
    print(f"{len(by_seed)} seed files, {tried} mutants, seed {args.seed}, "
          f"{time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'seed':<34}{'tried':>7}" + "".join(f"{o:>11}" for o in OUTCOMES))
    for name, c in sorted(by_seed.items()):
        print(f"{name:<34}{sum(c.values()):>7}" + "".join(f"{c[o]:>11}" for o in OUTCOMES))
    print(f"{'all':<34}{tried:>7}" + "".join(f"{counts[o]:>11}" for o in OUTCOMES))
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
