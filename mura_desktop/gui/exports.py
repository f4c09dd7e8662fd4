"""Saving and exporting from the main window: results (JSON/CSV), the view as PNG, the
study report as PDF. Never into the data the user opened (``core.output_guard``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtWidgets import QFileDialog

from mura_desktop.core.output_guard import data_folder_holding
from mura_desktop.gui.report import write_study_report

if TYPE_CHECKING:
    from mura_desktop.gui.main_window import MainWindow


class Exports:
    def __init__(self, window: MainWindow) -> None:
        self.window = window

    @property
    def viewer(self):
        return self.window.viewer

    # --- results ------------------------------------------------------------------------

    def choose_results_target(self) -> None:
        if not self.viewer.session.results:
            self.window.report(
                "There are no scores to save yet.",
                "Score the studies first (Study ▸ Score all studies).",
            )
            return
        path, _ = QFileDialog.getSaveFileName(
            self.window,
            "Save results",
            self.save_dir("results.json"),
            "JSON, re-openable (*.json);;CSV, one row per view (*.csv)",
        )
        if path:
            self.save_results(Path(path))

    def save_results(self, path: Path) -> bool:
        if not self.writable_target(path):
            return False
        results = self.viewer.session.result_set()
        try:
            if path.suffix.lower() == ".csv":
                results.to_csv(path)
            else:
                path = path if path.suffix else path.with_suffix(".json")
                results.to_json(path)
        except OSError as exc:
            self.window.report(
                f"Could not save {path}: {exc.strerror or exc}", "Choose a folder you can write to."
            )
            return False
        self._saved(path, f"Saved {len(results.studies):,} results to {path}")
        return True

    # --- the view as PNG ----------------------------------------------------------------

    def choose_png_target(self) -> None:
        current = self.viewer.current
        if current is None or self.window.image_view.image is None:
            return
        view = current.paths[current.view].stem
        name = f"{safe_name(current.study.name)}_{safe_name(view)}.png"
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export view", self.save_dir(name), "PNG (*.png)"
        )
        if path:
            self.export_png(Path(path))

    def export_png(self, path: Path) -> bool:
        from PIL import Image

        view = self.window.image_view
        if view.image is None or not self.writable_target(path):
            return False
        try:
            Image.fromarray(np.ascontiguousarray(view.rendered_rgb())).save(path, "PNG")
        except OSError as exc:
            self.window.report(
                f"Could not write {path}: {exc}", "Choose a folder you can write to."
            )
            return False
        self._saved(path, f"Exported {path}")
        return True

    # --- the study report ---------------------------------------------------------------

    def choose_report_target(self) -> None:
        current = self.viewer.current
        if current is None or current.study.uid not in self.viewer.session.results:
            self.window.report("This study has no scores to report.", "Score it first (F5).")
            return
        name = f"{safe_name(current.study.name)}_report.pdf"
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export report", self.save_dir(name), "PDF (*.pdf)"
        )
        if path:
            self.export_report(Path(path))

    def export_report(self, path: Path) -> bool:
        current, session = self.viewer.current, self.viewer.session
        if current is None or not self.writable_target(path):
            return False
        result = session.results.get(current.study.uid)
        if result is None:
            return False
        images = {p: item.image for p, item in current.images.items()}
        heatmaps = session.heatmaps(current.study.uid) or {}
        try:
            write_study_report(
                path, result, images, heatmaps, session.model, measurements=session.measurements,
                style=self.window.image_view.heatmap_style,
            )  # fmt: skip
        except OSError as exc:
            self.window.report(
                f"Could not write {path}: {exc}", "Choose a folder you can write to."
            )
            return False
        self._saved(path, f"Wrote report {path}")
        return True

    # --- where ----------------------------------------------------------------------------

    def save_dir(self, name: str) -> str:
        """``name`` in the last save folder, or in the home folder when that is in the data."""
        folder = self.window.settings.last_save_dir or str(Path.home())
        if self.inside_data(Path(folder)):
            folder = str(Path.home())
        return str(Path(folder) / name)

    def inside_data(self, path: Path) -> bool:
        return data_folder_holding(path, self.viewer.session.data_roots()) is not None

    def writable_target(self, path: Path) -> bool:
        if self.inside_data(path):
            self.window.report(
                f"{path} is inside the data you opened.",
                "MURA Desktop never writes into your data folders: choose another folder.",
            )
            return False
        return True

    def _saved(self, path: Path, message: str) -> None:
        self.window.settings.last_save_dir = str(path.parent)
        self.window.statusBar().showMessage(message, 10_000)


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip("_") or "study"
