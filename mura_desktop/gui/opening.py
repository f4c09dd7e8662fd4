"""Opening things in the main window: folders, files, results files, recent items, dropped
files and the model a launch loads; the scan runs in the background and its answer becomes
the viewer model's session."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from mura_desktop.core.dicom_result_names import SR_NAME
from mura_desktop.core.resources import MODEL_SUFFIX, default_model_path
from mura_desktop.core.results import ResultSet
from mura_desktop.gui.skipped_dialog import problem_counts

if TYPE_CHECKING:
    from mura_desktop.gui.main_window import MainWindow
    from mura_desktop.gui.settings import Settings

log = logging.getLogger(__name__)

IMAGE_FILTER = (
    "Images and DICOM (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.dcm *.dicom);;All files (*)"
)
RESULTS_FILTER = "Results (*.json *.csv)"


class Opener:
    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def choose_folder(self) -> None:
        w = self.window
        folder = QFileDialog.getExistingDirectory(
            self, "Open a study, patient or dataset folder", w.settings.last_open_dir
        )
        if folder:
            self.open_paths([Path(folder)])

    def choose_files(self) -> None:
        w = self.window
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open images or DICOMs", w.settings.last_open_dir, IMAGE_FILTER
        )
        if files:
            self.open_paths([Path(f) for f in files])

    def choose_results_file(self) -> None:
        w = self.window
        path, _ = QFileDialog.getOpenFileName(
            self, "Open results", w.settings.last_save_dir, RESULTS_FILTER
        )
        if path:
            self.open_results(Path(path))

    def open_paths(self, paths: Sequence[Path]) -> None:
        """Open folders/files (scanned in the background); a results file or a model
        bundle given alone is opened as such."""
        w = self.window
        paths = [Path(p) for p in paths]
        if not paths:
            return
        if len(paths) == 1 and paths[0].is_file():
            if paths[0].suffix.lower() == ".json":
                return self.open_results(paths[0])
            if paths[0].suffix.lower() == MODEL_SUFFIX:
                w.load_model(paths[0])
                return None
        if len(paths) == 1 and _our_dicom_results(paths[0]) is not None:
            w.dialogs.show_dicom_results(_our_dicom_results(paths[0]))
            return None
        missing = [p for p in paths if not p.exists()]
        if missing:
            w.report(f"{missing[0]} does not exist.", "Check the path and open it again.")
            paths = [p for p in paths if p.exists()]
            if not paths:
                w.viewer.release_deferred_model()
                return None
        w.settings.last_open_dir = str(paths[0] if paths[0].is_dir() else paths[0].parent)
        request = w.viewer.begin_scan(paths)
        w.statusBar().showMessage(f"Scanning {describe_paths(paths)}…")
        w.loader.scan(request, paths)
        return None

    def on_scan_finished(self, request: int, scan) -> None:
        w = self.window
        session = w.viewer.scan_finished(request, scan)
        if session is None:
            return
        inputs = w.viewer.scan_inputs
        n = len(session.studies)
        if n:
            for path in inputs if len(inputs) <= 3 else inputs[:1]:
                w.settings.add_recent(path)
        summary = f"{n:,} stud{'y' if n == 1 else 'ies'}, {scan.n_views:,} views"
        if scan.problems:
            summary += f"; skipped {problem_counts(scan.problems)} (File ▸ Skipped files…)"
            for problem in scan.problems:
                log.warning("skipped %s (%s): %s", problem.path, problem.kind, problem.reason)
        w.statusBar().showMessage(summary, 10_000)
        if n == 0:
            reasons = "; ".join(f"{p.path.name}: {p.reason}" for p in scan.problems[:3])
            w.report(
                f"No images found in {describe_paths(inputs)}"
                + (f" ({reasons})" if reasons else "")
                + ".",
                "Open a folder holding PNG/JPEG images or DICOM files, or the files themselves.",
            )
        w.scanFinished.emit(n)

    def on_scan_failed(self, request: int, message: str) -> None:
        w = self.window
        if w.viewer.scan_failed(request):
            w.report(f"Scanning failed: {message}", "Check that the folder is readable.")

    def open_results(self, path: Path) -> None:
        """Re-open a results file: scores come back without running the model."""
        w = self.window
        try:
            if path.suffix.lower() == ".csv":
                rule = w.model.rule if w.model is not None else None
                results = ResultSet.from_csv(path, rule)
            else:
                results = ResultSet.from_json(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            w.report(
                f"Cannot open the results file: {exc}",
                "Choose a .json or .csv file saved by MURA Desktop.",
            )
            return
        w.settings.add_recent(path)
        w.settings.last_save_dir = str(path.parent)
        w.viewer.open_results(results, path)
        w.statusBar().showMessage(
            f"Opened {len(results.studies):,} scored studies from {path.name}", 10_000
        )
        w.scanFinished.emit(len(results.studies))

    def fill_recent_menu(self) -> None:
        w = self.window
        menu = w.recent_menu
        menu.clear()
        items = w.settings.recent_items
        for item in items:
            action = menu.addAction(item)
            exists = Path(item).exists()
            action.setEnabled(exists)
            if not exists:
                action.setText(f"{item}  (missing)")
            action.triggered.connect(lambda _=False, p=item: self.open_paths([Path(p)]))
        if items:
            menu.addSeparator()
            menu.addAction("Clear list", w.settings.clear_recent)
        else:
            menu.addAction("No recent items").setEnabled(False)


def _our_dicom_results(path: Path) -> Path | None:
    """The folder of DICOM results this program wrote (its SR and heatmap Secondary
    Captures), when ``path`` is one or is its SR."""
    folder = path.parent if path.name == SR_NAME else path
    return folder if (folder / SR_NAME).is_file() else None


def describe_paths(paths: Sequence[os.PathLike[str] | str]) -> str:
    return str(paths[0]) if len(paths) == 1 else f"{len(paths)} items"


def startup_model_path(settings: Settings, explicit: str | os.PathLike[str] | None) -> Path | None:
    """The model a launch loads: the one asked for, else the last one used, else the
    bundled demo model (None when there is none)."""
    if explicit:
        return Path(explicit)
    saved = settings.model_path
    if saved and Path(saved).is_file():
        return Path(saved)
    return default_model_path()


def local_paths(mime) -> list[Path]:
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
