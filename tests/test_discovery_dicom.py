"""Discovery of DICOM files, folders and DICOMDIRs, written for real with pydicom."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.fileset import FileSet
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    ExplicitVRLittleEndian,
    GrayscaleSoftcopyPresentationStateStorage,
    generate_uid,
)

from mura_desktop.core.dicom_index import body_part_from_dicom, read_dicom_header
from mura_desktop.core.discovery import discover
from mura_desktop.core.study import Scan, Study


def make_dicom(
    *,
    study_uid: str | None = "1.2.826.0.1.3680043.8.498.1",
    series: int | None = 1,
    instance: int | None = 1,
    body_part: str = "WRIST",
    patient_id: str = "PAT-7",
    description: str = "XR WRIST 3 VIEWS",
    with_image: bool = True,
) -> FileDataset:
    """A small, valid CR instance (4×4, 12-bit) with the given grouping tags."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = (
        ComputedRadiographyImageStorage if with_image else GrayscaleSoftcopyPresentationStateStorage
    )
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("", Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    if study_uid is not None:
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = f"{study_uid}.{series or 0}"
    if series is not None:
        ds.SeriesNumber = series
    if instance is not None:
        ds.InstanceNumber = instance
    ds.PatientID = patient_id
    ds.PatientName = "Test^Patient"
    ds.Modality = "CR"
    ds.BodyPartExamined = body_part
    ds.StudyDescription = description
    ds.StudyDate = "20240131"
    ds.StudyTime = "101500"
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    if with_image:
        ds.Rows = ds.Columns = 4
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        ds.PixelRepresentation = 0
        ds.PixelData = np.arange(16, dtype=np.uint16).tobytes()
    return ds


def write_dicom(path: Path, *, preamble: bool = True, **tags: object) -> Path:
    """Write ``make_dicom(**tags)`` to ``path``; ``preamble=False`` writes a bare dataset."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = make_dicom(**tags)  # type: ignore[arg-type]
    if preamble:
        ds.save_as(path, enforce_file_format=True)
    else:
        del ds.file_meta
        ds.preamble = None
        ds.save_as(path, implicit_vr=True, little_endian=True)
    return path


def names(study: Study) -> list[str]:
    return [v.path.name for v in study.views]


def reasons(scan: Scan) -> dict[str, str]:
    return {p.path.name: p.reason for p in scan.problems}


def test_folder_groups_by_study_uid_and_orders_by_series_then_instance(tmp_path: Path) -> None:
    a, b = "1.2.3.100", "1.2.3.200"
    write_dicom(tmp_path / "z.dcm", study_uid=a, series=1, instance=2)
    write_dicom(tmp_path / "y.dcm", study_uid=a, series=2, instance=1)
    write_dicom(tmp_path / "x.dcm", study_uid=a, series=1, instance=10)
    write_dicom(tmp_path / "w.DCM", study_uid=a, series=1, instance=1)
    write_dicom(tmp_path / "sub" / "v.dicom", study_uid=a, series=None, instance=None)
    write_dicom(tmp_path / "sub" / "u2.dcm", study_uid=a, series=1, instance=None)
    write_dicom(tmp_path / "sub" / "u10.dcm", study_uid=a, series=1, instance=None)
    write_dicom(tmp_path / "zz_other.dcm", study_uid=b, body_part="UPPER ARM", patient_id="P2")
    scan = discover([tmp_path])

    assert scan.problems == []
    assert [s.uid for s in scan.studies] == [f"dicom:{a}", f"dicom:{b}"]
    first, second = scan.studies
    assert names(first) == ["w.DCM", "z.dcm", "x.dcm", "u2.dcm", "u10.dcm", "y.dcm", "v.dicom"]
    assert all(v.is_dicom for v in first.views)
    assert (first.body_part, first.patient_id, first.label, first.split) == (
        "WRIST",
        "PAT-7",
        None,
        None,
    )
    assert first.name == "PAT-7/XR WRIST 3 VIEWS 2024-01-31"
    assert first.folder == tmp_path.resolve()
    assert (second.body_part, second.patient_id, second.folder) == (
        "HUMERUS",
        "P2",
        tmp_path.resolve(),
    )


def test_same_study_across_paths_merges(tmp_path: Path) -> None:
    one = write_dicom(tmp_path / "cd1" / "a.dcm", study_uid="9.9", instance=2)
    two = write_dicom(tmp_path / "cd2" / "b.dcm", study_uid="9.9", instance=1)
    scan = discover([one, two.parent, one.parent])

    (study,) = scan.studies
    assert names(study) == ["b.dcm", "a.dcm"]
    assert study.folder == tmp_path.resolve()


def test_extensionless_and_preambleless_files_are_sniffed(tmp_path: Path) -> None:
    write_dicom(tmp_path / "IM000001", instance=1)
    write_dicom(tmp_path / "IM000002", instance=2, preamble=False)
    write_dicom(tmp_path / "scan.img", instance=3)
    scan = discover([tmp_path])

    assert scan.problems == []
    (study,) = scan.studies
    assert names(study) == ["IM000001", "IM000002", "scan.img"]


def test_dicom_without_study_uid_joins_its_folder_study(tmp_path: Path) -> None:
    folder = tmp_path / "XR_ELBOW" / "patient00003" / "study1_negative"
    write_dicom(folder / "b.dcm", study_uid=None)
    Image.new("L", (4, 4)).save(folder / "a.png")
    (study,) = discover([folder]).studies

    assert study.uid == str(folder.resolve())
    assert [(v.path.name, v.is_dicom) for v in study.views] == [("a.png", False), ("b.dcm", True)]
    assert (study.body_part, study.label) == ("ELBOW", 0)


def test_bad_dicoms_are_problems(tmp_path: Path) -> None:
    write_dicom(tmp_path / "good.dcm")
    write_dicom(tmp_path / "state.dcm", with_image=False)
    (tmp_path / "junk.dcm").write_bytes(b"this is not DICOM at all" * 10)
    truncated = (tmp_path / "good.dcm").read_bytes()[:200]
    (tmp_path / "cut.dcm").write_bytes(truncated)
    scan = discover([tmp_path])

    assert [names(s) for s in scan.studies] == [["good.dcm"]]
    found = reasons(scan)
    assert found["state.dcm"] == "DICOM without an image (no Rows): not a radiograph view"
    assert found["junk.dcm"].startswith("not a DICOM file")
    assert set(found) == {"state.dcm", "junk.dcm", "cut.dcm"}


def write_fileset(folder: Path, count: int) -> list[Path]:
    """A DICOMDIR file-set under ``folder`` with ``count`` instances; returns their paths."""
    fs = FileSet()
    for i in range(count, 0, -1):
        fs.add(make_dicom(study_uid="5.6.7", instance=i, body_part="HAND"))
    fs.write(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "DICOMDIR")


def test_dicomdir_lists_the_instances(tmp_path: Path) -> None:
    instances = write_fileset(tmp_path / "cd", 3)
    # A file the DICOMDIR does not reference is found too (it once hid such files).
    write_dicom(tmp_path / "cd" / "PT000000" / "stray", study_uid="8.8")
    instances[0].unlink()
    scan = discover([tmp_path / "cd"])

    study, stray = scan.studies
    assert stray.uid == "dicom:8.8" and [v.path.name for v in stray.views] == ["stray"]
    assert study.uid == "dicom:5.6.7"
    assert study.body_part == "HAND"
    assert len(study.views) == 2
    assert [(p.path.name, p.reason) for p in scan.problems] == [
        (instances[0].name, "listed in DICOMDIR but does not exist")
    ]
    # the DICOMDIR itself, opened alone, stands for its file-set only
    assert [s.uid for s in discover([tmp_path / "cd" / "DICOMDIR"]).studies] == ["dicom:5.6.7"]
    assert discover([tmp_path / "cd" / "DICOMDIR"]).studies[0].views == study.views


@pytest.mark.filterwarnings("ignore:End of file reached:UserWarning")
def test_broken_dicomdir_falls_back_to_walking(tmp_path: Path) -> None:
    write_fileset(tmp_path / "cd", 2)
    (tmp_path / "cd" / "DICOMDIR").write_bytes(b"\0" * 128 + b"DICM" + b"\xff" * 40)
    for path in (tmp_path / "cd", tmp_path / "cd" / "DICOMDIR"):
        scan = discover([path])

        assert [len(s.views) for s in scan.studies] == [2]
        (problem,) = scan.problems
        assert problem.path.name == "DICOMDIR"
        assert problem.reason.endswith("scanned its folder instead")


def test_dicom_file_reached_twice_appears_once(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "a.dcm")
    (tmp_path / "link.dcm").symlink_to(path)
    scan = discover([path, tmp_path, path])
    assert [names(s) for s in scan.studies] == [["a.dcm"]]


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (("WRIST",), "WRIST"),
        (("upper_arm",), "HUMERUS"),
        (("UPPER ARM",), "HUMERUS"),
        (("L HAND",), "HAND"),
        (("Fingers",), "FINGER"),
        (("FOREARM",), "FOREARM"),
        (("CHEST",), None),
        (("ARM",), None),
        (("HAND WRIST", "XR RIGHT WRIST 2 VIEWS"), "WRIST"),
        (("", "", "ELBOW LAT"), "ELBOW"),
    ],
)
def test_body_part_from_dicom(texts: tuple[str, ...], expected: str | None) -> None:
    assert body_part_from_dicom(*texts) == expected


def test_real_radiograph_headers(shared_dicom_dir: Path, tmp_path: Path) -> None:
    for name in ("NM_Kakadu44_SOTmarkerincons.dcm", "966.dcm"):
        shutil.copy(shared_dicom_dir / name, tmp_path / name)
    scan = discover([tmp_path])

    assert scan.problems == []
    parts = {s.views[0].path.name: s.body_part for s in scan.studies}
    assert parts == {"NM_Kakadu44_SOTmarkerincons.dcm": "HAND", "966.dcm": None}
    assert read_dicom_header(tmp_path / "966.dcm").patient_id == "2010101610-1"


def test_scanning_images_loads_pydicom_only_for_a_dicom(tmp_path: Path) -> None:
    """Importing pydicom took 0.35 s of the viewer's first scan, for folders of PNGs too."""
    study = tmp_path / "patient00001" / "study1_positive"
    study.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(study / "image1.png")
    write_dicom(tmp_path / "dicom" / "a.dcm")
    code = (
        "import sys\n"
        "from mura_desktop.core.discovery import discover\n"
        f"png = discover([{str(study)!r}])\n"
        "before = 'pydicom' in sys.modules\n"
        f"dcm = discover([{str(tmp_path / 'dicom')!r}])\n"
        "print(len(png.studies), before, len(dcm.studies), 'pydicom' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "False", "1", "True"]
