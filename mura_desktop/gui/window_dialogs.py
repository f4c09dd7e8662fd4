"""The main window's secondary windows: model file and settings, comparison, training,
skipped files, shortcuts, about. Each is opened from here and answers through the
viewer model or the window's public commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from mura_desktop import __version__
from mura_desktop.core.resources import MODEL_SUFFIX
from mura_desktop.gui.compare_dialog import CompareDialog
from mura_desktop.gui.model_dialog import ModelDialog
from mura_desktop.gui.shortcuts import ShortcutsDialog
from mura_desktop.gui.skipped_dialog import SkippedFilesDialog
from mura_desktop.gui.train_window import TrainWindow

if TYPE_CHECKING:
    from mura_desktop.gui.dicom_results_view import DicomResultsView
    from mura_desktop.gui.main_window import MainWindow


class WindowDialogs:
    """The dialogs and windows the main window opens; at most one of each is kept."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.train_window: TrainWindow | None = None
        self.model_dialog: ModelDialog | None = None
        self.skipped_dialog: SkippedFilesDialog | None = None
        self.compare_dialog: CompareDialog | None = None
        self.dicom_results: DicomResultsView | None = None

    # --- the model ----------------------------------------------------------------------

    def choose_model_file(self) -> None:
        settings = self.window.settings
        start = str(Path(settings.model_path).parent) if settings.model_path else ""
        path, _ = QFileDialog.getOpenFileName(
            self.window,
            "Load a model bundle",
            start,
            f"MURA Desktop models (*{MODEL_SUFFIX});;All files (*)",
        )
        if path:
            self.window.load_model(Path(path))

    def show_model_dialog(self) -> None:
        settings, info = self.window.settings, self.window.viewer.model
        dialog = ModelDialog(
            bundle=info.bundle if info is not None else None,
            model_path=str(info.path) if info is not None else settings.model_path,
            device=settings.device,
            threshold=info.rule.threshold
            if info is not None
            else settings.threshold_for(settings.model_path),
            cuda_available=None if "torch" in sys.modules else False,
            runtime=settings.backend,
            parent=self.window,
        )
        dialog.settingsChosen.connect(
            lambda path, device, threshold: self.settings_chosen(
                path, device, threshold, dialog.runtime()
            )
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.model_dialog = dialog
        dialog.destroyed.connect(lambda: setattr(self, "model_dialog", None))
        dialog.open()

    def settings_chosen(
        self, path: str, device: str, threshold: float, runtime: str = "auto"
    ) -> None:
        """OK in the model dialog: the threshold belongs to that bundle file only."""
        settings = self.window.settings
        settings.device = device
        settings.backend = runtime
        if path:
            settings.set_threshold_for(path, threshold)
            settings.model_path = path
            self.window.load_model(Path(path), device, threshold)

    def choose_comparison(self) -> None:
        window = self.window
        session = window.viewer.session
        dialog = CompareDialog.choose(window, list(session.results.values()), session.model)
        if dialog is not None:
            self.compare_dialog = dialog
            dialog.studyChosen.connect(
                lambda uid: window.browser.select(uid) or window.show_study(uid)
            )
            dialog.comparisonReady.connect(
                lambda c: window.browser.set_comparison([d.uid for d in c.disagreements], c.name_b)
            )

    # --- training -----------------------------------------------------------------------

    def show_train_window(self) -> None:
        if self.train_window is None:
            self.train_window = TrainWindow()
            self.train_window.openModel.connect(lambda path: self.window.load_model(Path(path)))
            folders = [p for p in self.window.viewer.session.sources if p.is_dir()]
            if folders:
                self.train_window.set_dataset(folders[0])
        self.train_window.show()
        self.train_window.raise_()

    def training_allows_quit(self) -> bool:
        """A running training is stopped or left running on its own, as the user says."""
        return self.train_window is None or self.train_window.settle_before_quit(self.window)

    def close_training(self) -> None:
        if self.train_window is not None:
            self.train_window.close()

    def show_dicom_results(self, folder: Path) -> None:
        """Our SR and heatmap Secondary Captures, read back, in a window of their own."""
        from pydicom.errors import InvalidDicomError

        from mura_desktop.gui.dicom_results_view import DicomResultsView  # loads highdicom

        view = DicomResultsView()
        view.setWindowTitle(f"DICOM results — {folder.name}")
        try:
            view.open_folder(folder)
        except (OSError, ValueError, InvalidDicomError) as exc:
            view.deleteLater()
            self.window.report(
                f"Cannot show the DICOM results in {folder}: {exc}",
                "Open a folder written by Export DICOM results or predict --dicom-out.",
            )
            return
        view.resize(1100, 700)
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dicom_results = view
        view.show()

    # --- help ---------------------------------------------------------------------------

    def show_skipped_files(self) -> None:
        dialog = SkippedFilesDialog(self.window.viewer.skipped_problems(), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.skipped_dialog = dialog
        dialog.open()

    def show_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self.window.actions(), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_about(self) -> None:
        QMessageBox.about(
            self.window,
            "About MURA Desktop",
            f"<b>MURA Desktop {__version__}</b><p>Musculoskeletal radiograph abnormality "
            "viewer. Research use only: not a medical device, not for diagnosis.</p>",
        )
