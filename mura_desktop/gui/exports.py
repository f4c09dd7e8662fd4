"""Saving and exporting from the main window: results (JSON/CSV), the view as PNG, the
study report and the metrics report as PDF. Never into the data the user opened
(``core.output_guard``)."""

from __future__ import annotations

from collections.abc import Callable
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
        self._choose_target(
            "Save results",
            "results.json",
            "JSON, re-openable (*.json);;CSV, one row per view (*.csv)",
            self.save_results,
        )

    def save_results(self, path: Path) -> bool:
        if not self.writable_target(path):
            return False
        results = self.viewer.session.result_set()
        write = results.to_csv if path.suffix.lower() == ".csv" else results.to_json
        if not path.suffix:
            path = path.with_suffix(".json")
        return self._write(path, write, f"Saved {len(results.studies):,} results to {path}")

    # --- the view as PNG ----------------------------------------------------------------

    def choose_png_target(self) -> None:
        current = self.viewer.current
        if current is None or self.window.image_view.image is None:
            return
        view = current.paths[current.view].stem
        name = f"{safe_name(current.study.name)}_{safe_name(view)}.png"
        self._choose_target("Export view", name, "PNG (*.png)", self.export_png)

    def export_png(self, path: Path) -> bool:
        from PIL import Image

        view = self.window.image_view
        if view.image is None or not self.writable_target(path):
            return False
        image = Image.fromarray(np.ascontiguousarray(view.rendered_rgb()))
        return self._write(path, lambda target: image.save(target, "PNG"), f"Exported {path}")

    # --- the study report ---------------------------------------------------------------

    def choose_report_target(self) -> None:
        current = self.viewer.current
        if current is None or current.study.uid not in self.viewer.session.results:
            self.window.report("This study has no scores to report.", "Score it first (F5).")
            return
        name = f"{safe_name(current.study.name)}_report.pdf"
        self._choose_target("Export report", name, "PDF (*.pdf)", self.export_report)

    def export_report(self, path: Path) -> bool:
        current, session = self.viewer.current, self.viewer.session
        if current is None or not self.writable_target(path):
            return False
        result = session.results.get(current.study.uid)
        if result is None:
            return False
        images = {p: item.image for p, item in current.images.items()}
        heatmaps = self.viewer.shown_heatmaps(current.study.uid) or {}
        return self._write(
            path,
            lambda target: write_study_report(
                target, result, images, heatmaps, session.model,
                measurements=session.measurements, style=self.window.image_view.heatmap_style,
            ),
            f"Wrote report {path}",
        )  # fmt: skip

    # --- the metrics report ------------------------------------------------------------

    def choose_metrics_report_target(self) -> None:
        self._choose_target(
            "Export metrics report", "metrics_report.pdf", "PDF (*.pdf)", self.export_metrics_report
        )

    def export_metrics_report(self, path: Path) -> bool:
        if not self.writable_target(path):
            return False
        panel = self.window.metrics.panel
        return self._write(path, panel.write_report, f"Wrote metrics report {path}")

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

    def _choose_target(
        self, title: str, name: str, filters: str, save: Callable[[Path], bool]
    ) -> None:
        """Ask where to save (``name`` in the last save folder), then ``save`` there."""
        path, _ = QFileDialog.getSaveFileName(self.window, title, self.save_dir(name), filters)
        if path:
            save(Path(path))

    def _write(self, path: Path, write: Callable[[Path], object], message: str) -> bool:
        """``write(path)``; on success remember its folder and show ``message``."""
        try:
            write(path)
        except OSError as exc:
            self.window.report(
                f"Could not write {path}: {exc.strerror or exc}",
                "Choose a folder you can write to.",
            )
            return False
        self.window.settings.last_save_dir = str(path.parent)
        self.window.statusBar().showMessage(message, 10_000)
        return True


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip("_") or "study"
