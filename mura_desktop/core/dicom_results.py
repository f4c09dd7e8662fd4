"""A scored DICOM study as DICOM objects: one Comprehensive SR and one Secondary Capture
per view with its heatmap overlay, in a new series each, in the source study.

The SR holds the per-view abnormality probabilities (each inferred from its source image,
referenced by SOP Instance UID), the study probability, the verdict, the rule and its
threshold, the model's name, version, content hash and demo flag, and the research-use
notice. Patient and study identifiers come from the source files, which are read (header
only) and never written. ``dicom_report`` reads an SR written here back into plain data.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
from pydicom import config, dcmread
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import validate_value

from mura_desktop import __version__
from mura_desktop.core.atomic_write import write_atomically
from mura_desktop.core.deflate_guard import refuse_deflate_bomb
from mura_desktop.core.dicom_result_names import SR_NAME, sc_name
from mura_desktop.core.formats import open_regular_file
from mura_desktop.core.labels import Verdict
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.results import StudyResult

MANUFACTURER = "MURA Desktop"
RESEARCH_NOTICE = "Research use only. Not a medical device; not for diagnosis."
SR_SERIES_DESCRIPTION = "MURA abnormality report - research use, not for diagnosis"
SC_SERIES_DESCRIPTION = "MURA heatmap overlay - research use, not for diagnosis"
SR_SERIES_NUMBER = 9901
SC_SERIES_NUMBER = 9902

# Concepts no public code system has; a private scheme, declared in each SR.
SCHEME = "99MURA"
VIEW_PROBABILITY = hd.sr.CodedConcept("MURA01", SCHEME, "View abnormality probability")
STUDY_PROBABILITY = hd.sr.CodedConcept("MURA02", SCHEME, "Study abnormality probability")
STUDY_VERDICT = hd.sr.CodedConcept("MURA03", SCHEME, "Study verdict")
MODEL_HASH = hd.sr.CodedConcept("MURA04", SCHEME, "Model content hash (SHA-256)")
DEMO_MODEL = hd.sr.CodedConcept("MURA05", SCHEME, "Demo model")
VIEW_NOT_SCORED = hd.sr.CodedConcept("MURA06", SCHEME, "View not scored")
SOURCE_IMAGE = codes.DCM.SourceImageForImageProcessingOperation
VERDICT_CODES = {
    Verdict.ABNORMAL: codes.SCT.Abnormal,
    Verdict.NORMAL: codes.SCT.Normal,
    Verdict.INDETERMINATE: codes.SCT.Indeterminate,
}
NO_UNITS = codes.UCUM.NoUnits


class NoDicomContext(ValueError):
    """A study whose views are not DICOM instances of one study: nothing to attach a DICOM
    result to (``study`` names it)."""

    def __init__(self, study: str, reason: str) -> None:
        self.study = study
        super().__init__(
            f"{study}: {reason}; DICOM results need DICOM input (export the PDF report "
            "or the CSV/JSON results instead)"
        )


@dataclass
class DicomResultFiles:
    """What ``write_dicom_results`` wrote for one study, and what it left out and why."""

    study_instance_uid: str
    report: Path
    overlays: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_source_header(path: str | os.PathLike[str]) -> Dataset:
    """A source instance's header (no pixels), opened read-only."""
    path = Path(path)
    with open_regular_file(path) as fp:
        refuse_deflate_bomb(fp, path)
        return dcmread(fp, stop_before_pixels=True)


def write_dicom_results(
    result: StudyResult,
    model: ModelRecord,
    folder: str | os.PathLike[str],
    overlays: Mapping[str | os.PathLike[str], np.ndarray] | None = None,
) -> DicomResultFiles:
    """Write the SR, and a Secondary Capture for each view in ``overlays`` (view path →
    RGB uint8 heatmap overlay), to ``folder/<StudyInstanceUID>/``, each file atomically;
    ``mura_heatmap_N.dcm`` is the study's N-th view.

    Raises ``NoDicomContext`` when the study is not a DICOM study or none of its views'
    headers can be read. A view whose header cannot be read is left out, with a note.
    """
    sources, notes = _source_headers(result)
    study_uid = str(sources[next(iter(sources))].StudyInstanceUID)
    out = Path(folder) / study_uid
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(result, model, sources, notes)
    files = DicomResultFiles(study_uid, out / SR_NAME, notes=notes)
    _save(report, files.report)
    series_uid = generate_uid()
    rgb_of = {str(path): rgb for path, rgb in (overlays or {}).items()}
    for number, view in enumerate(result.views, start=1):
        rgb = rgb_of.get(view.path)
        if rgb is None or view.path not in sources:
            continue  # not scored, or its header could not be read (noted above)
        target = out / sc_name(number)
        _save(build_overlay(sources[view.path], rgb, series_uid, number), target)
        files.overlays.append(target)
    return files


def build_report(
    result: StudyResult,
    model: ModelRecord,
    sources: Mapping[str, Dataset],
    notes: list[str] | None = None,
) -> hd.sr.ComprehensiveSR:
    """The study's Comprehensive SR; ``sources`` maps view paths to their headers."""
    root = hd.sr.ContainerContentItem(name=codes.LN.DiagnosticImagingReport)
    items: list[hd.sr.ContentItem] = [
        _text(codes.DCM.Comment, RESEARCH_NOTICE),
        _text(codes.DCM.AlgorithmName, model.name or "unknown model"),
        _text(codes.DCM.AlgorithmVersion, _model_version(model)),
        _text(MODEL_HASH, model.content_hash or "unknown"),
        hd.sr.CodeContentItem(
            DEMO_MODEL,
            codes.SCT.Yes if model.demo else codes.SCT.No,
            relationship_type="CONTAINS",
        ),
        _text(codes.DCM.AlgorithmParameters, result.rule_text),
        _number(codes.DCM.ThresholdValue, result.rule.threshold_for(result.body_part)),
    ]
    if result.probability is not None and result.verdict is not None:
        items.append(_number(STUDY_PROBABILITY, result.probability))
        items.append(
            hd.sr.CodeContentItem(
                STUDY_VERDICT, VERDICT_CODES[result.verdict], relationship_type="CONTAINS"
            )
        )
    for view in result.views:
        source = sources.get(view.path)
        if source is None:
            continue
        if view.ok:
            item = _number(VIEW_PROBABILITY, float(view.probability))  # type: ignore[arg-type]
        else:
            item = _text(VIEW_NOT_SCORED, view.error or "not scored")
        image = hd.sr.ImageContentItem(
            SOURCE_IMAGE,
            referenced_sop_class_uid=source.SOPClassUID,
            referenced_sop_instance_uid=source.SOPInstanceUID,
            relationship_type="INFERRED FROM",
        )
        item.ContentSequence = hd.sr.ContentSequence([image])
        items.append(item)
    items += [_text(codes.DCM.Comment, note) for note in notes or []]
    root.ContentSequence = hd.sr.ContentSequence(items)
    report = hd.sr.ComprehensiveSR(
        evidence=list(sources.values()),
        content=root,
        series_instance_uid=generate_uid(),
        series_number=SR_SERIES_NUMBER,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        is_complete=True,
    )
    report.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: the rule reads "mean ... ≥ 0.50"
    report.SeriesDescription = SR_SERIES_DESCRIPTION
    report.SoftwareVersions = __version__
    scheme = Dataset()
    scheme.CodingSchemeDesignator = SCHEME
    scheme.CodingSchemeName = "MURA Desktop private concepts"
    report.CodingSchemeIdentificationSequence = [scheme]
    return report


def build_overlay(
    source: Dataset, rgb: np.ndarray, series_uid: str, instance_number: int
) -> hd.sc.SCImage:
    """A Secondary Capture of one view's heatmap overlay (RGB uint8, the source's pixel
    grid) in the source's patient and study."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"overlay must be RGB uint8 (H, W, 3), got {rgb.dtype} {rgb.shape}")
    image = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=source,
        pixel_array=rgb,
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        series_instance_uid=series_uid,
        series_number=SC_SERIES_NUMBER,
        sop_instance_uid=generate_uid(),
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        # highdicom wants an orientation for patient images; the source's own is set below
        patient_orientation=("L", "F"),
        transfer_syntax_uid=ExplicitVRLittleEndian,
    )
    image.SpecificCharacterSet = "ISO_IR 192"  # names as the source had them, in UTF-8
    image.SeriesDescription = SC_SERIES_DESCRIPTION
    image.ImageComments = RESEARCH_NOTICE
    image.BurnedInAnnotation = "NO"
    image.SoftwareVersions = __version__
    # Type 2: the same pixel grid as the source, so its orientation (or none) holds
    image.PatientOrientation = source.get("PatientOrientation", "")
    if "BodyPartExamined" in source:
        image.BodyPartExamined = source.BodyPartExamined
    source_ref = Dataset()
    source_ref.ReferencedSOPClassUID = source.SOPClassUID
    source_ref.ReferencedSOPInstanceUID = source.SOPInstanceUID
    image.SourceImageSequence = [source_ref]
    return image


def dicom_report(dataset: Dataset) -> dict[str, Any]:
    """Plain data from an SR ``build_report`` made: model, rule, threshold, study
    probability and verdict, and per referenced SOP Instance UID the view's probability
    (or ``None``) and, for a view not scored, its reason."""
    report = hd.sr.ComprehensiveSR.from_dataset(dataset, copy=True)
    found: dict[str, Any] = {key: None for key in _KEYS.values()}
    found.update(views={}, notes=[])
    for item in report.ContentSequence:
        name = item.ConceptNameCodeSequence[0].CodeValue
        value = _value(item)
        if name in (VIEW_PROBABILITY.value, VIEW_NOT_SCORED.value):
            uid = item.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID
            scored = name == VIEW_PROBABILITY.value
            found["views"][str(uid)] = {
                "probability": value if scored else None,
                "error": None if scored else value,
            }
        elif name == codes.DCM.Comment.value:
            found["notes"].append(value)
        else:
            key = _KEYS.get(name)
            if key is not None:
                found[key] = value
    found["demo"] = found["demo"] == codes.SCT.Yes.value
    return found


_KEYS = {
    codes.DCM.AlgorithmName.value: "model_name",
    codes.DCM.AlgorithmVersion.value: "model_version",
    MODEL_HASH.value: "model_hash",
    DEMO_MODEL.value: "demo",
    codes.DCM.AlgorithmParameters.value: "rule",
    codes.DCM.ThresholdValue.value: "threshold",
    STUDY_PROBABILITY.value: "probability",
    STUDY_VERDICT.value: "verdict",
}
_VERDICT_WORDS = {code.value: word for word, code in VERDICT_CODES.items()}


def _value(item: Dataset) -> Any:
    kind = item.ValueType
    if kind == "NUM":
        return float(item.MeasuredValueSequence[0].NumericValue)
    if kind == "CODE":
        code = item.ConceptCodeSequence[0].CodeValue
        return _VERDICT_WORDS.get(code, code)
    return str(item.get("TextValue", ""))


def _source_headers(result: StudyResult) -> tuple[dict[str, Dataset], list[str]]:
    if not result.uid.startswith("dicom:"):
        raise NoDicomContext(result.name, "its views are not DICOM instances")
    sources: dict[str, Dataset] = {}
    notes: list[str] = []
    for view in result.views:
        try:
            header = read_source_header(view.path)
            if not {"SOPClassUID", "SOPInstanceUID", "StudyInstanceUID"} <= set(header.dir()):
                raise ValueError("no SOP Class, SOP Instance or Study Instance UID")
        except Exception as exc:  # pydicom raises many types on damaged headers
            notes.append(f"{Path(view.path).name}: header unreadable, not referenced ({exc})")
            continue
        notes += _blank_invalid_identity(header, Path(view.path).name)
        sources[view.path] = header
    if not sources:
        raise NoDicomContext(result.name, "no view's DICOM header could be read")
    return sources, notes


_TYPE_2 = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber",
    "StudyID", "StudyDate", "StudyTime", "ReferringPhysicianName",
)  # fmt: skip


def _blank_invalid_identity(header: Dataset, name: str) -> list[str]:
    """Make the patient/study attributes our objects copy valid in ``header`` (a copy in
    memory): absent ones empty (DICOM type 2), invalid ones (an anonymiser's hash in a
    date, an over-long accession number) empty too, each with a note."""
    notes = []
    for keyword in _TYPE_2:
        if keyword not in header:
            setattr(header, keyword, "")
            continue
        element = header[keyword]
        try:
            validate_value(element.VR, element.value, config.RAISE)
        except ValueError:
            notes.append(
                f"{name}: {keyword} {str(element.value)!r} is not a valid {element.VR}; left empty"
            )
            setattr(header, keyword, "")
    return notes


def _model_version(model: ModelRecord) -> str:
    members = int(model.details.get("members") or 1)
    return (
        f"{model.architecture or 'unknown'} {model.input_size or '?'} px, "
        f"{members} member{'s' if members != 1 else ''}; mura-desktop {__version__}"
    )


def _text(name: hd.sr.CodedConcept, value: str) -> hd.sr.TextContentItem:
    return hd.sr.TextContentItem(name, value, relationship_type="CONTAINS")


def _number(name: hd.sr.CodedConcept, value: float) -> hd.sr.NumContentItem:
    return hd.sr.NumContentItem(name, round(value, 6), NO_UNITS, relationship_type="CONTAINS")


def _save(dataset: Dataset, path: Path) -> None:
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    write_atomically(path, buffer.getvalue())
