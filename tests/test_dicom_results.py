"""Results as DICOM: `predict --dicom-out` writes a Comprehensive SR and heatmap Secondary
Captures per DICOM study, read back here with highdicom, pydicom and (when installed)
DCMTK; PNG studies get a notice instead."""

import hashlib
import shutil
import subprocess
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from pydicom import dcmread

from mura_desktop.__main__ import main
from mura_desktop.cli.predict import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL
from mura_desktop.core.dicom_results import (
    SC_SERIES_DESCRIPTION,
    NoDicomContext,
    dicom_report,
    write_dicom_results,
)
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.results import ResultSet, StudyResult, ViewResult

# One real study (patient 10RG2, one StudyInstanceUID, distinct SOP Instance UIDs): two CR
# views that decode (JPEG lossless, RLE) and one whose JPEG stream is broken on purpose.
REAL_STUDY = ("RG2_JPLL.dcm", "RG2_from_JPLL_RLE.dcm", "RG2_JPLY.dcm")


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.dcm")}


@pytest.fixture(scope="module")
def dicom_studies(tmp_path_factory) -> Path:
    """Three generated DICOM studies (CR, some RLE, some MONOCHROME1)."""
    from mura_desktop.phantoms import generate_dataset

    out = tmp_path_factory.mktemp("dicom-phantoms")
    generate_dataset(out / "data", 3, seed=11, size=96, parts=("WRIST",), dicom=True)
    return out / "data" / "dicom"


@pytest.fixture(scope="module")
def predicted(dicom_studies, tiny_bundle_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("dicom-out")
    before = _digests(dicom_studies)
    code = main([
        "predict", str(dicom_studies), "--model", str(tiny_bundle_path), "--device", "cpu",
        "--json", str(out / "r.json"), "--dicom-out", str(out / "dicom"), "--quiet",
    ])  # fmt: skip
    assert code == EXIT_OK
    assert _digests(dicom_studies) == before  # the sources are never written
    return ResultSet.from_json(out / "r.json"), out / "dicom"


def test_sr_holds_every_score_and_references_its_sources(predicted, dicom_studies):
    results, folder = predicted
    assert len(results.studies) == 3
    sources = {str(p): dcmread(p, stop_before_pixels=True) for p in dicom_studies.rglob("*.dcm")}
    for study in results.studies:
        study_uid = study.uid.removeprefix("dicom:")
        ds = dcmread(folder / study_uid / "mura_sr.dcm")
        sr = hd.sr.ComprehensiveSR.from_dataset(ds)  # highdicom accepts it as an SR
        assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR
        assert ds.StudyInstanceUID == study_uid
        first = sources[study.views[0].path]
        assert (ds.PatientID, ds.PatientName, ds.AccessionNumber) == (
            first.PatientID, first.PatientName, first.AccessionNumber,
        )  # fmt: skip
        assert ds.SeriesInstanceUID not in {s.SeriesInstanceUID for s in sources.values()}
        report = dicom_report(ds)
        assert report["probability"] == pytest.approx(study.probability, abs=1e-6)
        assert report["verdict"] == study.verdict
        assert report["rule"] == study.rule_text and report["threshold"] == 0.5
        assert report["model_hash"] == results.model.content_hash
        assert report["model_name"] == results.model.name and report["demo"] is True
        assert "densenet121 64 px" in report["model_version"]
        assert any("not for diagnosis" in note for note in report["notes"])
        expected = {
            str(sources[v.path].SOPInstanceUID): pytest.approx(v.probability, abs=1e-6)
            for v in study.views
        }
        assert {u: v["probability"] for u, v in report["views"].items()} == expected
        referenced = {
            str(ref.ReferencedSOPInstanceUID)
            for item in ds.CurrentRequestedProcedureEvidenceSequence
            for series in item.ReferencedSeriesSequence
            for ref in series.ReferencedSOPSequence
        }
        assert referenced == set(expected)


def test_secondary_captures_copy_identity_and_carry_the_overlay(predicted, dicom_studies):
    results, folder = predicted
    sources = {str(p): dcmread(p) for p in dicom_studies.rglob("*.dcm")}
    for study in results.studies:
        study_uid = study.uid.removeprefix("dicom:")
        captures = sorted((folder / study_uid).glob("mura_heatmap_*.dcm"))
        assert len(captures) == len(study.views)
        series = set()
        for n, (path, view) in enumerate(zip(captures, study.views, strict=True), start=1):
            assert path.name == f"mura_heatmap_{n}.dcm"
            sc = dcmread(path)
            source = sources[view.path]
            assert sc.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture
            assert (sc.StudyInstanceUID, sc.PatientID, sc.PatientName) == (
                source.StudyInstanceUID, source.PatientID, source.PatientName,
            )  # fmt: skip
            assert sc.SeriesDescription == SC_SERIES_DESCRIPTION
            assert "research use, not for diagnosis" in sc.SeriesDescription
            assert sc.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
            rgb = sc.pixel_array
            assert rgb.shape == (source.Rows, source.Columns, 3) and rgb.dtype == np.uint8
            # drawn as the viewer draws maps: coloured at or above the operating point, and
            # a view the model calls normal carries no map (gray)
            mapped = view.probability >= study.rule.map_floor(study.body_part)
            assert mapped == (not np.array_equal(rgb[..., 0], rgb[..., 2]))
            series.add(sc.SeriesInstanceUID)
        assert len(series) == 1  # one new series per study


def test_dcmtk_reads_the_sr_and_sc_without_complaint(predicted):
    _results, folder = predicted
    if shutil.which("dsrdump") is None or shutil.which("dcmdump") is None:
        pytest.skip("DCMTK (dsrdump, dcmdump) not installed: apt-get install dcmtk")
    report = next(folder.rglob("mura_sr.dcm"))
    done = subprocess.run(["dsrdump", str(report)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "E:" not in done.stderr, done.stderr
    assert "Comprehensive SR Document" in done.stdout
    assert '"View abnormality probability"' in done.stdout
    capture = next(folder.rglob("mura_heatmap_1.dcm"))
    done = subprocess.run(["dcmdump", str(capture)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "E:" not in done.stderr, done.stderr
    assert "SecondaryCaptureImageStorage" in done.stdout


def test_real_study_with_a_broken_view_still_reports_the_rest(
    shared_dicom_dir, tiny_bundle_path, tmp_path, capsys
):
    data = tmp_path / "data"
    data.mkdir()
    for name in REAL_STUDY:
        if not (shared_dicom_dir / name).is_file():
            pytest.skip(f"{name} missing from {shared_dicom_dir}")
        shutil.copy(shared_dicom_dir / name, data / name)
    before = _digests(data)
    code = main([
        "predict", str(data), "--model", str(tiny_bundle_path), "--device", "cpu",
        "--dicom-out", str(tmp_path / "out"), "--quiet",
    ])  # fmt: skip
    assert code == EXIT_PARTIAL, capsys.readouterr().err  # one view could not be decoded
    assert _digests(data) == before
    (study_folder,) = (tmp_path / "out").iterdir()
    report = dicom_report(dcmread(study_folder / "mura_sr.dcm"))
    broken = str(dcmread(data / "RG2_JPLY.dcm", stop_before_pixels=True).SOPInstanceUID)
    assert report["views"][broken]["probability"] is None
    assert report["views"][broken]["error"]
    assert sum(v["probability"] is not None for v in report["views"].values()) == 2
    assert report["probability"] is not None
    assert len(list(study_folder.glob("mura_heatmap_*.dcm"))) == 2  # none for the broken view


def test_png_studies_get_a_notice_naming_them(phantom_dataset, tiny_bundle_path, tmp_path, capsys):
    out = tmp_path / "dicom"
    code = main([
        "predict", str(phantom_dataset), "--model", str(tiny_bundle_path), "--device", "cpu",
        "--dicom-out", str(out), "--quiet", "--bootstrap", "0",
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == EXIT_OK
    notices = [line for line in err.splitlines() if line.startswith("notice:")]
    assert len(notices) == 10
    assert "not DICOM" in notices[0] and "PDF report" in notices[0]
    assert not out.exists() or not list(out.rglob("*.dcm"))


def test_png_study_refused_by_the_writer(tmp_path):
    study = StudyResult(uid="/data/study1", name="XR_WRIST/patient1/study1", views=[])
    with pytest.raises(NoDicomContext, match="XR_WRIST/patient1/study1: its views are not"):
        write_dicom_results(study, ModelRecord(), tmp_path)


def test_unreadable_header_is_left_out_with_a_note(dicom_studies, tmp_path):
    good = sorted(dicom_studies.rglob("*.dcm"))[0]
    uid = str(dcmread(good, stop_before_pixels=True).StudyInstanceUID)
    junk = tmp_path / "gone.dcm"  # vanished since scoring
    views = [ViewResult(str(good), probability=0.7), ViewResult(str(junk), probability=0.2)]
    study = StudyResult(uid=f"dicom:{uid}", name="s", views=views, probability=0.45)
    study.verdict = "normal"
    files = write_dicom_results(study, ModelRecord(name="m", content_hash="ab"), tmp_path / "o")
    assert files.overlays == [] and len(files.notes) == 1 and "gone.dcm" in files.notes[0]
    report = dicom_report(dcmread(files.report))
    assert list(report["views"].values()) == [{"probability": 0.7, "error": None}]
    assert any("gone.dcm" in note for note in report["notes"])


def test_dicom_out_inside_the_input_is_refused(dicom_studies, tiny_bundle_path, capsys):
    code = main([
        "predict", str(dicom_studies), "--model", str(tiny_bundle_path),
        "--dicom-out", str(dicom_studies / "results"),
    ])  # fmt: skip
    assert code == EXIT_FATAL
    assert "inside the input data" in capsys.readouterr().err


def test_invalid_source_identifiers_are_left_empty_with_a_note(shared_dicom_dir, tmp_path):
    """966_fixed.dcm (a real DX) carries an anonymiser's hash as its birth date and an
    accession number longer than DICOM allows: our objects leave them empty and say so."""
    source = shared_dicom_dir / "966_fixed.dcm"
    if not source.is_file():
        pytest.skip(f"{source} missing")
    header = dcmread(source, stop_before_pixels=True)
    views = [ViewResult(str(source), probability=0.8)]
    study = StudyResult(
        uid=f"dicom:{header.StudyInstanceUID}", name="966", views=views, probability=0.8
    )
    study.verdict = "abnormal"
    files = write_dicom_results(study, ModelRecord(name="m"), tmp_path)
    ds = dcmread(files.report)
    assert ds.PatientBirthDate == "" and ds.AccessionNumber == ""
    assert ds.PatientID == header.PatientID
    notes = " ".join(dicom_report(ds)["notes"])
    assert "PatientBirthDate" in notes and "AccessionNumber" in notes
