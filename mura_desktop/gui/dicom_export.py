"""File ▸ Export DICOM results…: an SR per scored DICOM study (and a heatmap Secondary
Capture per view whose overlay the viewer holds) into a folder the user chose; studies
without DICOM context (PNG/JPEG) are named in the summary, with the PDF/CSV offered."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QMessageBox, QWidget

from mura_desktop.core.dicom_result_names import is_dicom_result_file
from mura_desktop.core.dicom_results import (
    DicomResultFiles,
    NoDicomContext,
    write_dicom_results,
)
from mura_desktop.core.output_guard import OutputRefused, check_output_folder
from mura_desktop.core.results import ResultSet


@dataclass
class DicomExport:
    """What an export wrote, which studies had no DICOM context, and what failed."""

    written: list[DicomResultFiles] = field(default_factory=list)
    not_dicom: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def message(self) -> str:
        lines = [f"Wrote DICOM results for {len(self.written)} study(ies)."]
        if self.not_dicom:
            lines.append(
                f"{len(self.not_dicom)} study(ies) are not DICOM, so have no patient or "
                "study to attach a DICOM result to; export them as a PDF report or "
                "CSV/JSON results instead: " + ", ".join(self.not_dicom)
            )
        lines += self.errors
        return "\n\n".join(lines)


def write_dicom_export(
    results: ResultSet,
    folder: str | os.PathLike[str],
    overlays: Mapping[str, np.ndarray] | None = None,
) -> DicomExport:
    """Write every scored study's DICOM results; refuses (``OutputRefused``) a folder that
    is inside the studies' data or holds files that are not ours."""
    sources = [Path(v.path) for s in results.studies for v in s.views]
    check_output_folder(folder, sources, is_ours=is_dicom_result_file)
    export = DicomExport()
    for study in results.studies:
        if study.probability is None:
            continue
        try:
            export.written.append(write_dicom_results(study, results.model, folder, overlays))
        except NoDicomContext:
            export.not_dicom.append(study.name)
        except OSError as exc:
            export.errors.append(f"{study.name}: could not write: {exc.strerror or exc}")
    return export


def export_dicom_results(
    parent: QWidget | None,
    results: ResultSet,
    folder: str | os.PathLike[str],
    overlays: Mapping[str, np.ndarray] | None = None,
) -> DicomExport | None:
    """The menu action: write, then tell the user what happened (None if refused)."""
    try:
        export = write_dicom_export(results, folder, overlays)
    except OutputRefused as exc:
        QMessageBox.warning(parent, "DICOM results not written", str(exc))
        return None
    box = QMessageBox.warning if export.not_dicom or export.errors else QMessageBox.information
    box(parent, "DICOM results", export.message())
    return export
