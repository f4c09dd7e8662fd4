"""Synthetic MURA-style datasets: layout, CSV format, splits, ground truth, determinism, DICOM."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.uid import RLELossless

from mura_desktop.core.pixels import load_image
from mura_desktop.core.study import BODY_PARTS
from mura_desktop.phantoms import (
    KINDS,
    OutputNotEmptyError,
    PhantomView,
    generate_dataset,
    is_phantom_dataset,
    render_view,
)
from mura_desktop.phantoms.cli import main as cli_main
from mura_desktop.phantoms.dicom_out import study_uid, to_12bit
from mura_desktop.phantoms.ground_truth import GroundTruth

PARTS = "|".join(BODY_PARTS)
IMAGE_LINE = re.compile(
    rf"^MURA-v1\.1/(train|valid)/XR_({PARTS})/(patient\d{{5}})/study(\d+)_(positive|negative)/image(\d+)\.png$"
)
STUDY_LINE = re.compile(
    rf"^MURA-v1\.1/(train|valid)/XR_({PARTS})/(patient\d{{5}})/study(\d+)_(positive|negative)/,([01])$"
)
N_STUDIES = 28
SEED = 7
SIZE = 64


def _lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")
    return text.splitlines()


def _ground_truth(out: Path) -> list[dict[str, str]]:
    with (out / "ground_truth.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _tree_bytes(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.suffix in (".png", ".csv", ".dcm", ".txt", ".zip")
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("phantoms") / "out"
    calls: list[tuple[int, int]] = []
    summary = generate_dataset(
        out, N_STUDIES, seed=SEED, size=SIZE, dicom=True, progress=lambda d, t: calls.append((d, t))
    )
    assert summary.root == out / "MURA-v1.1"
    assert summary.n_studies == N_STUDIES
    assert calls[-1] == (N_STUDIES, N_STUDIES)
    return out


# ---------------------------------------------------------------- single views


@pytest.mark.parametrize("part", BODY_PARTS)
def test_render_view_normal_and_each_kind(part: str) -> None:
    rng = np.random.default_rng(BODY_PARTS.index(part))
    for kinds in [(), *((k,) for k in KINDS)]:
        view = render_view(part, rng, size=96, abnormalities=kinds)
        assert isinstance(view, PhantomView)
        assert view.part == part
        assert view.image.dtype == np.uint8 and view.image.ndim == 2
        assert view.mask.dtype == bool and view.mask.shape == view.image.shape
        assert max(view.image.shape) == 96
        assert 0.69 <= view.image.shape[0] / view.image.shape[1] <= 1.31
        assert view.kinds == kinds
        assert view.mask.any() == bool(kinds)
        assert view.mask.mean() < 0.6
        # A radiograph: dark background somewhere, bright bone somewhere.
        assert np.percentile(view.image, 5) < 80
        assert view.image.max() > 170


def test_render_view_is_deterministic_per_generator() -> None:
    a = render_view("WRIST", np.random.default_rng(3), size=80, abnormalities=("fracture",))
    b = render_view("WRIST", np.random.default_rng(3), size=80, abnormalities=("fracture",))
    c = render_view("WRIST", np.random.default_rng(4), size=80, abnormalities=("fracture",))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(a.image, c.image)


def test_hardware_is_the_brightest_thing_in_its_region() -> None:
    view = render_view("FOREARM", np.random.default_rng(11), size=128, abnormalities=("hardware",))
    assert view.image[view.mask].max() >= 235


def test_render_view_rejects_unknown_part_and_kind() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="KNEE"):
        render_view("KNEE", rng)
    with pytest.raises(ValueError, match="tumour"):
        render_view("HAND", rng, abnormalities=("tumour",))


# ---------------------------------------------------------------- layout and CSVs


def test_layout_and_csvs_are_exactly_muras(dataset: Path) -> None:
    root = dataset / "MURA-v1.1"
    listed_images: set[str] = set()
    listed_studies: dict[str, int] = {}
    for split in ("train", "valid"):
        for line in _lines(root / f"{split}_image_paths.csv"):
            m = IMAGE_LINE.match(line)
            assert m, line
            assert m.group(1) == split
            listed_images.add(line)
            with Image.open(dataset / line) as img:
                assert img.format == "PNG" and img.mode == "L"
                assert max(img.size) == SIZE
        for line in _lines(root / f"{split}_labeled_studies.csv"):
            m = STUDY_LINE.match(line)
            assert m, line
            assert m.group(1) == split
            assert int(m.group(6)) == (m.group(5) == "positive")
            listed_studies[line.rsplit(",", 1)[0]] = int(m.group(6))
    on_disk = {str(p.relative_to(dataset)) for p in root.rglob("*.png")}
    assert listed_images == on_disk
    assert {p.rsplit("/", 1)[0] + "/" for p in listed_images} == set(listed_studies)
    assert len(listed_studies) == N_STUDIES
    assert sum(listed_studies.values()) == round(0.45 * N_STUDIES)


def test_studies_views_patients_and_splits(dataset: Path) -> None:
    views: dict[str, list[int]] = defaultdict(list)
    studies_of: dict[tuple[str, str], set[int]] = defaultdict(set)
    split_of: dict[str, set[str]] = defaultdict(set)
    parts_in: dict[str, set[str]] = defaultdict(set)
    for split in ("train", "valid"):
        for line in _lines(dataset / "MURA-v1.1" / f"{split}_image_paths.csv"):
            m = IMAGE_LINE.match(line)
            assert m
            _, part, patient, study, _, image = m.groups()
            views[line.rsplit("/", 1)[0]].append(int(image))
            studies_of[(part, patient)].add(int(study))
            split_of[patient].add(split)
            parts_in[split].add(part)
    for numbers in views.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)) and 1 <= len(numbers) <= 4
    assert {len(v) for v in views.values()} >= {2, 3}
    for numbers in studies_of.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)) and len(numbers) <= 2
    assert all(len(s) == 1 for s in split_of.values()), "a patient is in both splits"
    assert len({p for _, p in studies_of}) == len(studies_of), "a patient id is reused across parts"
    assert parts_in["train"] == parts_in["valid"] == set(BODY_PARTS)


def test_ground_truth_masks_match_views(dataset: Path) -> None:
    rows = _ground_truth(dataset)
    listed = _lines(dataset / "MURA-v1.1" / "train_image_paths.csv") + _lines(
        dataset / "MURA-v1.1" / "valid_image_paths.csv"
    )
    assert [r["image"] for r in rows] == listed
    abnormal_views: dict[str, int] = defaultdict(int)
    for r in rows:
        m = IMAGE_LINE.match(r["image"])
        assert m
        split, part, patient, _, label, _ = m.groups()
        assert (r["split"], r["body_part"], r["patient"]) == (split, part, patient)
        assert int(r["study_label"]) == (label == "positive")
        assert r["mask"] == r["image"].removeprefix("MURA-v1.1/")
        with (
            zipfile.ZipFile(dataset / "masks.zip") as archive,
            archive.open(r["mask"]) as fh,
            Image.open(fh) as img,
        ):
            assert img.mode == "L"
            mask = np.asarray(img)
        with Image.open(dataset / r["image"]) as img:
            assert img.size == (mask.shape[1], mask.shape[0])
        assert set(np.unique(mask).tolist()) <= {0, 255}
        with GroundTruth(dataset) as truth:
            assert np.array_equal(truth.mask(r), mask > 0)
        view_abnormal = int(r["view_abnormal"])
        assert mask.any() == bool(view_abnormal)
        assert bool(r["kinds"]) == bool(view_abnormal)
        assert set(filter(None, r["kinds"].split("+"))) <= set(KINDS)
        abnormal_views[r["image"].rsplit("/", 1)[0]] += view_abnormal
    for study, n in abnormal_views.items():
        if study.endswith("_positive"):
            assert n >= 1, f"{study}: abnormal study without an abnormal view"
        else:
            assert n == 0, f"{study}: normal study with an abnormal view"


def test_readme_names_seed_and_command(dataset: Path) -> None:
    text = (dataset / "README.txt").read_text(encoding="utf-8")
    assert is_phantom_dataset(dataset)
    assert f"Seed: {SEED}" in text
    assert f"--studies {N_STUDIES} --seed {SEED} --size {SIZE}" in text


# ---------------------------------------------------------------- determinism


def test_same_seed_same_bytes_whatever_the_workers(tmp_path: Path) -> None:
    a = generate_dataset(tmp_path / "a", 9, seed=3, size=48, workers=1)
    generate_dataset(tmp_path / "b", 9, seed=3, size=48, workers=2)
    generate_dataset(tmp_path / "c", 9, seed=4, size=48, workers=1)
    bytes_a, bytes_b, bytes_c = (_tree_bytes(tmp_path / n) for n in "abc")
    assert len(bytes_a) == a.n_views + 7
    assert bytes_a == bytes_b
    pngs = [k for k in bytes_a if k.endswith(".png")]
    changed = [k for k in pngs if bytes_c.get(k) != bytes_a[k]]
    assert len(changed) >= len(pngs) // 2


# ---------------------------------------------------------------- DICOM


def test_dicom_copies_carry_tags_and_pixels(dataset: Path) -> None:
    rows = _ground_truth(dataset)
    photometric, syntaxes, uids = set(), set(), defaultdict(set)
    for r in rows:
        folder = r["image"].rsplit("/", 2)[-2]
        number = r["image"].rsplit("image", 1)[1].removesuffix(".png")
        path = dataset / "dicom" / r["patient"] / folder / f"image{number}.dcm"
        ds = pydicom.dcmread(path)
        assert ds.Modality == "CR"
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (
            16,
            12,
            11,
            0,
        )
        assert ds.BodyPartExamined == r["body_part"] and ds.PatientID == r["patient"]
        assert ds.StudyInstanceUID == study_uid(SEED, r["patient"], folder)
        assert ds.SeriesNumber == int(number)
        assert ("abnormal" in ds.StudyDescription) == (r["study_label"] == "1")
        with Image.open(dataset / r["image"]) as img:
            png = np.asarray(img)
            expected = to_12bit(png)
        stored = ds.pixel_array
        assert stored.max() <= 4095
        if ds.PhotometricInterpretation == "MONOCHROME1":
            stored = 4095 - stored
        assert np.array_equal(stored, expected)
        # What the viewer shows (VOI window, MONOCHROME1 inverted) is the PNG.
        shown = load_image(path)
        assert np.abs(shown.pixels - png / 255.0).max() < 1e-3
        photometric.add(ds.PhotometricInterpretation)
        syntaxes.add(ds.file_meta.TransferSyntaxUID)
        uids[ds.StudyInstanceUID].add((r["patient"], folder))
    assert photometric == {"MONOCHROME1", "MONOCHROME2"}
    assert RLELossless in syntaxes and len(syntaxes) == 2
    assert len(uids) == N_STUDIES and all(len(v) == 1 for v in uids.values())


def test_to_12bit_spans_the_range() -> None:
    values = to_12bit(np.array([0, 1, 128, 255], np.uint8))
    assert values.dtype == np.uint16
    assert values.tolist() == [0, 16, 2056, 4095]


# ---------------------------------------------------------------- output folder and CLI


def test_refuses_to_clobber_a_foreign_folder(tmp_path: Path) -> None:
    precious = tmp_path / "mine" / "notes.txt"
    precious.parent.mkdir()
    precious.write_text("keep me", encoding="utf-8")
    with pytest.raises(OutputNotEmptyError, match="not empty"):
        generate_dataset(precious.parent, 2, size=48)
    assert sorted(p.name for p in precious.parent.iterdir()) == ["notes.txt"]
    assert cli_main([str(precious.parent), "--studies", "2", "--size", "48", "--workers", "1"]) == 2

    generate_dataset(precious.parent, 2, size=48, force=True)
    assert precious.read_text(encoding="utf-8") == "keep me"
    assert (precious.parent / "MURA-v1.1" / "train_image_paths.csv").is_file()


def test_regenerating_replaces_a_previous_phantom_dataset(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate_dataset(out, 10, seed=1, size=48, dicom=True)
    generate_dataset(out, 3, seed=2, size=48)
    listed = set(_lines(out / "MURA-v1.1" / "train_image_paths.csv")) | set(
        _lines(out / "MURA-v1.1" / "valid_image_paths.csv")
    )
    assert {str(p.relative_to(out)) for p in (out / "MURA-v1.1").rglob("*.png")} == listed
    assert not (out / "dicom").exists()


def test_cli_module_writes_a_dataset(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "mura_desktop.phantoms.cli", str(out), "--studies", "4"]
    cmd += ["--size", "48", "--seed", "5", "--parts", "wrist,XR_HAND", "--workers", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "4 studies" in done.stdout and len(done.stdout.strip().splitlines()) == 1
    parts = {r["body_part"] for r in _ground_truth(out)}
    assert parts == {"WRIST", "HAND"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_studies": 0}, "at least one study"),
        ({"parts": ("KNEE",)}, "KNEE"),
        ({"valid_fraction": 1.0}, "valid_fraction"),
        ({"abnormal_fraction": 1.5}, "abnormal_fraction"),
        ({"size": 8}, "size"),
    ],
)
def test_bad_options_are_refused_before_writing(tmp_path: Path, kwargs: dict, message: str) -> None:
    args = {"n_studies": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        generate_dataset(tmp_path / "x", args.pop("n_studies"), **args)
    assert not (tmp_path / "x").exists()
