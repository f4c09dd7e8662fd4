"""Study discovery on real folder trees: MURA layout, CSVs, loose files, links and junk."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mura_desktop.core.dicom_index import read_dicom_header
from mura_desktop.core.discovery import discover, natural_sort_key
from mura_desktop.core.errors import UnreadableFileError
from mura_desktop.core.labels import Label
from mura_desktop.core.pixels import load_image
from mura_desktop.core.study import WARNING, Scan, Study


def write_png(path: Path, value: int = 128) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((6, 5), value, dtype=np.uint8)).save(path)
    return path


def write_study(folder: Path, n_images: int = 2) -> Path:
    for i in range(1, n_images + 1):
        write_png(folder / f"image{i}.png", value=10 * i)
    return folder


def make_mura(parent: Path) -> Path:
    """A small MURA-v1.1 tree under ``parent``; returns the MURA-v1.1 folder."""
    root = parent / "MURA-v1.1"
    write_study(root / "train/XR_SHOULDER/patient00001/study1_positive", 3)
    write_study(root / "train/XR_SHOULDER/patient00001/study2_negative", 1)
    write_study(root / "train/XR_WRIST/patient00002/study1_negative", 2)
    write_study(root / "valid/XR_WRIST/patient11185/study1_positive", 4)
    write_study(root / "valid/XR_HUMERUS/patient11186/study1_negative", 2)
    return root


def write_csvs(root: Path, labels: dict[str, int] | None = None) -> None:
    """The four official CSVs for the tree under ``root``, lines as MURA ships them."""
    for split in ("train", "valid"):
        images, studies = [], []
        for study in sorted((root / split).glob("XR_*/patient*/study*")):
            rel = "MURA-v1.1/" + study.relative_to(root).as_posix()
            images += [f"{rel}/{p.name}" for p in sorted(study.glob("*.png"))]
            label = (labels or {}).get(study.name, 1 if study.name.endswith("positive") else 0)
            studies.append(f"{rel}/,{label}")
        (root / f"{split}_image_paths.csv").write_text("\n".join(images) + "\n")
        (root / f"{split}_labeled_studies.csv").write_text("\n".join(studies) + "\n")


def by_name(scan: Scan) -> dict[str, Study]:
    return {s.name: s for s in scan.studies}


def view_names(study: Study) -> list[str]:
    return [v.path.name for v in study.views]


def reasons(scan: Scan) -> dict[str, str]:
    return {p.path.name: p.reason for p in scan.problems}


def test_study_folder(tmp_path: Path) -> None:
    folder = make_mura(tmp_path) / "valid/XR_WRIST/patient11185/study1_positive"
    scan = discover([folder])

    assert scan.problems == []
    (study,) = scan.studies
    assert study.uid == str(folder.resolve())
    assert study.name == "XR_WRIST/patient11185/study1_positive"
    assert study.folder == folder.resolve()
    assert (study.body_part, study.label, study.patient_id, study.split) == (
        "WRIST",
        Label.ABNORMAL,
        "patient11185",
        "valid",
    )
    assert view_names(study) == ["image1.png", "image2.png", "image3.png", "image4.png"]
    assert all(not v.is_dicom and v.path.is_absolute() for v in study.views)


def test_views_and_studies_sort_naturally(tmp_path: Path) -> None:
    patient = tmp_path / "XR_ELBOW/patient00007"
    for n in (10, 2, 1):
        write_png(patient / "study1_negative" / f"image{n}.png")
        write_study(patient / f"study{n}_negative", 1)
    scan = discover([patient])

    assert [s.name.split("/")[-1] for s in scan.studies] == [
        "study1_negative",
        "study2_negative",
        "study10_negative",
    ]
    assert view_names(scan.studies[0]) == ["image1.png", "image2.png", "image10.png"]
    assert natural_sort_key("image2.png") < natural_sort_key("image10.png")
    assert natural_sort_key("Image2") < natural_sort_key("image3")


def test_patient_and_body_part_folders(tmp_path: Path) -> None:
    root = make_mura(tmp_path)
    patient = discover([root / "train/XR_SHOULDER/patient00001"])
    part = discover([root / "train/XR_WRIST"])

    assert [(s.name, s.label, len(s.views)) for s in patient.studies] == [
        ("XR_SHOULDER/patient00001/study1_positive", Label.ABNORMAL, 3),
        ("XR_SHOULDER/patient00001/study2_negative", Label.NORMAL, 1),
    ]
    assert [(s.name, s.body_part, s.split) for s in part.studies] == [
        ("XR_WRIST/patient00002/study1_negative", "WRIST", "train")
    ]


@pytest.mark.parametrize("level", ["MURA-v1.1", "."])
def test_dataset_root_without_csvs(tmp_path: Path, level: str) -> None:
    make_mura(tmp_path)
    scan = discover([tmp_path / level])

    assert scan.problems == []
    assert [(s.split, s.body_part, s.patient_id, s.label, len(s.views)) for s in scan.studies] == [
        ("train", "SHOULDER", "patient00001", Label.ABNORMAL, 3),
        ("train", "SHOULDER", "patient00001", Label.NORMAL, 1),
        ("train", "WRIST", "patient00002", Label.NORMAL, 2),
        ("valid", "HUMERUS", "patient11186", Label.NORMAL, 2),
        ("valid", "WRIST", "patient11185", Label.ABNORMAL, 4),
    ]
    assert scan.n_views == 12


def test_csv_labels_win_and_disagreement_is_reported(tmp_path: Path) -> None:
    # Unsuffixed folders get their label from the CSV alone; a suffix the CSV contradicts
    # loses to the CSV and is reported.
    root = make_mura(tmp_path)
    write_study(root / "valid/XR_HAND/patient11190/study1", 1)
    write_csvs(root, labels={"study2_negative": 1, "study1": 1})
    scan = discover([tmp_path])

    studies = by_name(scan)
    assert studies["XR_SHOULDER/patient00001/study2_negative"].label == Label.ABNORMAL
    assert studies["XR_HAND/patient11190/study1"].label == Label.ABNORMAL
    assert studies["XR_WRIST/patient11185/study1_positive"].label == Label.ABNORMAL
    assert studies["XR_WRIST/patient00002/study1_negative"].label == Label.NORMAL
    (problem,) = scan.problems
    assert problem.path == root.resolve() / "train/XR_SHOULDER/patient00001/study2_negative"
    assert "train_labeled_studies.csv" in problem.reason
    assert "labels this study abnormal but its folder name says normal" in problem.reason


def test_csvs_apply_to_a_study_opened_alone_and_to_a_renamed_root(tmp_path: Path) -> None:
    root = make_mura(tmp_path)
    write_csvs(root, labels={"study1_positive": 0})
    renamed = root.rename(tmp_path / "mura")
    scan = discover([renamed / "valid/XR_WRIST/patient11185/study1_positive"])

    assert scan.studies[0].label == Label.NORMAL
    assert [p.reason[:40] for p in scan.problems] == ["valid_labeled_studies.csv labels this st"]


def test_csv_listed_image_missing_and_malformed_lines(tmp_path: Path) -> None:
    root = make_mura(tmp_path)
    write_csvs(root)
    (root / "valid/XR_WRIST/patient11185/study1_positive/image3.png").unlink()
    with open(root / "valid_labeled_studies.csv", "a") as f:
        f.write("not a MURA line\nMURA-v1.1/valid/XR_HAND/patient9/study1/,maybe\n")
    scan = discover([root])

    found = {(p.path.name, p.reason.split(" (")[0]) for p in scan.problems}
    assert found == {
        ("image3.png", "listed in the MURA image-path CSV but missing"),
        ("valid_labeled_studies.csv", "2 malformed line(s)"),
    }
    assert scan.n_views == 11


def test_dropped_csv_opens_the_split_it_describes(tmp_path: Path) -> None:
    root = make_mura(tmp_path)
    write_csvs(root)
    scan = discover([root / "valid_labeled_studies.csv"])

    assert {s.split for s in scan.studies} == {"valid"}
    assert len(scan.studies) == 2
    assert scan.problems == []


def test_loose_files_group_by_folder_in_the_order_given(tmp_path: Path) -> None:
    a = write_study(tmp_path / "case a", 3)
    b = write_study(tmp_path / "case b", 2)
    scan = discover([b / "image2.png", a / "image3.png", a / "image1.png", b / "image1.png"])

    assert [(s.name, view_names(s)) for s in scan.studies] == [
        ("case b", ["image2.png", "image1.png"]),
        ("case a", ["image3.png", "image1.png"]),
    ]
    assert scan.studies[0].uid == str(b.resolve())
    assert (scan.studies[0].body_part, scan.studies[0].label) == (None, None)


def test_loose_mura_file_gets_its_study_facts(tmp_path: Path) -> None:
    study_dir = make_mura(tmp_path) / "valid/XR_HUMERUS/patient11186/study1_negative"
    (study,) = discover([study_dir / "image2.png"]).studies

    assert (study.uid, study.body_part, study.label, study.split) == (
        str(study_dir.resolve()),
        "HUMERUS",
        Label.NORMAL,
        "valid",
    )
    assert view_names(study) == ["image2.png"]


def test_any_folder_with_images_is_a_study(tmp_path: Path) -> None:
    top = write_study(tmp_path / "scans", 1)
    write_png(top / "left wrist" / "lateral.JPG")
    write_png(top / "left wrist" / "pa.TIFF")
    write_png(top / "hand" / "x.bmp")
    scan = discover([str(top)])

    assert [(s.name, view_names(s), s.body_part) for s in scan.studies] == [
        ("scans", ["image1.png"], None),
        ("hand", ["x.bmp"], "HAND"),
        ("left wrist", ["lateral.JPG", "pa.TIFF"], None),
    ]


def test_single_path_string_is_accepted(tmp_path: Path) -> None:
    folder = write_study(tmp_path / "one", 2)
    assert len(discover(str(folder)).studies) == 1  # type: ignore[arg-type]


def test_nothing_is_decoded(tmp_path: Path) -> None:
    # A .png that is not a PNG is still a view: discovery goes by extension, pixels come later.
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "image1.png").write_bytes(b"certainly not a png")
    (study,) = discover([folder]).studies
    assert view_names(study) == ["image1.png"]


def test_overlapping_paths_and_links_count_each_file_once(tmp_path: Path) -> None:
    root = make_mura(tmp_path)
    study = root / "valid/XR_WRIST/patient11185/study1_positive"
    (tmp_path / "shortcut").symlink_to(study, target_is_directory=True)
    os.link(study / "image1.png", study / "z_hardlink_to_image1.png")
    scan = discover(
        [study / "image2.png", tmp_path / "shortcut", root, study, study / "image1.png"]
    )

    assert scan.problems == []
    assert len(scan.studies) == 5
    first = scan.studies[0]
    assert first.uid == str(study.resolve())
    assert view_names(first) == ["image2.png", "image1.png", "image3.png", "image4.png"]
    assert scan.n_views == 12


def test_links_out_of_the_opened_folders_are_not_followed(tmp_path: Path) -> None:
    root = make_mura(tmp_path / "data")
    elsewhere = make_mura(tmp_path / "elsewhere")
    study = root / "valid/XR_WRIST/patient11185/study1_positive"
    (study / "usr").symlink_to("/usr", target_is_directory=True)
    (root / "valid/XR_WRIST/more").symlink_to(elsewhere, target_is_directory=True)
    (root / "train/inside").symlink_to(root / "valid", target_is_directory=True)
    scan = discover([root])
    assert len(scan.studies) == len(discover([tmp_path / "data"]).studies)
    assert all(str(s.folder).startswith(str(root.resolve())) for s in scan.studies)
    notes = {p.path.name: p for p in scan.problems}
    assert set(notes) == {"usr", "more"}
    assert all(
        p.kind == WARNING and "outside the folders opened" in p.reason for p in notes.values()
    )
    # opened as well, the link's target is data like any other
    both = discover([root, elsewhere])
    assert len(both.studies) == len(scan.studies) + len(discover([elsewhere]).studies)


def test_fifos_are_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "image1.png"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableFileError, match="not a regular file \\(a FIFO\\)"):
        load_image(fifo)
    dicom_fifo = tmp_path / "x.dcm"
    os.mkfifo(dicom_fifo)
    with pytest.raises(OSError, match="a FIFO"):
        read_dicom_header(dicom_fifo)
    scan = discover([tmp_path])
    assert {p.path.name for p in scan.failures} == {"image1.png", "x.dcm"}


def test_symlink_loop_is_reported_and_survived(tmp_path: Path) -> None:
    root = make_mura(tmp_path)
    (root / "train/XR_WRIST/patient00002/back_to_root").symlink_to(root, target_is_directory=True)
    (root / "valid/self").symlink_to("self")
    scan = discover([root])

    assert len(scan.studies) == 5
    assert scan.n_views == 12
    assert reasons(scan) == {
        "back_to_root": "symbolic link loop: leads back to a folder above it",
        "self": "symbolic link loop",
    }


def test_broken_link_zero_bytes_and_junk_are_problems(tmp_path: Path) -> None:
    folder = write_study(tmp_path / "XR_FINGER/patient00009/study1_negative", 2)
    (folder / "gone.png").symlink_to(tmp_path / "nowhere.png")
    (folder / "image3.png").write_bytes(b"")
    (folder / "notes.txt").write_text("hello")
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (folder / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "._image1.png").write_bytes(b"\0\5\26\7")
    (folder / "mystery.bin").write_bytes(b"random bytes that are nothing")
    (folder / "README").write_text("readme")
    (folder / "copy of image1").write_bytes((folder / "image1.png").read_bytes())
    os.mkfifo(folder / "pipe")
    scan = discover([folder])

    (study,) = scan.studies
    assert view_names(study) == ["copy of image1", "image1.png", "image2.png"]
    assert reasons(scan) == {
        "gone.png": "broken symbolic link",
        "image3.png": "empty file (0 bytes)",
        "notes.txt": "not an image or DICOM file",
        ".DS_Store": "not an image: operating-system metadata file",
        "Thumbs.db": "not an image: operating-system metadata file",
        "._image1.png": "not an image: operating-system metadata file",
        "mystery.bin": "not an image or DICOM file",
        "README": "not an image or DICOM file",
        "pipe": "not a regular file",
    }


def test_hidden_folders_are_skipped_and_said_so(tmp_path: Path) -> None:
    write_study(tmp_path / "data/study1_positive", 1)
    write_study(tmp_path / "data/.git/objects", 1)
    write_study(tmp_path / "data/__MACOSX/study1_positive", 1)
    scan = discover([tmp_path / "data"])

    assert [s.name for s in scan.studies] == ["study1_positive"]
    assert set(reasons(scan)) == {".git", "__MACOSX"}


def test_missing_paths_are_problems_and_the_rest_still_scans(tmp_path: Path) -> None:
    folder = write_study(tmp_path / "ok", 1)
    (tmp_path / "dangling").symlink_to(tmp_path / "absent")
    scan = discover([tmp_path / "nope", folder, tmp_path / "dangling", tmp_path / "nope.png"])

    assert len(scan.studies) == 1
    assert reasons(scan) == {
        "nope": "does not exist",
        "dangling": "broken symbolic link",
        "nope.png": "does not exist",
    }


def modes_are_enforced(tmp_path: Path) -> bool:
    """False where file modes do not block reads: root (os.geteuid() == 0) with its usual
    capabilities. Probed rather than assumed, so root without CAP_DAC_* tests the real thing."""
    probe = tmp_path / "probe"
    probe.mkdir()
    probe.chmod(0)
    try:
        os.listdir(probe)
    except PermissionError:
        return True
    finally:
        probe.chmod(0o755)
    return False


def _deny(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make ``folder`` unreadable: for real with chmod, or, where modes do not bind (root),
    by making os.scandir refuse that one folder as the kernel would."""
    if modes_are_enforced(folder.parent):
        folder.chmod(0)
        return
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str] = ".") -> object:
        if Path(path) == folder.resolve():
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_unreadable_folder_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_mura(tmp_path)
    locked = root / "train/XR_SHOULDER"
    _deny(monkeypatch, locked)
    try:
        scan = discover([root])
    finally:
        locked.chmod(0o755)

    assert len(scan.studies) == 3
    assert [(p.path, p.reason) for p in scan.problems] == [
        (locked.resolve(), "cannot read folder: permission denied")
    ]


def test_unreadable_file_needing_a_sniff_is_a_problem(tmp_path: Path) -> None:
    if not modes_are_enforced(tmp_path):
        pytest.skip("running as root with CAP_DAC_OVERRIDE: file modes do not block reads")
    folder = write_study(tmp_path / "s", 1)
    locked = folder / "noext"
    locked.write_bytes((folder / "image1.png").read_bytes())
    locked.chmod(0)
    try:
        scan = discover([folder])
    finally:
        locked.chmod(0o644)
    assert reasons(scan) == {"noext": "cannot read file: permission denied"}
