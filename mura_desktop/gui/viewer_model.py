"""The viewer's state and decisions, without Qt: what is open, what is on screen, which
model scores it with which threshold, and when work starts, stops or is thrown away.

The window is its view: it forwards what the user does and what the background workers
answer, and redraws on the events this model emits (``subscribe``). Every background
request has an id; an answer for a study the user has left, or for a model since
replaced, is dropped here.

Events (name: arguments)
------------------------
``session``: () a new collection is open · ``study``: () another study (or none) is on
screen · ``images``: (indices) views of the current study that arrived or failed ·
``result``: (uid) one study's scores changed · ``results``: () every score may have
changed (model replaced, rule changed) · ``verdict``: (status or None) the verdict panel's
state changed · ``model``: (ModelInfo or None) · ``message``: (text) a status-bar line ·
``problem``: (what, todo) a known problem to show the user · ``problems``: () the skipped
files list changed · ``dataset``: (state, number) "started" with the study count,
"progress" with studies done, "finished" with 1 if cancelled · ``display``: () heatmap
visibility, opacity or grouping changed · ``measurements``: (view path) a view's
measurements changed.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mura_desktop.core.measure import Measurement
from mura_desktop.core.results import ResultSet, StudyResult
from mura_desktop.core.study import FAILED, Scan, ScanProblem, Study
from mura_desktop.gui.dataset_run import DatasetRun
from mura_desktop.gui.events import EventSource
from mura_desktop.gui.model_info import ModelInfo
from mura_desktop.gui.session import Session
from mura_desktop.gui.verdict_text import MODEL_FAILED_TODO, NO_MODEL_PROBLEM
from mura_desktop.gui.viewer_state import (
    BUNDLE_THRESHOLD,
    SAVED_THRESHOLD,
    CurrentStudy,
    DisplayState,
    Scoring,
)

log = logging.getLogger(__name__)


class ViewerModel(EventSource):
    """Parameters
    ----------
    scoring
        The inference service that runs jobs in the background.
    threshold_for
        The threshold saved for a bundle file, or None for the bundle's own.
    device
        The device to load models on unless one is given.
    """

    _ids = itertools.count(1)

    def __init__(
        self,
        scoring: Scoring,
        threshold_for: Callable[[Path], float | None] = lambda _path: None,
        device: Callable[[], str] = lambda: "auto",
    ) -> None:
        super().__init__()
        self.scoring = scoring
        self._threshold_for = threshold_for
        self._device = device
        self.session = Session()
        self.model: ModelInfo | None = None
        self.threshold_origin = BUNDLE_THRESHOLD
        self.current: CurrentStudy | None = None
        self.display = DisplayState()
        self.scan_request = 0
        self.scan_inputs: list[Path] = []
        self.model_job: int | None = None
        self.dataset = DatasetRun(scoring, self._emit)
        self.deferred_model: Path | None = None
        self.closing = False
        self._unreadable: dict[Path, ScanProblem] = {}  # views found by the scan, undecodable

    # --- decisions ----------------------------------------------------------------------

    def may_auto_score(self) -> bool:
        """Score on opening only with a model, and never over another model's scores
        (a results file without a model record counts as another model's)."""
        if self.model is None:
            return False
        if self.session.model.content_hash:
            return self.session.model.content_hash == self.model.content_hash
        return self.session.results_file is None

    def needs_scoring(self, uid: str) -> bool:
        """A study on screen is scored again when its scores or its heatmaps are missing."""
        return self.session.results.get(uid) is None or self.shown_heatmaps(uid) is None

    def shown_heatmaps(self, uid: str) -> dict[Path, Any] | None:
        """A study's maps of the kind on screen (``display.map_kind``), or None."""
        return self.session.heatmaps(uid, self.display.map_kind)

    @property
    def model_loading(self) -> bool:
        return self.model_job is not None or self.deferred_model is not None

    def skipped_problems(self) -> list[ScanProblem]:
        """What the last scan skipped, and the views it found that could not be read."""
        return [*self.session.problems, *self._unreadable.values()]

    # --- opening ------------------------------------------------------------------------

    def start(self, paths: Sequence[Path], model_path: Path | None) -> None:
        """Open ``paths`` and load ``model_path``. With paths, the model waits until the
        first image is on screen (or nothing can be shown): importing torch holds the
        interpreter for seconds and would delay it."""
        if not paths:
            if model_path is not None:
                self.load_model(model_path)
            return
        self.deferred_model = model_path
        self._emit("model", self.model)
        self.begin_scan(paths)

    def release_deferred_model(self) -> None:
        if self.deferred_model is not None:
            self.load_model(self.deferred_model)

    def begin_scan(self, paths: Sequence[Path]) -> int:
        """A new scan request: only its answer will be taken."""
        self.scan_request = next(self._ids)
        self.scan_inputs = list(paths)
        return self.scan_request

    def scan_finished(self, request: int, scan: Scan) -> Session | None:
        """Open what the scan found; None when the answer is stale."""
        if request != self.scan_request or self.closing:
            return None
        self.dataset.cancel()
        session = Session.from_scan(scan, self.scan_inputs)
        if self.model is not None:
            session.adopt_model(self.model.record)
        self.set_session(session)
        if not session.studies:
            self.release_deferred_model()
        return session

    def scan_failed(self, request: int) -> bool:
        if request != self.scan_request:
            return False
        self.release_deferred_model()
        return True

    def open_results(self, results: ResultSet, path: Path) -> None:
        """Scores from a file come back without running the model."""
        self.dataset.cancel()
        self.set_session(Session.from_results(results, path))

    def set_session(self, session: Session) -> None:
        self._cancel_study_job()
        self.session = session
        self.current = None
        self._unreadable.clear()
        self._emit("session")
        self._emit("problems")

    # --- the study and view on screen ---------------------------------------------------

    def show_study(self, uid: str) -> CurrentStudy | None:
        """Make ``uid`` current (None if unknown or already current) and start scoring it
        when the policy says so. The window then asks the loader for its pixels."""
        study = self.session.study(uid)
        if study is None or (self.current is not None and self.current.study.uid == uid):
            return None
        self._cancel_study_job()
        current = self.current = CurrentStudy(study, next(self._ids))
        if self.may_auto_score() and self.needs_scoring(uid):
            current.job = self._score(study)
        self._emit("study")
        return current

    def clear_study(self) -> None:
        self.release_deferred_model()
        self.current = None
        self._emit("study")

    def select_view(self, index: int) -> bool:
        return self.current is not None and self.current.select(index)

    def step_view(self, offset: int) -> int | None:
        return self.current.step(offset) if self.current is not None else None

    def _showing(self, request: int) -> CurrentStudy | None:
        """The study on screen if ``request`` (a display-loader request) is its own."""
        current = self.current
        if self.closing or current is None or request != current.request:
            return None
        return current

    def image_arrived(self, request: int, path: Path, item: Any) -> None:
        current = self._showing(request)
        if current is None:
            return
        indices = current.indices(path)
        if indices:
            current.images[path] = item
            self._emit("images", indices)

    def image_failed(self, request: int, path: Path, reason: str) -> None:
        current = self._showing(request)
        if current is None:
            return
        if path not in self._unreadable:
            self._unreadable[path] = ScanProblem(path, f"could not be read: {reason}", FAILED)
            self._emit("problems")
        indices = current.indices(path)
        if indices:
            current.failures[path] = reason
            self._emit("images", indices)

    # --- scores -------------------------------------------------------------------------

    def require_model(self) -> bool:
        if self.model is None:
            self._emit("problem", *NO_MODEL_PROBLEM)
        return self.model is not None

    def adopt_loaded_model(self) -> None:
        """The session's scores become the loaded model's: another model's are dropped."""
        if self.model is None:
            return
        if self.session.adopt_model(self.model.record):
            self.session.results_file = None
            self._emit("results")
            self._emit("message", "Scores of the previous model were cleared.")

    def score_current_study(self) -> None:
        current = self.current
        if current is None or not self.require_model():
            return
        self.adopt_loaded_model()
        self._cancel_study_job()
        current.job = self._score(current.study)
        self._emit("verdict", None)

    def _scoring(self, job: int) -> CurrentStudy | None:
        """The study on screen if ``job`` is the one scoring it."""
        current = self.current
        return current if current is not None and current.job == job else None

    def study_progress(self, job: int, done: int, total: int) -> None:
        if (current := self._scoring(job)) is not None:
            current.progress = (done, total)
            self._emit("verdict", None)

    def study_scored(self, job: int, prediction: Any) -> None:
        current = self._scoring(job)
        if self.closing or current is None:
            log.debug("dropping the result of request %d (study no longer on screen)", job)
            return
        result: StudyResult = prediction.result
        current.job_over()
        if not self.session.model:
            self.adopt_loaded_model()
        self.session.put_result(result)
        self.session.put_heatmaps(result.uid, prediction.heatmaps, prediction.map_kind)
        self._take_view_errors(result)
        self._emit("result", result.uid)

    def study_failed(self, job: int, message: str) -> None:
        if (current := self._scoring(job)) is not None:
            current.job_over()
            self._emit("verdict", f"NOT SCORED\n{message}")

    def _score_current_if_due(self) -> None:
        """Score the study on screen when the policy says so and nothing is loading or
        scoring it already."""
        current = self.current
        if (
            current is not None
            and current.job is None
            and self.model_job is None
            and self.may_auto_score()
            and self.needs_scoring(current.study.uid)
        ):
            current.job = self._score(current.study)

    def _score(self, study: Study) -> int:
        return self.scoring.score_study(study, maps=self.display.map_kind)

    def _cancel_study_job(self) -> None:
        if self.current is not None and self.current.job is not None:
            self.scoring.cancel(self.current.job)
            self.current.job_over()

    def _take_view_errors(self, result: StudyResult) -> None:
        if self.current is not None and result.uid == self.current.study.uid:
            self.current.take_view_errors(result.views)

    def score_all(self) -> list[Study]:
        """Score every study without a score from the loaded model, in the background;
        returns the studies queued."""
        if not self.require_model() or self.dataset.job is not None:
            return []
        self.adopt_loaded_model()
        todo = [s for s in self.session.studies if s.uid not in self.session.results]
        if not todo:
            self._emit("message", "Every study is already scored.")
            return []
        self.dataset.start(todo)
        return todo

    def dataset_study(self, job: int, result: StudyResult) -> None:
        if self.closing or not self.dataset.answers(job):
            return
        self.session.put_result(result)
        self._take_view_errors(result)
        self._emit("result", result.uid)

    # --- the model ----------------------------------------------------------------------

    def load_model(
        self, path: Path, device: str | None = None, threshold: float | None = None
    ) -> int:
        """Load a bundle in the background; work running with the old model is cancelled.
        Without ``threshold``, the one saved for this bundle file applies, else its own."""
        self.deferred_model = None
        self.dataset.cancel()
        self._cancel_study_job()
        if threshold is None:
            threshold = self._threshold_for(Path(path))
        self.threshold_origin = BUNDLE_THRESHOLD if threshold is None else SAVED_THRESHOLD
        self.model_job = self.scoring.load_model(Path(path), device or self._device(), threshold)
        self._emit("verdict", None)
        return self.model_job

    def model_loaded(self, job: int, info: ModelInfo) -> bool:
        """The worker now runs ``info``'s model, whichever request it answers. Returns True
        when it answers the latest request (the one to remember)."""
        if self.closing:
            return False
        previous, self.model = self.model, info
        latest = job == self.model_job
        if latest:
            self.model_job = None
        same_model = self.session.model.content_hash == info.content_hash
        rule_changed = previous is not None and previous.rule != info.rule
        if same_model and self.session.results and rule_changed:
            self.session.apply_rule(info.rule)  # a new threshold: re-decide, recompute nothing
            self._emit("results")
        elif self.session.results_file is None:
            self.adopt_loaded_model()
        for note in info.notes:
            self._emit("message", note)
        self._emit("model", info)
        self._score_current_if_due()
        self._emit("verdict", None)
        return latest

    def runtime_changed(self, info: ModelInfo) -> None:
        """The loaded model moved to the runtime its probe chose (a machine's first load of
        it): what the status bar and the session's model record name from now on. The scores
        made before stand: the probe's choice passed the guard against the runtime that made
        them."""
        if self.closing or self.model is None or self.model.content_hash != info.content_hash:
            return
        self.model = info
        if self.session.results_file is None:
            self.adopt_loaded_model()
        self._emit("model", info)
        self._emit("message", f"Runtimes measured on this computer: the model now runs on "
                   f"{info.runtime}, the fastest that passed the accuracy check.")  # fmt: skip

    def model_failed(self, job: int, message: str) -> None:
        if job != self.model_job:
            return
        self.model_job = None
        self._emit("model", self.model)
        self._emit("verdict", None)
        self._emit("problem", f"Could not load the model: {message}", MODEL_FAILED_TODO)

    def worker_crashed(self, job: int) -> None:
        """Whatever ``job`` was doing is over."""
        if job == self.model_job:
            self.model_job = None
            self._emit("model", self.model)
        if (current := self._scoring(job)) is not None:
            current.job_over()
            self._emit("verdict", "NOT SCORED\nthe model failed on this study (see log)")
        self.dataset.finished(job, True)

    # --- measurements -------------------------------------------------------------------

    def add_measurement(self, path: Path, measurement: Measurement) -> None:
        self.session.add_measurement(path, measurement)
        self._emit("measurements", path)

    def remove_measurement(self, path: Path, index: int) -> None:
        if self.session.remove_measurement(path, index):
            self._emit("measurements", path)

    # --- display ------------------------------------------------------------------------

    def set_display(self, **changes: Any) -> None:
        kind = self.display.map_kind
        self.display.update(**changes)
        self._emit("display")
        if self.display.map_kind != kind:
            self._score_current_if_due()
            self._emit("verdict", None)
