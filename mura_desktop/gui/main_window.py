"""The main window: the widgets, docks and status bar around a ``ViewerModel``.

Images first, scores after: opening a study shows its pixels as soon as the loader threads
have decoded them; the inference worker's results follow. What is open and what happens
next is the viewer model's to decide (``gui/viewer_model.py``); this class forwards the
user's commands and the workers' answers to it and redraws on its events. Actions and menus
are in ``gui/actions.py``, saving and exporting in ``gui/exports.py``, the secondary
windows in ``gui/window_dialogs.py``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from mura_desktop.gui.actions import build_actions, build_menus, check_display_actions
from mura_desktop.gui.banners import DEMO_STYLE, INFO_STYLE, NO_MODEL_HTML, Banner, demo_text
from mura_desktop.gui.dicom_actions import DicomActions
from mura_desktop.gui.dicom_tags import DicomTagsPanel
from mura_desktop.gui.exports import Exports
from mura_desktop.gui.focus_keys import NavigationKeyGuard
from mura_desktop.gui.heatmap_bar import HeatmapBar
from mura_desktop.gui.image_view import ImageView
from mura_desktop.gui.layout_guard import WindowLayout
from mura_desktop.gui.loader import BackgroundLoader
from mura_desktop.gui.loupe import Loupe
from mura_desktop.gui.measure_tool import MeasureController
from mura_desktop.gui.messages import show_problem, show_unexpected
from mura_desktop.gui.metrics_dock import MetricsDock
from mura_desktop.gui.model_loading import BundleLoader, ModelFactory
from mura_desktop.gui.opening import Opener, local_paths, startup_model_path
from mura_desktop.gui.settings import Settings
from mura_desktop.gui.status_area import StatusArea
from mura_desktop.gui.study_browser import StudyBrowser
from mura_desktop.gui.study_display import StudyDisplay
from mura_desktop.gui.thumbnails import ThumbnailStrip
from mura_desktop.gui.verdict_panel import VerdictPanel
from mura_desktop.gui.view_grid import ViewGrid
from mura_desktop.gui.viewer_model import ViewerModel
from mura_desktop.gui.viewer_state import DISPLAY_SETTINGS
from mura_desktop.gui.window_dialogs import WindowDialogs
from mura_desktop.gui.worker import InferenceService

log = logging.getLogger(__name__)


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

    def __init__(
        self,
        settings: Settings,
        model_factory: ModelFactory | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.window_layout = WindowLayout(self)
        self.loader = BackgroundLoader(parent=self)
        self.service = InferenceService(
            model_factory or BundleLoader(backend=lambda: settings.backend), parent=self
        )
        self.viewer = ViewerModel(
            self.service, threshold_for=settings.threshold_for, device=lambda: settings.device
        )
        self.exports = Exports(self)
        self.dialogs = WindowDialogs(self)
        self.dicom = DicomActions(self)
        self.display = StudyDisplay(self)
        self.opener = Opener(self)

        self._build_widgets()
        build_actions(self)
        build_menus(self)
        self._connect()
        self.installEventFilter(NavigationKeyGuard(self))
        self.image_view.setFocus()
        self._restore_settings()
        self._on_model(None)
        self.display.refresh_verdict()
        self.setAcceptDrops(True)
        self.update_title()

    # The commands tests and other windows use.
    def open_paths(self, paths: Sequence[Path]) -> None:
        self.opener.open_paths(paths)

    def show_study(self, uid: str) -> None:
        self.display.show_study(uid)

    def show_view(self, index: int) -> None:
        self.display.show_view(index)

    def step_view(self, offset: int) -> None:
        self.display.step_view(offset)

    @property
    def session(self):
        return self.viewer.session

    @property
    def model(self):
        return self.viewer.model

    # --- construction -------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.window_layout.first_size()
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
        for widget in (self.demo_banner, self.no_model_banner):
            column.addWidget(widget)
        self.grid = ViewGrid(self.image_view)
        self.grid.cellClicked.connect(self.show_view)
        self.loupe = Loupe(self.image_view)
        column.addWidget(self.grid, 1)
        column.addWidget(self.heatmap_bar)
        column.addWidget(self.thumbnails)
        self.setCentralWidget(central)

        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.browser = StudyBrowser()
        self.verdict = VerdictPanel()
        self.tags = DicomTagsPanel()
        self.browser_dock = self._dock("Studies", self.browser, left)
        self.verdict_dock = self._dock("Verdict", self.verdict, right)
        self.tags_dock = self._dock("Header", self.tags, right)
        self.metrics = MetricsDock(self)
        self.metrics_dock = self.metrics.dock
        self.measure = MeasureController(self, lambda text: self.statusBar().showMessage(text))
        self.measure_dock = self._dock("Measurements", self.measure.panel, right)
        self.tabifyDockWidget(self.tags_dock, self.measure_dock)
        self.tags_dock.raise_()
        self.docks = [
            self.browser_dock,
            self.verdict_dock,
            self.tags_dock,
            self.measure_dock,
            self.metrics_dock,
        ]
        self.browser_dock.setMinimumWidth(300)
        self.verdict_dock.setMinimumWidth(300)

        self.status = StatusArea(self.statusBar())
        self.progress = self.status.progress

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _connect(self) -> None:
        v = self.viewer
        self.browser.studySelected.connect(self.show_study)
        self.thumbnails.viewSelected.connect(self.show_view)
        self.image_view.pixelHovered.connect(self.status.pixel_label.setText)
        self.heatmap_bar.visibilityToggled.connect(lambda on: v.set_display(heatmap_visible=on))
        self.heatmap_bar.opacityChanged.connect(lambda o: v.set_display(heatmap_opacity=o))
        self.no_model_banner.linkActivated.connect(lambda _href: self.dialogs.choose_model_file())
        self.progress.pauseToggled.connect(v.dataset.pause)
        self.progress.cancelRequested.connect(self.cancel_scoring)
        self.status.skipped_button.clicked.connect(self.dialogs.show_skipped_files)

        self.loader.imageLoaded.connect(self.display.on_image_loaded)
        self.loader.imageFailed.connect(v.image_failed)
        self.loader.scanFinished.connect(self.opener.on_scan_finished)
        self.loader.scanFailed.connect(self.opener.on_scan_failed)

        s = self.service
        s.modelLoaded.connect(self._on_model_loaded)
        s.modelFailed.connect(v.model_failed)
        s.runtimeChanged.connect(v.runtime_changed)
        s.studyProgress.connect(v.study_progress)
        s.studyScored.connect(v.study_scored)
        s.studyFailed.connect(v.study_failed)
        s.datasetStudyScored.connect(v.dataset_study)
        s.datasetProgress.connect(lambda job, done, _total: v.dataset.progress(job, done))
        s.datasetFinished.connect(v.dataset.finished)
        s.crashed.connect(self._on_worker_crashed)

        for event, handler in (
            ("session", self._on_session),
            ("study", self.display.on_study),
            ("images", self.display.on_images),
            ("result", self.display.on_result),
            ("results", self._on_results),
            ("verdict", self.display.refresh_verdict),
            ("model", self._on_model),
            ("message", lambda text: self.statusBar().showMessage(text, 15_000)),
            ("problem", self.report),
            ("problems", self._show_problem_count),
            ("dataset", self._on_dataset),
            ("display", self._on_display),
        ):
            v.subscribe(event, handler)

    # --- start, settings, close ---------------------------------------------------------

    def start(
        self, paths: Sequence[Path] = (), model: str | os.PathLike[str] | None = None
    ) -> None:
        """After the window is shown: open ``paths`` and load the model in the background
        (after the first image, when there are paths)."""
        model_path = startup_model_path(self.settings, model)
        if paths:
            self.viewer.deferred_model = model_path
            self._on_model(None)
            self.open_paths(paths)
        else:
            self.viewer.start([], model_path)

    def _restore_settings(self) -> None:
        s = self.settings
        self.window_layout.restore(s)
        self.viewer.set_display(**{name: getattr(s, key) for name, key in DISPLAY_SETTINGS.items()})

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.window_layout.shown()

    def save_settings(self) -> None:
        s, display = self.settings, self.viewer.display
        self.window_layout.save(s)
        for name, key in DISPLAY_SETTINGS.items():
            setattr(s, key, getattr(display, name))
        s.sync()

    def closeEvent(self, event) -> None:
        if not self.dialogs.training_allows_quit():
            event.ignore()
            return
        self.dialogs.close_training()
        self.viewer.closing = True
        self.save_settings()
        self.service.shutdown()
        self.dicom.shutdown()
        self.loader.shutdown()
        self.metrics.shutdown()
        super().closeEvent(event)

    # --- opening things -----------------------------------------------------------------

    def _on_session(self) -> None:
        session = self.viewer.session
        self.display.cache.clear()
        self.browser.set_collection(session.groups, session.results, self.viewer.display.grouped)
        self.update_title()
        self.schedule_metrics()
        if not self.browser.select_first():
            self.viewer.clear_study()

    def dragEnterEvent(self, event) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # --- scores -------------------------------------------------------------------------

    def _on_results(self) -> None:
        self.browser.all_results_changed()
        self.schedule_metrics()
        self.display.show_badges()
        self.display.refresh_verdict()

    def score_all(self) -> None:
        """Score every study without a score from the loaded model, in the background."""
        todo = self.viewer.score_all()
        if any(s.label is not None for s in todo):
            self.metrics.show()

    def cancel_scoring(self) -> None:
        self.viewer.dataset.cancel()

    def _on_dataset(self, state: str, number: int) -> None:
        if self.status.dataset(state, number) is not None:
            self.browser.resort()
            self.browser.refresh_summary()
            self.refresh_metrics()
            self.datasetFinished.emit(bool(number))

    def schedule_metrics(self) -> None:
        self.metrics.schedule()

    def refresh_metrics(self) -> None:
        self.metrics.refresh()

    # --- the model ----------------------------------------------------------------------

    def load_model(
        self, path: Path, device: str | None = None, threshold: float | None = None
    ) -> int:
        """Load a bundle in the background; work running with the old model is cancelled."""
        job = self.viewer.load_model(Path(path), device, threshold)
        self.status.show_loading(Path(path).name)
        return job

    def _on_model_loaded(self, job: int, info) -> None:
        if self.viewer.closing:
            return
        if self.viewer.model_loaded(job, info):
            self.settings.model_path = str(info.path)
        self.modelChanged.emit(info)

    def _on_model(self, info) -> None:
        viewer = self.viewer
        self.status.show_model(info, viewer.model_loading, viewer.threshold_origin)
        self.no_model_banner.setVisible(info is None and not viewer.model_loading)
        self.demo_banner.setVisible(info is not None and info.demo)
        if info is not None:
            self.demo_banner.setText(demo_text(info.name))

    # --- display options ----------------------------------------------------------------

    def _on_display(self) -> None:
        display = self.viewer.display
        style = display.heatmap_style()
        self.image_view.set_heatmap_visible(display.heatmap_visible)
        self.image_view.set_heatmap_style(style)
        self.heatmap_bar.blockSignals(True)
        self.heatmap_bar.set_state(display.heatmap_visible, display.heatmap_opacity)
        self.heatmap_bar.set_legend(style)
        self.heatmap_bar.blockSignals(False)
        check_display_actions(self, display)
        self.browser.set_grouped(display.grouped)
        if self.display.view_heatmap() is not self.image_view.heatmap:
            self.display.show_heatmap()  # another kind of map was chosen
        self.display.refresh_grid()

    def nudge_opacity(self, delta: float) -> None:
        display = self.viewer.display
        self.viewer.set_display(heatmap_opacity=display.heatmap_opacity + delta)

    # --- messages and title -------------------------------------------------------------

    def _show_problem_count(self) -> None:
        self.status.show_problems(self.viewer.skipped_problems())

    def report(self, what: str, todo: str) -> None:
        """Tell the user about a known problem: what happened and what to do."""
        self.statusBar().showMessage(what, 15_000)
        self.messageShown.emit(f"{what} {todo}")
        show_problem(self, what, todo)

    def _on_worker_crashed(self, job: int, details: str) -> None:
        log.error("inference request %d failed unexpectedly:\n%s", job, details)
        self.viewer.worker_crashed(job)
        last = details.strip().splitlines()[-1] if details.strip() else "unknown error"
        self.messageShown.emit(last)
        show_unexpected(self, f"The model failed: {last}", details)

    def update_title(self) -> None:
        # Qt appends the application display name ("MURA Desktop") to every window title.
        viewer = self.viewer
        parts = [", ".join(name for name, _ in viewer.session.groups)]
        if viewer.current is not None:
            parts.append(viewer.current.study.name)
        self.setWindowTitle(" — ".join(p for p in parts if p))
