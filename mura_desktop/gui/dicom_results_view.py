"""Our DICOM results opened in the viewer: the SR read back (model, verdict, study and view
probabilities by SOP Instance UID) beside its heatmap Secondary Captures, in colour."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from pydicom import dcmread
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mura_desktop.core.dicom_result_names import SR_NAME, is_dicom_result_file
from mura_desktop.core.dicom_results import dicom_report


class DicomResultsView(QWidget):
    """Shows one study's ``mura_sr.dcm`` and ``mura_heatmap_N.dcm`` (``open_folder``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("DICOM results")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["probability", "source SOP Instance UID", "note"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.captures = QListWidget()
        self.captures.currentRowChanged.connect(self._show_capture)
        self.image = QLabel("no Secondary Capture")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(320, 320)
        left = QWidget()
        column = QVBoxLayout(left)
        column.addWidget(self.summary)
        column.addWidget(self.table, 1)
        column.addWidget(self.captures)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.image)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([500, 700])
        layout = QHBoxLayout(self)
        layout.addWidget(splitter)
        self._pixmaps: list[QPixmap] = []

    def open_folder(self, folder: str | os.PathLike[str]) -> None:
        """Show the SR and SCs ``write_dicom_results`` wrote to ``folder``; ``ValueError``
        names the folder when there is no SR of ours in it."""
        folder = Path(folder)
        if not (folder / SR_NAME).is_file():
            raise ValueError(f"{folder}: no {SR_NAME} (not a DICOM results folder of ours)")
        ds = dcmread(folder / SR_NAME)
        report = dicom_report(ds)
        self._show_report(ds, report)
        files = sorted(
            (p for p in folder.glob("mura_heatmap_*.dcm") if is_dicom_result_file(p)),
            key=lambda p: int(p.stem.rsplit("_", 1)[1]),
        )
        self.captures.clear()
        self._pixmaps = []
        for path in files:
            capture = dcmread(path)
            self._pixmaps.append(QPixmap.fromImage(_qimage(capture.pixel_array)))
            self.captures.addItem(f"{path.name}: {capture.SeriesDescription}")
        if self._pixmaps:
            self.captures.setCurrentRow(0)

    def _show_report(self, ds, report: dict) -> None:
        probability = report.get("probability")
        demo = "<b style='color:#c60'>DEMO MODEL</b> · " if report["demo"] else ""
        self.summary.setText(
            f"{demo}<b>{ds.PatientName}</b> ({ds.PatientID}) · study {ds.StudyInstanceUID}<br>"
            f"verdict <b>{report.get('verdict') or 'unscored'}</b>, study probability "
            f"{'—' if probability is None else f'{probability:.3f}'} ({report.get('rule')})<br>"
            f"model {report.get('model_name')} · {report.get('model_version')} · hash "
            f"{str(report.get('model_hash'))[:12]}<br><i>{ds.SeriesDescription}</i>"
        )
        views = report["views"]
        self.table.setRowCount(len(views))
        for row, (uid, view) in enumerate(views.items()):
            p = view["probability"]
            cells = ("—" if p is None else f"{p:.3f}", uid, view["error"] or "")
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def _show_capture(self, row: int) -> None:
        if 0 <= row < len(self._pixmaps):
            self.image.setPixmap(
                self._pixmaps[row].scaled(
                    self.image.size(), Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )  # fmt: skip


def _qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width, _ = rgb.shape
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
