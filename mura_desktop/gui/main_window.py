"""The main window: study list, image view, thumbnails, verdict, and the work behind them.

Images first, scores after: opening a study shows its pixels as soon as the loader threads
have decoded them; the inference worker's results follow. Every background request has an
id and an answer for a study the user has left is dropped.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mura_desktop import __version__
from mura_desktop.core.output_guard import data_folder_holding
from mura_desktop.core.resources import MODEL_SUFFIX, default_model_path, is_frozen
from mura_desktop.core.results import ResultSet, StudyResult, model_hash
from mura_desktop.core.study import FAILED, ScanProblem, Study
from mura_desktop.gui.banners import DEMO_STYLE, INFO_STYLE, NO_MODEL_HTML, Banner, demo_text
from mura_desktop.gui.compare_dialog import CompareDialog
from mura_desktop.gui.dicom_tags import DicomTagsPanel
from mura_desktop.gui.focus_keys import NavigationKeyGuard
from mura_desktop.gui.image_view import WINDOW_PRESETS, HeatmapBar, ImageView
from mura_desktop.gui.layout_guard import image_has_room
from mura_desktop.gui.loader import BackgroundLoader, DisplayImage, ImageCache
from mura_desktop.gui.messages import show_problem, show_unexpected
from mura_desktop.gui.metrics_panel import MetricsPanel
from mura_desktop.gui.model_dialog import ModelDialog
from mura_desktop.gui.report import write_study_report
from mura_desktop.gui.scoring_progress import ScoringProgress
from mura_desktop.gui.session import Session
from mura_desktop.gui.settings import Settings
from mura_desktop.gui.shortcuts import ShortcutsDialog
from mura_desktop.gui.skipped_dialog import SkippedFilesDialog, problem_counts
from mura_desktop.gui.study_browser import StudyBrowser
from mura_desktop.gui.thumbnails import ThumbnailStrip, gray_qimage
from mura_desktop.gui.train_window import TrainWindow
from mura_desktop.gui.verdict_panel import VerdictPanel
from mura_desktop.gui.worker import InferenceService, ModelFactory, ModelInfo

log = logging.getLogger(__name__)

IMAGE_FILTER = (
    "Images and DICOM (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.dcm *.dicom);;All files (*)"
)
RESULTS_FILTER = "Results (*.json *.csv)"
METRICS_REFRESH_MS = 1000


@dataclass
class _Current:
    """The study on screen and what has arrived for it."""

    study: Study
    request: int
    view: int = 0
    images: dict[Path, DisplayImage] = field(default_factory=dict)
    failures: dict[Path, str] = field(default_factory=dict)
    job: int | None = None
    progress: tuple[int, int] | None = None

    @property
    def paths(self) -> list[Path]:
        return [v.path for v in self.study.views]


class MainWindow(QMainWindow):
    """The viewer.

    Parameters
    ----------
    settings
        Where window layout, recent items and model choices persist.
    model_factory
        Turns (bundle path, device, threshold) into a predictor in the worker thread; the
        default reads ``.mura`` bundles (tests inject a fast fake).

    Signals (for tests and benchmarks)
    ----------------------------------
    studyShown(uid), imageShown(uid, view index), resultShown(uid), messageShown(text),
    modelChanged(ModelInfo | None), scanFinished(n studies), datasetFinished(cancelled)
    """

    studyShown = Signal(str)
    imageShown = Signal(str, int)
    resultShown = Signal(str)
    messageShown = Signal(str)
    modelChanged = Signal(object)
    scanFinished = Signal(int)
    datasetFinished = Signal(bool)

    _request_ids = itertools.count(1)

    def __init__(
        self,
        settings: Settings,
        model_factory: ModelFactory | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.session = Session()
        self.model: ModelInfo | None = None
        self._current: _Current | None = None
        self._cache = ImageCache()
        self._scan_request = 0
        self._model_job: int | None = None
        self._dataset_job: int | None = None
        self._closing = False
        self._shown_once = False
        self._deferred_model: Path | None = None
        self.train_window: TrainWindow | None = None
        self.model_dialog: ModelDialog | None = None
        self.skipped_dialog: SkippedFilesDialog | None = None
        self.compare_dialog: CompareDialog | None = None
        self._unreadable: dict[Path, ScanProblem] = {}  # views found by the scan, undecodable

        self.loader = BackgroundLoader(parent=self)
        self.service = InferenceService(model_factory, parent=self)

        self._build_widgets()
        self._build_actions()
        self._build_menus()
        self._connect()
        QApplication.instance().installEventFilter(NavigationKeyGuard(self))
        self.image_view.setFocus()
        self._restore_settings()
        self._show_model_state()
        self._refresh_verdict()
        self.setAcceptDrops(True)
        self._update_title()

    # ====================================================================================
    # construction
    # ====================================================================================

    def _build_widgets(self) -> None:
        screen = QGuiApplication.primaryScreen()
        room = screen.availableGeometry().size() if screen is not None else None
        if room is not None and room.width() > 0:
            self.resize(min(1400, int(room.width() * 0.9)), min(900, int(room.height() * 0.9)))
        else:
            self.resize(1400, 900)
        self.image_view = ImageView()
        self.heatmap_bar = HeatmapBar()
        self.thumbnails = ThumbnailStrip()
        self.demo_banner = Banner(DEMO_STYLE)
        self.no_model_banner = Banner(INFO_STYLE)
        self.no_model_banner.setText(NO_MODEL_HTML)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.demo_banner)
        column.addWidget(self.no_model_banner)
        column.addWidget(self.image_view, 1)
        column.addWidget(self.heatmap_bar)
        column.addWidget(self.thumbnails)
        self.setCentralWidget(central)

        self.browser = StudyBrowser()
        self.verdict = VerdictPanel()
        self.tags = DicomTagsPanel()
        self.browser_dock = self._dock(
            "Studies", self.browser, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.verdict_dock = self._dock(
            "Verdict", self.verdict, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.tags_dock = self._dock("Header", self.tags, Qt.DockWidgetArea.RightDockWidgetArea)
        self.browser_dock.setMinimumWidth(300)
        self.verdict_dock.setMinimumWidth(300)

        self.metrics_panel = MetricsPanel()
        self.metrics_dock = self._dock(
            "Metrics", self.metrics_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        # A window of its own by default: docked under or beside the image it starves it.
        self.metrics_dock.setAllowedAreas(
            Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.metrics_dock.setFloating(True)
        self.metrics_dock.hide()
        self._metrics_timer = QTimer(self)
        self._metrics_timer.setSingleShot(True)
        self._metrics_timer.setInterval(METRICS_REFRESH_MS)
        self._metrics_timer.timeout.connect(self._refresh_metrics)

        self.pixel_label = QLabel()
        self.pixel_label.setMinimumWidth(260)
        self.model_label = QLabel()
        self.progress = ScoringProgress()
        self.skipped_button = QPushButton()
        self.skipped_button.setFlat(True)
        self.skipped_button.setToolTip("Show the paths the last scan skipped, and why")
        self.skipped_button.hide()
        status = self.statusBar()
        status.addPermanentWidget(self.skipped_button)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.pixel_label)
        status.addPermanentWidget(self.model_label)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(
        self,
        text: str,
        slot,
        shortcut: str | QKeySequence.StandardKey | None = None,
        tip: str = "",
        checkable: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        iv = self.image_view
        self.act_open_folder = a(
            "Open &folder…", self.choose_folder, "Ctrl+O", "Open a study, patient or dataset folder"
        )
        self.act_open_files = a(
            "Open &files…", self.choose_files, "Ctrl+Shift+O", "Open image files or DICOMs"
        )
        self.act_open_results = a(
            "Open &results…",
            self.choose_results_file,
            None,
            "Re-open saved results without recomputing",
        )
        self.act_save_results = a(
            "&Save results…",
            self.choose_results_target,
            "Ctrl+S",
            "Save scores as JSON (re-openable) or CSV",
        )
        self.act_export_png = a(
            "Export view as &PNG…",
            self.choose_png_target,
            "Ctrl+E",
            "The current view with its window, orientation and heatmap",
        )
        self.act_export_pdf = a(
            "Export study &report (PDF)…",
            self.choose_report_target,
            "Ctrl+P",
            "One page: views with heatmaps, scores, verdict, model",
        )
        self.act_export_metrics = a(
            "Export &metrics report (PDF)…",
            self.metrics_panel.choose_report_target,
            None,
            "The dataset's metrics with 95% intervals, error bars and reliability diagram",
        )
        self.act_compare = a(
            "&Compare with a results file…",
            self.choose_comparison,
            None,
            "Pair these scores with saved results: paired tests and the studies they decide apart",
        )
        self.act_skipped = a(
            "S&kipped files…",
            self.show_skipped_files,
            None,
            "Every path the last scan skipped or doubted, with the reason",
        )
        self.act_quit = a("&Quit", self.close, "Ctrl+Q")

        self.act_invert = a("&Invert", iv.toggle_invert, "I")
        self.act_rotate_right = a("Rotate &right", lambda: iv.rotate(1), "R")
        self.act_rotate_left = a("Rotate &left", lambda: iv.rotate(-1), "L")
        self.act_flip_h = a("Flip &horizontally", iv.flip_horizontal, "H")
        self.act_flip_v = a("Flip &vertically", iv.flip_vertical, "V")
        self.act_reset = a("R&eset view", iv.reset, "Space")
        self.act_fit = a("&Fit to window", iv.fit, "F")
        self.act_actual = a("&Actual size (1:1)", iv.actual_size, "Z")
        self.act_zoom_in = a("Zoom in", lambda: iv.zoom_by(1.25), "+")
        self.act_zoom_out = a("Zoom out", lambda: iv.zoom_by(0.8), "-")
        self.act_heatmap = a("&Heatmap overlay", self.set_heatmap_visible, "M", checkable=True)
        self.act_opacity_up = a("More opaque heatmap", lambda: self._nudge_opacity(0.1), "]")
        self.act_opacity_down = a(
            "More transparent heatmap", lambda: self._nudge_opacity(-0.1), "["
        )
        self.preset_actions = [
            a(name, lambda _=False, n=name: iv.apply_preset(n), str(i))
            for i, name in enumerate(WINDOW_PRESETS, 1)
        ]
        self.act_grouped = a(
            "&Group by body part and patient", self.set_grouped, None, checkable=True
        )

        self.act_prev_view = a("Previous view", lambda: self.step_view(-1), "Up")
        self.act_next_view = a("Next view", lambda: self.step_view(1), "Down")
        self.act_prev_study = a("Previous study", lambda: self.browser.step(-1), "PgUp")
        self.act_next_study = a("Next study", lambda: self.browser.step(1), "PgDown")
        self.act_score_study = a("Score this &study", self.score_current_study, "F5")
        self.act_score_all = a(
            "Score &all studies",
            self.score_all,
            "Ctrl+R",
            "Score every study in the list in the background",
        )
        self.act_pause = a("&Pause scoring", self.progress.pause_button.toggle, None)
        self.act_cancel = a("&Cancel scoring", self.cancel_scoring, None)

        self.act_load_model = a(
            "&Load bundle…", self.choose_model_file, None, "Load a .mura model bundle"
        )
        self.act_model_dialog = a(
            "Model &settings and provenance…",
            self.show_model_dialog,
            "Ctrl+M",
            "Provenance, device, threshold; import a checkpoint",
        )
        self.act_train = a(
            "&Train a model…", self.show_train_window, None, "Run mura-train and watch it"
        )
        if is_frozen():  # the packaged app leaves the trainer out
            self.act_train.setEnabled(False)
            self.act_train.setToolTip("Training runs from a source checkout (see README)")
        self.act_shortcuts = a("&Keyboard shortcuts", self.show_shortcuts, "F1")
        self.act_about = a("&About MURA Desktop", self.show_about)
        self.act_heatmap.setChecked(True)
        self.act_grouped.setChecked(True)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.act_open_folder, self.act_open_files, self.act_open_results])
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addActions([self.act_save_results, self.act_export_png])
        file_menu.addActions([self.act_export_pdf, self.act_export_metrics])
        file_menu.addSeparator()
        file_menu.addAction(self.act_skipped)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)

        view_menu = bar.addMenu("&View")
        view_menu.addActions(
            [
                self.act_invert,
                self.act_rotate_right,
                self.act_rotate_left,
                self.act_flip_h,
                self.act_flip_v,
                self.act_reset,
            ]
        )
        view_menu.addSeparator()
        view_menu.addActions([self.act_fit, self.act_actual, self.act_zoom_in, self.act_zoom_out])
        presets = view_menu.addMenu("Window/level &presets")
        presets.addActions(self.preset_actions)
        view_menu.addSeparator()
        view_menu.addActions([self.act_heatmap, self.act_opacity_up, self.act_opacity_down])
        view_menu.addSeparator()
        view_menu.addAction(self.act_grouped)
        panels = view_menu.addMenu("P&anels")
        docks = [self.browser_dock, self.verdict_dock, self.tags_dock, self.metrics_dock]
        panels.addActions([d.toggleViewAction() for d in docks])

        study_menu = bar.addMenu("&Study")
        study_menu.addActions(
            [self.act_prev_study, self.act_next_study, self.act_prev_view, self.act_next_view]
        )
        study_menu.addSeparator()
        study_menu.addActions(
            [self.act_score_study, self.act_score_all, self.act_pause, self.act_cancel]
        )

        model_menu = bar.addMenu("&Model")
        model_menu.addActions([self.act_load_model, self.act_model_dialog, self.act_compare])
        model_menu.addSeparator()
        model_menu.addAction(self.act_train)

        help_menu = bar.addMenu("&Help")
        help_menu.addActions([self.act_shortcuts, self.act_about])

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("toolbar_main")
        toolbar.addActions([self.act_open_folder, self.act_open_files])
        toolbar.addSeparator()
        toolbar.addActions([self.act_score_all, self.act_heatmap])
        toolbar.addSeparator()
        toolbar.addActions(
            [
                self.act_invert,
                self.act_rotate_left,
                self.act_rotate_right,
                self.act_fit,
                self.act_reset,
            ]
        )
        toolbar.addSeparator()
        for action in self.preset_actions:
            toolbar.addAction(action)

    def _connect(self) -> None:
        self.browser.studySelected.connect(self.show_study)
        self.thumbnails.viewSelected.connect(self.show_view)
        self.image_view.pixelHovered.connect(self.pixel_label.setText)
        self.heatmap_bar.visibilityToggled.connect(self.set_heatmap_visible)
        self.heatmap_bar.opacityChanged.connect(self.image_view.set_heatmap_opacity)
        self.no_model_banner.linkActivated.connect(lambda _href: self.choose_model_file())
        self.progress.pauseToggled.connect(self._on_pause_toggled)
        self.progress.cancelRequested.connect(self.cancel_scoring)
        self.skipped_button.clicked.connect(self.show_skipped_files)

        self.loader.imageLoaded.connect(self._on_image_loaded)
        self.loader.imageFailed.connect(self._on_image_failed)
        self.loader.scanFinished.connect(self._on_scan_finished)
        self.loader.scanFailed.connect(self._on_scan_failed)

        s = self.service
        s.modelLoaded.connect(self._on_model_loaded)
        s.modelFailed.connect(self._on_model_failed)
        s.studyProgress.connect(self._on_study_progress)
        s.studyScored.connect(self._on_study_scored)
        s.studyFailed.connect(self._on_study_failed)
        s.datasetStudyScored.connect(self._on_dataset_study)
        s.datasetProgress.connect(self._on_dataset_progress)
        s.datasetFinished.connect(self._on_dataset_finished)
        s.crashed.connect(self._on_worker_crashed)

    # ====================================================================================
    # start, settings, close
    # ====================================================================================

    def start(
        self, paths: Sequence[Path] = (), model: str | os.PathLike[str] | None = None
    ) -> None:
        """After the window is shown: open ``paths`` and load the model in the background.

        With paths, the model waits until the first image is on screen (or nothing could be
        shown): importing torch holds the interpreter for seconds and would delay it.
        """
        model_path = self._startup_model_path(model)
        if not paths:
            if model_path is not None:
                self.load_model(model_path)
            return
        self._deferred_model = model_path
        self._show_model_state()
        self.open_paths(paths)

    def _release_deferred_model(self) -> None:
        """Start the model load held back by ``start`` (first view shown, or nothing to show)."""
        if self._deferred_model is not None:
            self.load_model(self._deferred_model)

    def _startup_model_path(self, explicit: str | os.PathLike[str] | None) -> Path | None:
        if explicit:
            return Path(explicit)
        saved = self.settings.model_path
        if saved and Path(saved).is_file():
            return Path(saved)
        return default_model_path()

    def _restore_settings(self) -> None:
        s = self.settings
        self._default_state = self.saveState()
        if s.geometry is not None:
            self.restoreGeometry(s.geometry)
        if s.window_state is not None:
            self.restoreState(s.window_state)
        else:
            self._size_docks()
        self.image_view.set_heatmap_opacity(s.heatmap_opacity)
        self.heatmap_bar.set_state(s.heatmap_visible, s.heatmap_opacity)
        self.set_heatmap_visible(s.heatmap_visible)
        self.act_grouped.setChecked(s.group_studies)
        self.set_grouped(s.group_studies)

    def _size_docks(self) -> None:
        self.resizeDocks(
            [self.browser_dock, self.verdict_dock], [430, 320], Qt.Orientation.Horizontal
        )
        self.resizeDocks([self.verdict_dock, self.tags_dock], [520, 260], Qt.Orientation.Vertical)

    def ensure_image_room(self) -> bool:
        """Fall back to the default layout when the image view lacks its share of the window
        (a layout saved crushed, or from a larger screen); True if it had to."""
        if image_has_room(self, self.image_view):
            return False
        log.info("the image view had too little room; the default layout is restored")
        self.restoreState(self._default_state)
        self._size_docks()
        return True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if self.settings.window_state is None:  # docks sized before show get their minimum
                QTimer.singleShot(0, self._size_docks)
            QTimer.singleShot(0, self.ensure_image_room)  # once the layout has its sizes

    def _show_metrics(self) -> None:
        dock = self.metrics_dock
        if dock.isFloating() and not dock.isVisible():
            frame = self.geometry()
            width, height = min(1000, frame.width()), min(820, frame.height())
            dock.setGeometry(frame.right() - width, frame.top() + 60, width, height)
        dock.show()
        dock.raise_()

    def save_settings(self) -> None:
        s = self.settings
        s.geometry = self.saveGeometry()
        s.window_state = self.saveState()
        s.heatmap_visible = self.image_view.heatmap_visible
        s.heatmap_opacity = self.image_view.heatmap_opacity
        s.group_studies = self.act_grouped.isChecked()
        s.sync()

    def closeEvent(self, event) -> None:
        if not self._training_allows_quit():
            event.ignore()
            return
        if self.train_window is not None:
            self.train_window.close()
        self._closing = True
        self.save_settings()
        self.service.shutdown()
        self.loader.shutdown()
        self.metrics_panel.shutdown()
        super().closeEvent(event)

    # ====================================================================================
    # opening things
    # ====================================================================================

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Open a study, patient or dataset folder", self.settings.last_open_dir
        )
        if folder:
            self.open_paths([Path(folder)])

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open images or DICOMs", self.settings.last_open_dir, IMAGE_FILTER
        )
        if files:
            self.open_paths([Path(f) for f in files])

    def choose_results_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open results", self.settings.last_save_dir, RESULTS_FILTER
        )
        if path:
            self.open_results(Path(path))

    def open_paths(self, paths: Sequence[Path]) -> None:
        """Open folders/files (scanned in the background); a results file or a model
        bundle given alone is opened as such."""
        paths = [Path(p) for p in paths]
        if not paths:
            return
        if len(paths) == 1 and paths[0].suffix.lower() == ".json" and paths[0].is_file():
            self.open_results(paths[0])
            return
        if len(paths) == 1 and paths[0].suffix.lower() == MODEL_SUFFIX and paths[0].is_file():
            self.load_model(paths[0])
            return
        missing = [p for p in paths if not p.exists()]
        if missing:
            self.report(f"{missing[0]} does not exist.", "Check the path and open it again.")
            paths = [p for p in paths if p.exists()]
            if not paths:
                self._release_deferred_model()
                return
        self.settings.last_open_dir = str(paths[0] if paths[0].is_dir() else paths[0].parent)
        self._scan_request = next(self._request_ids)
        self._scan_inputs = paths
        self.statusBar().showMessage(f"Scanning {_describe_paths(paths)}…")
        self.loader.scan(self._scan_request, paths)

    def _on_scan_finished(self, request: int, scan) -> None:
        if request != self._scan_request or self._closing:
            return
        self.cancel_scoring()
        session = Session.from_scan(scan, self._scan_inputs)
        if self.model is not None:
            session.adopt_model(self.model.record)
        self._set_session(session)
        n = len(session.studies)
        if n:
            inputs = self._scan_inputs
            for path in inputs if len(inputs) <= 3 else inputs[:1]:
                self.settings.add_recent(path)
        summary = f"{n:,} stud{'y' if n == 1 else 'ies'}, {scan.n_views:,} views"
        if scan.problems:
            summary += f"; skipped {problem_counts(scan.problems)} (File ▸ Skipped files…)"
            for problem in scan.problems:
                log.warning("skipped %s (%s): %s", problem.path, problem.kind, problem.reason)
        self.statusBar().showMessage(summary, 10_000)
        if n == 0:
            self._release_deferred_model()
            reasons = "; ".join(f"{p.path.name}: {p.reason}" for p in scan.problems[:3])
            self.report(
                f"No images found in {_describe_paths(self._scan_inputs)}"
                + (f" ({reasons})" if reasons else "")
                + ".",
                "Open a folder holding PNG/JPEG images or DICOM files, or the files themselves.",
            )
        self.scanFinished.emit(n)

    def _on_scan_failed(self, request: int, message: str) -> None:
        if request == self._scan_request:
            self._release_deferred_model()
            self.report(f"Scanning failed: {message}", "Check that the folder is readable.")

    def open_results(self, path: Path) -> None:
        """Re-open a results file: scores come back without running the model."""
        try:
            if path.suffix.lower() == ".csv":
                rule = self.model.rule if self.model is not None else None
                results = ResultSet.from_csv(path, rule)
            else:
                results = ResultSet.from_json(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.report(
                f"Cannot open the results file: {exc}",
                "Choose a .json or .csv file saved by MURA Desktop.",
            )
            return
        self.cancel_scoring()
        self.settings.add_recent(path)
        self.settings.last_save_dir = str(path.parent)
        self._set_session(Session.from_results(results, path))
        self.statusBar().showMessage(
            f"Opened {len(results.studies):,} scored studies from {path.name}", 10_000
        )
        self.scanFinished.emit(len(results.studies))

    def _set_session(self, session: Session) -> None:
        if self._current is not None and self._current.job is not None:
            self.service.cancel(self._current.job)
        self.session = session
        self._current = None
        self._unreadable.clear()
        self._show_problem_count()
        self._cache.clear()
        self.browser.set_collection(session.groups, session.results, self.act_grouped.isChecked())
        self._update_title()
        self._schedule_metrics()
        if not self.browser.select_first():
            self._clear_study()

    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        items = self.settings.recent_items
        for item in items:
            action = menu.addAction(item)
            exists = Path(item).exists()
            action.setEnabled(exists)
            if not exists:
                action.setText(f"{item}  (missing)")
            action.triggered.connect(lambda _=False, p=item: self.open_paths([Path(p)]))
        if items:
            menu.addSeparator()
            menu.addAction("Clear list", self.settings.clear_recent)
        else:
            menu.addAction("No recent items").setEnabled(False)

    def dragEnterEvent(self, event) -> None:
        if _local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = _local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # ====================================================================================
    # showing a study
    # ====================================================================================

    def show_study(self, uid: str) -> None:
        """Make ``uid`` the study on screen: pixels first, then scores."""
        study = self.session.study(uid)
        if study is None:
            return
        if self._current is not None and self._current.study.uid == uid:
            return
        if self._current is not None and self._current.job is not None:
            self.service.cancel(self._current.job)
        request = next(self._request_ids)
        self.loader.min_request = request
        current = self._current = _Current(study, request)
        self.thumbnails.set_views([v.path.name for v in study.views])
        self.image_view.set_image(None)
        self.image_view.set_message("Loading…" if study.views else "This study has no views.")
        self.tags.clear()
        result = self.session.results.get(uid)
        self._apply_result(result)
        missing = [p for p in current.paths if self._cache.get(p) is None]
        if missing:
            self.loader.load_images(request, missing)
        if self._may_auto_score() and (result is None or self.session.heatmaps(uid) is None):
            current.job = self.service.score_study(study)
        self._refresh_verdict()
        self.browser.select(uid)
        self.studyShown.emit(uid)
        for i, path in enumerate(current.paths):
            cached = self._cache.get(path)
            if cached is not None:
                self._take_image(current, i, cached)
        self._update_title()

    def _clear_study(self) -> None:
        self._release_deferred_model()
        self._current = None
        self.thumbnails.set_views([])
        self.image_view.set_image(None)
        self.image_view.set_message(
            "Open a study folder, a dataset, images or DICOMs\n(File ▸ Open, or drop them here)."
        )
        self.tags.clear()
        self._refresh_verdict()
        self._update_title()

    def show_view(self, index: int) -> None:
        current = self._current
        if current is None or not 0 <= index < len(current.paths):
            return
        current.view = index
        self.thumbnails.select(index)
        path = current.paths[index]
        view = current.study.views[index]
        if path in current.images:
            item = current.images[path]
            self.image_view.set_image(item.image)
            self._apply_heatmap()
            self.tags.set_tags(path.name, item.image.tags, view.is_dicom)
            self._update_captions()
            self.imageShown.emit(current.study.uid, index)
            self._release_deferred_model()
        elif path in current.failures:
            self.image_view.set_image(None)
            self.image_view.set_message(f"Cannot show this view.\n\n{current.failures[path]}")
            self.tags.clear(f"{path.name} — could not be read")
            self._release_deferred_model()
        else:
            self.image_view.set_image(None)
            self.image_view.set_message("Loading…")
            self.tags.clear(path.name)

    def step_view(self, offset: int) -> None:
        current = self._current
        if current is not None and current.paths:
            self.show_view(min(max(current.view + offset, 0), len(current.paths) - 1))

    def _on_image_loaded(self, request: int, path: Path, item: DisplayImage) -> None:
        if self._closing:
            return
        self._cache.put(path, item)
        current = self._current
        if current is None or request != current.request:
            return
        for i, p in enumerate(current.paths):
            if p == path:
                self._take_image(current, i, item)

    def _take_image(self, current: _Current, index: int, item: DisplayImage) -> None:
        path = current.paths[index]
        current.images[path] = item
        self.thumbnails.set_thumbnail(index, gray_qimage(item.thumbnail))
        if index == current.view:
            self.show_view(index)

    def _on_image_failed(self, request: int, path: Path, reason: str) -> None:
        current = self._current
        if self._closing or current is None or request != current.request:
            return
        if path not in self._unreadable:
            self._unreadable[path] = ScanProblem(path, f"could not be read: {reason}", FAILED)
            self._show_problem_count()
        for i, p in enumerate(current.paths):
            if p == path:
                current.failures[path] = reason
                self.thumbnails.set_failed(i, reason)
                if i == current.view:
                    self.show_view(i)

    # ====================================================================================
    # scores
    # ====================================================================================

    def _may_auto_score(self) -> bool:
        """Score on opening only with a model, and never over another model's scores
        (a results file without a model record counts as another model's)."""
        if self.model is None:
            return False
        if self.session.model_hash:
            return self.session.model_hash == self.model.content_hash
        return self.session.results_file is None

    def score_current_study(self) -> None:
        current = self._current
        if current is None:
            return
        if not self._require_model():
            return
        self._adopt_current_model()
        if current.job is not None:
            self.service.cancel(current.job)
        current.job = self.service.score_study(current.study)
        current.progress = None
        self._refresh_verdict()

    def _on_study_progress(self, job: int, done: int, total: int) -> None:
        current = self._current
        if current is not None and current.job == job:
            current.progress = (done, total)
            self._refresh_verdict()

    def _on_study_scored(self, job: int, prediction) -> None:
        current = self._current
        if self._closing or current is None or current.job != job:
            log.debug("dropping the result of request %d (study no longer on screen)", job)
            return
        result: StudyResult = prediction.result
        current.job = None
        current.progress = None
        if not self.session.model:
            self._adopt_current_model()
        self.session.put_result(result)
        self.session.put_heatmaps(result.uid, prediction.heatmaps)
        self.browser.result_changed(result.uid)
        self._apply_result(result)
        self._apply_heatmap()
        self._update_captions()
        self._refresh_verdict()
        self._schedule_metrics()
        self.resultShown.emit(result.uid)

    def _on_study_failed(self, job: int, message: str) -> None:
        current = self._current
        if current is not None and current.job == job:
            current.job = None
            current.progress = None
            self._refresh_verdict(status=f"NOT SCORED\n{message}")

    def _apply_result(self, result: StudyResult | None) -> None:
        """Badges on the thumbnails; a view the model could not read counts as failed even
        if the display loader has not answered yet."""
        current = self._current
        if result is None or current is None or result.uid != current.study.uid:
            return
        for i, view in enumerate(result.views[: len(current.paths)]):
            if view.error:
                self.thumbnails.set_failed(i, view.error)
                path = current.paths[i]
                if path not in current.images and path not in current.failures:
                    current.failures[path] = view.error
                    if i == current.view:
                        self.show_view(i)
            else:
                p = view.probability
                verdict = None if p is None else result.rule.verdict(p, result.body_part)
                self.thumbnails.set_probability(i, p, verdict)

    def _apply_heatmap(self) -> None:
        current = self._current
        if current is None or self.image_view.image is None:
            return
        heatmaps = self.session.heatmaps(current.study.uid) or {}
        heatmap = heatmaps.get(current.paths[current.view])
        if heatmap is not None and heatmap.shape != self.image_view.image.pixels.shape:
            log.warning("heatmap shape %s differs from the image; not shown", heatmap.shape)
            heatmap = None
        self.image_view.set_heatmap(heatmap)

    def _update_captions(self) -> None:
        current = self._current
        if current is None:
            return
        n = len(current.paths)
        path = current.paths[current.view] if n else None
        self.image_view.set_caption(
            "top_left", f"view {current.view + 1}/{n}" + (f" · {path.name}" if path else "")
        )
        result = self.session.results.get(current.study.uid)
        text = ""
        if result is not None and current.view < len(result.views):
            view = result.views[current.view]
            if view.probability is not None:
                text = f"p(abnormal) = {view.probability:.3f}"
        self.image_view.set_caption("top_right", text)

    def _refresh_verdict(self, status: str | None = None) -> None:
        current = self._current
        if current is None:
            self.verdict.show_state(None, None, "")
            return
        result = self.session.results.get(current.study.uid)
        if status is None:
            status = self._status_text(current)
        model = (
            self.session.model if result is not None else (self.model.record if self.model else {})
        )
        self.verdict.show_state(current.study, result, status, self._model_line(result), model)

    def _status_text(self, current: _Current) -> str:
        if current.job is not None:
            if current.progress is not None:
                done, total = current.progress
                return f"SCORING…\nview {min(done + 1, total)} of {total}"
            return "SCORING…\nimages are shown while the model runs"
        if self._model_loading and self.model is None:
            return "LOADING MODEL…\nscores follow when it is ready"
        if self.model is None:
            return (
                "NO MODEL\nImages only. Load a model bundle (Model ▸ Load bundle…) or "
                "train one (mura-train) to see scores and heatmaps."
            )
        if not self._may_auto_score():
            return (
                "NOT SCORED\nThe scores on screen came from another model; press F5 to "
                "score with the loaded one."
            )
        return "NOT SCORED"

    def _model_line(self, result: StudyResult | None) -> str:
        if result is None:
            return ""
        record = self.session.model
        name = record.get("name", "unknown model")
        digest = model_hash(record)[:12]
        source = f" · from {self.session.results_file.name}" if self.session.results_file else ""
        return f"Scored by {name}" + (f" ({digest})" if digest else "") + source

    def _require_model(self) -> bool:
        if self.model is None:
            self.report(
                "No model is loaded.",
                "Load a model bundle (Model ▸ Load bundle…) or train one first.",
            )
            return False
        return True

    def _adopt_current_model(self) -> None:
        if self.model is None:
            return
        if self.session.adopt_model(self.model.record):
            self.session.results_file = None
            self.browser.all_results_changed()
            self._schedule_metrics()
            self.statusBar().showMessage("Scores of the previous model were cleared.", 10_000)

    # ====================================================================================
    # dataset scoring
    # ====================================================================================

    def score_all(self) -> None:
        """Score every study without a score from the loaded model, in the background."""
        if not self._require_model():
            return
        if self._dataset_job is not None:
            return
        self._adopt_current_model()
        todo = [s for s in self.session.studies if s.uid not in self.session.results]
        if not todo:
            self.statusBar().showMessage("Every study is already scored.", 5000)
            return
        self._dataset_job = self.service.score_dataset(todo)
        self.progress.start(len(todo))
        if any(s.label is not None for s in todo):
            self._show_metrics()

    def cancel_scoring(self) -> None:
        if self._dataset_job is not None:
            self.service.cancel(self._dataset_job)

    def _on_pause_toggled(self, paused: bool) -> None:
        if self._dataset_job is not None:
            self.service.pause(self._dataset_job, paused)

    def _on_dataset_study(self, job: int, result: StudyResult) -> None:
        if self._closing or job != self._dataset_job:
            return
        self.session.put_result(result)
        self.browser.result_changed(result.uid)
        current = self._current
        if current is not None and current.study.uid == result.uid:
            self._apply_result(result)
            self._update_captions()
            self._refresh_verdict()
        self._schedule_metrics()

    def _on_dataset_progress(self, job: int, done: int, total: int) -> None:
        if job == self._dataset_job:
            self.progress.update_progress(done)

    def _on_dataset_finished(self, job: int, cancelled: bool) -> None:
        if job != self._dataset_job:
            return
        self._dataset_job = None
        done = self.progress.clock.done if self.progress.clock else 0
        self.progress.finish()
        self.browser.resort()
        self.browser.refresh_summary()
        word = "Cancelled after" if cancelled else "Scored"
        self.statusBar().showMessage(f"{word} {done:,} studies.", 10_000)
        self._refresh_metrics()
        self.datasetFinished.emit(cancelled)

    def _schedule_metrics(self) -> None:
        if not self._metrics_timer.isActive():
            self._metrics_timer.start()

    def _refresh_metrics(self) -> None:
        if self._closing:
            return
        results = list(self.session.results.values())
        threshold = results[0].rule.threshold if results else None
        self.metrics_panel.set_results(results, threshold, self.session.model)

    # ====================================================================================
    # the model
    # ====================================================================================

    def choose_model_file(self) -> None:
        start = str(Path(self.settings.model_path).parent) if self.settings.model_path else ""
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Load a model bundle",
            start,
            f"MURA Desktop models (*{MODEL_SUFFIX});;All files (*)",
        )
        if path:
            self.load_model(Path(path))

    def load_model(
        self, path: Path, device: str | None = None, threshold: float | None = None
    ) -> int:
        """Load a bundle in the background; work running with the old model is cancelled."""
        self._deferred_model = None
        self.cancel_scoring()
        current = self._current
        if current is not None and current.job is not None:
            self.service.cancel(current.job)
            current.job = None
        device = device or self.settings.device
        if threshold is None:
            threshold = self.settings.threshold_for(path)
        self._model_job = self.service.load_model(Path(path), device, threshold)
        self.model_label.setText(f"Loading model {Path(path).name}…")
        self._refresh_verdict()
        return self._model_job

    def _on_model_loaded(self, job: int, info: ModelInfo) -> None:
        if self._closing:
            return
        # The worker now runs this model, whichever request it answers.
        previous = self.model
        self.model = info
        if job == self._model_job:
            self._model_job = None
            self.settings.model_path = str(info.path)
        same_model = self.session.model_hash == info.content_hash
        if (
            same_model
            and self.session.results
            and previous is not None
            and (previous.rule != info.rule)
        ):
            self.session.apply_rule(info.rule)
            self.browser.all_results_changed()
            self._schedule_metrics()
        elif self.session.results_file is None:
            self._adopt_current_model()
        for note in info.notes:
            self.statusBar().showMessage(note, 15_000)
        self._show_model_state()
        self.modelChanged.emit(info)
        current = self._current
        if current is not None and self._may_auto_score() and self._model_job is None:
            needs = (
                self.session.results.get(current.study.uid) is None
                or self.session.heatmaps(current.study.uid) is None
            )
            if needs:
                current.job = self.service.score_study(current.study)
        self._refresh_verdict()

    def _on_model_failed(self, job: int, message: str) -> None:
        if job != self._model_job:
            return
        self._model_job = None
        self._show_model_state()
        self._refresh_verdict()
        self.report(
            f"Could not load the model: {message}",
            "Choose a .mura bundle (Model ▸ Load bundle…), or import a DenseNet "
            "checkpoint (Model ▸ Model settings… ▸ Import checkpoint…).",
        )

    @property
    def _model_loading(self) -> bool:
        return self._model_job is not None or self._deferred_model is not None

    def _show_model_state(self) -> None:
        info = self.model
        if info is None:
            loading = self._model_loading
            self.model_label.setText("Loading model…" if loading else "No model")
            self.no_model_banner.setVisible(not loading)
            self.demo_banner.hide()
            return
        self.no_model_banner.hide()
        self.demo_banner.setText(demo_text(info.name))
        self.demo_banner.setVisible(info.demo)
        demo = " [DEMO]" if info.demo else ""
        self.model_label.setText(f"Model: {info.name}{demo} · {info.device}")
        self.model_label.setToolTip(info.description)

    def show_model_dialog(self) -> None:
        info = self.model
        dialog = ModelDialog(
            bundle=info.bundle if info is not None else None,
            model_path=str(info.path) if info is not None else self.settings.model_path,
            device=self.settings.device,
            threshold=info.rule.threshold
            if info is not None
            else self.settings.threshold_for(self.settings.model_path),
            cuda_available=None if "torch" in sys.modules else False,
            parent=self,
        )
        dialog.settingsChosen.connect(self._on_model_settings_chosen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.model_dialog = dialog
        dialog.destroyed.connect(lambda: setattr(self, "model_dialog", None))
        dialog.open()

    def _on_model_settings_chosen(self, path: str, device: str, threshold: float) -> None:
        self.settings.device = device
        if path:
            self.settings.set_threshold_for(path, threshold)
            self.settings.model_path = path
            self.load_model(Path(path), device, threshold)

    def choose_comparison(self) -> None:
        results = list(self.session.results.values())
        dialog = CompareDialog.choose(self, results, self.session.model)
        if dialog is not None:
            self.compare_dialog = dialog
            dialog.studyChosen.connect(lambda uid: self.browser.select(uid) or self.show_study(uid))
            dialog.comparisonReady.connect(
                lambda c: self.browser.set_comparison([d.uid for d in c.disagreements], c.name_b)
            )

    def show_train_window(self) -> None:
        if self.train_window is None:
            self.train_window = TrainWindow()
            self.train_window.openModel.connect(lambda path: self.load_model(Path(path)))
            folders = [p for p in self.session.sources if p.is_dir()]
            if folders:
                self.train_window.set_dataset(folders[0])
        self.train_window.show()
        self.train_window.raise_()

    def _training_allows_quit(self) -> bool:
        """A running training is stopped or left running on its own, as the user says."""
        return self.train_window is None or self.train_window.settle_before_quit(self)

    # ====================================================================================
    # display options
    # ====================================================================================

    def set_heatmap_visible(self, visible: bool) -> None:
        self.image_view.set_heatmap_visible(visible)
        for control in (self.act_heatmap, self.heatmap_bar.toggle):
            control.blockSignals(True)
            control.setChecked(visible)
            control.blockSignals(False)

    def _nudge_opacity(self, delta: float) -> None:
        opacity = min(max(self.image_view.heatmap_opacity + delta, 0.0), 1.0)
        self.heatmap_bar.set_state(self.image_view.heatmap_visible, opacity)

    def set_grouped(self, grouped: bool) -> None:
        self.browser.set_grouped(grouped)

    # ====================================================================================
    # saving and exporting (never into the data folders)
    # ====================================================================================

    def choose_results_target(self) -> None:
        if not self.session.results:
            self.report(
                "There are no scores to save yet.",
                "Score the studies first (Study ▸ Score all studies).",
            )
            return
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save results",
            self._save_dir("results.json"),
            "JSON, re-openable (*.json);;CSV, one row per view (*.csv)",
        )
        if path:
            self.save_results(Path(path))

    def save_results(self, path: Path) -> bool:
        if not self._writable_target(path):
            return False
        try:
            if path.suffix.lower() == ".csv":
                self.session.result_set().to_csv(path)
            else:
                path = path if path.suffix else path.with_suffix(".json")
                self.session.result_set().to_json(path)
        except OSError as exc:
            self.report(
                f"Could not save {path}: {exc.strerror or exc}", "Choose a folder you can write to."
            )
            return False
        self.settings.last_save_dir = str(path.parent)
        self.statusBar().showMessage(
            f"Saved {len(self.session.results):,} results to {path}", 10_000
        )
        return True

    def choose_png_target(self) -> None:
        current = self._current
        if current is None or self.image_view.image is None:
            return
        view = current.paths[current.view].stem
        name = f"{_safe_name(current.study.name)}_{_safe_name(view)}.png"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export view", self._save_dir(name), "PNG (*.png)"
        )
        if path:
            self.export_png(Path(path))

    def export_png(self, path: Path) -> bool:
        from PIL import Image

        if self.image_view.image is None or not self._writable_target(path):
            return False
        try:
            Image.fromarray(np.ascontiguousarray(self.image_view.rendered_rgb())).save(path, "PNG")
        except OSError as exc:
            self.report(f"Could not write {path}: {exc}", "Choose a folder you can write to.")
            return False
        self.settings.last_save_dir = str(path.parent)
        self.statusBar().showMessage(f"Exported {path}", 10_000)
        return True

    def choose_report_target(self) -> None:
        current = self._current
        if current is None or current.study.uid not in self.session.results:
            self.report("This study has no scores to report.", "Score it first (F5).")
            return
        name = f"{_safe_name(current.study.name)}_report.pdf"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export report", self._save_dir(name), "PDF (*.pdf)"
        )
        if path:
            self.export_report(Path(path))

    def export_report(self, path: Path) -> bool:
        current = self._current
        if current is None or not self._writable_target(path):
            return False
        result = self.session.results.get(current.study.uid)
        if result is None:
            return False
        images = {p: item.image for p, item in current.images.items()}
        heatmaps = self.session.heatmaps(current.study.uid) or {}
        try:
            write_study_report(path, result, images, heatmaps, dict(self.session.model))
        except OSError as exc:
            self.report(f"Could not write {path}: {exc}", "Choose a folder you can write to.")
            return False
        self.settings.last_save_dir = str(path.parent)
        self.statusBar().showMessage(f"Wrote report {path}", 10_000)
        return True

    def _save_dir(self, name: str) -> str:
        folder = self.settings.last_save_dir or str(Path.home())
        if self._inside_data(Path(folder)):
            folder = str(Path.home())
        return str(Path(folder) / name)

    def _inside_data(self, path: Path) -> bool:
        roots = list(self.session.sources)
        roots += [s.folder for s in self.session.studies if s.folder is not None]
        return data_folder_holding(path, roots) is not None

    def _writable_target(self, path: Path) -> bool:
        if self._inside_data(path):
            self.report(
                f"{path} is inside the data you opened.",
                "MURA Desktop never writes into your data folders: choose another folder.",
            )
            return False
        return True

    # ====================================================================================
    # help, messages, title
    # ====================================================================================

    def skipped_problems(self) -> list[ScanProblem]:
        """What the last scan skipped, and the views it found that could not be read."""
        return [*self.session.problems, *self._unreadable.values()]

    def _show_problem_count(self) -> None:
        counts = problem_counts(self.skipped_problems())
        self.skipped_button.setText(f"Skipped: {counts}…")
        self.skipped_button.setVisible(bool(counts))

    def show_skipped_files(self) -> None:
        dialog = SkippedFilesDialog(self.skipped_problems(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.skipped_dialog = dialog
        dialog.open()

    def show_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self.actions(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About MURA Desktop",
            f"<b>MURA Desktop {__version__}</b><p>Musculoskeletal radiograph abnormality "
            "viewer. Research use only: not a medical device, not for diagnosis.</p>",
        )

    def report(self, what: str, todo: str) -> None:
        """Tell the user about a known problem: what happened and what to do."""
        self.statusBar().showMessage(what, 15_000)
        self.messageShown.emit(f"{what} {todo}")
        show_problem(self, what, todo)

    def _on_worker_crashed(self, job: int, details: str) -> None:
        log.error("inference request %d failed unexpectedly:\n%s", job, details)
        if job == self._model_job:
            self._model_job = None
            self._show_model_state()
        current = self._current
        if current is not None and current.job == job:
            current.job = None
            current.progress = None
            self._refresh_verdict(status="NOT SCORED\nthe model failed on this study (see log)")
        if job == self._dataset_job:
            self._on_dataset_finished(job, True)
        last = details.strip().splitlines()[-1] if details.strip() else "unknown error"
        self.messageShown.emit(last)
        show_unexpected(self, f"The model failed: {last}", details)

    def _update_title(self) -> None:
        # Qt appends the application display name ("MURA Desktop") to every window title.
        parts = [", ".join(name for name, _ in self.session.groups)]
        if self._current is not None:
            parts.append(self._current.study.name)
        self.setWindowTitle(" — ".join(p for p in parts if p))


def _local_paths(mime) -> list[Path]:
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def _describe_paths(paths: Sequence[Path]) -> str:
    return str(paths[0]) if len(paths) == 1 else f"{len(paths)} items"


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip("_") or "study"
