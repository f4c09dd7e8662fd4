"""Model work off the GUI thread: loading a model, scoring one study, scoring a dataset.

``InferenceWorker`` is a QObject moved to its own QThread; ``InferenceService`` lives in the
GUI thread, owns that thread, hands out request ids and talks to the worker only through
queued signals. Each request also carries a ``threading.Event`` the GUI sets to cancel it:
the predictor polls it between views, so an abandoned study stops within one batch.

The worker does one unit of work per turn of its event loop (load a model, score the
interactive study, score the next study of a dataset, or one unit of a pending runtime
probe) so a study the user opens while a dataset is being scored is served after at most
one dataset study. A model loaded before its runtime probe was measured on this machine
starts on the probe's reference; the probe runs once the worker has been idle for
``PROBE_IDLE_S`` (or between a dataset's studies, which it speeds up), and
``runtimeChanged`` says when the model moved to the runtime it chose.

What loading a model means (``BundleLoader`` and the ``ModelFactory`` seam) is in
``model_loading``; the loader runs here, in the worker thread.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from mura_desktop.core.display import EXACT_MAP
from mura_desktop.core.results import StudyResult
from mura_desktop.core.study import Study
from mura_desktop.core.verdict import VerdictRule
from mura_desktop.gui.model_loading import BundleLoader, LoadedModel, ModelFactory, ModelLoadError

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_MS = 60_000
PROBE_IDLE_S = 1.5  # a study opened with the model (a launch's) is asked for by then


# --- jobs -------------------------------------------------------------------------------


@dataclass
class Job:
    id: int
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()


@dataclass
class ModelJob(Job):
    path: Path = Path()
    device: str = "auto"
    threshold: float | None = None


@dataclass
class StudyJob(Job):
    study: Study | None = None
    heatmaps: bool = True
    maps: str = EXACT_MAP  # which heatmaps (a key of core.display.MAP_KINDS)


@dataclass
class DatasetJob(Job):
    studies: list[Study] = field(default_factory=list)
    next_index: int = 0
    paused: bool = False
    # The predictor's stream from next_index on (views of several studies share a forward
    # pass) and the model it belongs to; rebuilt after a model change or an error.
    stream: Iterator[Any] | None = field(default=None, repr=False)
    stream_model: Any = field(default=None, repr=False)


# --- the worker (lives in the worker thread) ---------------------------------------------


class InferenceWorker(QObject):
    """Runs jobs in its thread; every outgoing signal starts with the request id."""

    modelLoaded = Signal(int, object)  # id, ModelInfo
    modelFailed = Signal(int, str)
    studyProgress = Signal(int, int, int)  # id, views done, views total
    studyScored = Signal(int, object)  # id, StudyPrediction
    studyFailed = Signal(int, str)
    studyCancelled = Signal(int)
    datasetProgress = Signal(int, int, int)  # id, studies done, studies total
    datasetStudyScored = Signal(int, object)  # id, StudyResult
    datasetFinished = Signal(int, bool)  # id, cancelled
    runtimeChanged = Signal(object)  # ModelInfo: the loaded model, on the probe's choice
    crashed = Signal(int, str)  # id, traceback of an unexpected exception

    def __init__(self, factory: ModelFactory) -> None:
        super().__init__()
        self._factory = factory
        self._model: LoadedModel | None = None
        self._model_job: ModelJob | None = None
        self._study_job: StudyJob | None = None
        self._dataset: DatasetJob | None = None
        self._scheduled = False
        self._stopped = False
        self._last_work = time.monotonic()
        self._probe_timer = QTimer(self)  # a child: it moves to the worker's thread with it
        self._probe_timer.setSingleShot(True)
        self._probe_timer.timeout.connect(self._schedule)

    @Slot(object)
    def submit(self, job: Job) -> None:
        if isinstance(job, ModelJob):
            if self._model_job is not None:
                self.modelFailed.emit(self._model_job.id, "superseded by a newer model request")
            self._model_job = job
        elif isinstance(job, StudyJob):
            if self._study_job is not None:
                self.studyCancelled.emit(self._study_job.id)
            self._study_job = job
        elif isinstance(job, DatasetJob):
            if self._dataset is not None:
                self.datasetFinished.emit(self._dataset.id, True)
            self._dataset = job
        self._schedule()

    @Slot(int, bool)
    def set_paused(self, job_id: int, paused: bool) -> None:
        if self._dataset is not None and self._dataset.id == job_id:
            self._dataset.paused = paused
            self._schedule()

    @Slot(int)
    def drop(self, job_id: int) -> None:
        """Forget a cancelled job that has not started (a running one stops by its Event)."""
        if self._study_job is not None and self._study_job.id == job_id:
            self._study_job = None
            self.studyCancelled.emit(job_id)
        if self._dataset is not None and self._dataset.id == job_id:
            self._dataset = None
            self.datasetFinished.emit(job_id, True)

    @Slot()
    def stop(self) -> None:
        """Release the model and end the thread's event loop (queued after any running job)."""
        self._stopped = True
        self._release_model()
        QThread.currentThread().quit()

    def _schedule(self) -> None:
        if not self._scheduled and not self._stopped:
            self._scheduled = True
            QTimer.singleShot(0, self._pump)

    def _pump(self) -> None:
        self._scheduled = False
        if self._stopped:
            return
        if self._model_job is not None:
            job, self._model_job = self._model_job, None
            self._guarded(job, self._load_model)
        elif self._study_job is not None:
            job, self._study_job = self._study_job, None
            self._guarded(job, self._score_study)
        elif self._probe_due():
            self._probe_step()
        elif self._dataset is not None and not self._dataset.paused:
            self._guarded(self._dataset, self._score_next_in_dataset)
        else:
            if self._probing():
                wait = PROBE_IDLE_S - (time.monotonic() - self._last_work)
                self._probe_timer.start(max(0, round(1000 * wait)))
            return
        busy = self._model_job or self._study_job or (self._dataset and not self._dataset.paused)
        if busy or self._probing():
            self._schedule()

    def _probing(self) -> bool:
        return self._model is not None and self._model.predictor.probing

    def _probe_due(self) -> bool:
        """The user's work comes first: a probe unit runs after ``PROBE_IDLE_S`` without
        any, or between a dataset's studies."""
        if not self._probing():
            return False
        if self._dataset is not None and not self._dataset.paused:
            return True
        return time.monotonic() - self._last_work >= PROBE_IDLE_S

    def _probe_step(self) -> None:
        model = self._model
        assert model is not None
        before = model.predictor.runtime
        if model.predictor.probe_step() and model.predictor.runtime != before:
            model.info = model.info.running_on(model.predictor.runtime)
            self.runtimeChanged.emit(model.info)

    def _guarded(self, job: Job, step: Callable[[Any], None]) -> None:
        try:
            step(job)
        except Exception:
            log.exception("unexpected error in the inference worker (request %d)", job.id)
            if job is self._dataset:
                self._dataset = None
            self.crashed.emit(job.id, traceback.format_exc())
        finally:
            self._last_work = time.monotonic()

    def _load_model(self, job: ModelJob) -> None:
        try:
            loaded = self._factory(job.path, job.device, job.threshold)
        except ModelLoadError as exc:
            self.modelFailed.emit(job.id, str(exc))
            return
        self._release_model()
        self._model = loaded
        self.modelLoaded.emit(job.id, loaded.info)

    def _score_study(self, job: StudyJob) -> None:
        if job.cancelled:
            self.studyCancelled.emit(job.id)
            return
        if self._model is None:
            self.studyFailed.emit(job.id, "no model is loaded")
            return
        try:
            prediction = self._model.predictor.predict_study(
                job.study,
                heatmaps=job.heatmaps,
                maps=job.maps,
                progress=lambda done, total: self.studyProgress.emit(job.id, done, total),
                should_cancel=job.cancel.is_set,
            )
        except Exception:
            if job.cancelled:  # the predictor raises PredictionCancelled, or anything, once told
                self.studyCancelled.emit(job.id)
                return
            raise
        self.studyScored.emit(job.id, prediction)

    def _score_next_in_dataset(self, job: DatasetJob) -> None:
        total = len(job.studies)
        if job.cancelled or self._model is None or job.next_index >= total:
            self._dataset = None
            self.datasetFinished.emit(job.id, job.cancelled or self._model is None)
            return
        study = job.studies[job.next_index]
        if job.stream is None or job.stream_model is not self._model:
            job.stream_model = self._model
            job.stream = self._model.predictor.predict_many(
                job.studies[job.next_index :], heatmaps=False, should_cancel=job.cancel.is_set
            )
        try:
            result: StudyResult = next(job.stream).result
        except Exception as exc:
            job.stream = None
            if job.cancelled:
                self._dataset = None
                self.datasetFinished.emit(job.id, True)
                return
            log.exception("scoring %s failed", study.uid)
            result = _failed_result(study, f"{type(exc).__name__}: {exc}", self._model.info.rule)
        job.next_index += 1
        self.datasetStudyScored.emit(job.id, result)
        self.datasetProgress.emit(job.id, job.next_index, total)
        if job.next_index >= total:
            self._dataset = None
            self.datasetFinished.emit(job.id, False)

    def _release_model(self) -> None:
        if self._model is not None:
            self._model.predictor.close()
            self._model = None


def _failed_result(study: Study, reason: str, rule: VerdictRule) -> StudyResult:
    """Every view failed with ``reason``: the one rule (``StudyResult.from_views``) decides."""
    from mura_desktop.core.results import ViewResult

    return StudyResult.from_views(
        study, [ViewResult(path=str(v.path), error=reason) for v in study.views], rule
    )


# --- the GUI-side service ----------------------------------------------------------------


class InferenceService(QObject):
    """Owns the worker thread; hands out request ids; cancels, pauses and shuts down.

    Outgoing signals are the worker's, re-emitted in the GUI thread. Which results still
    matter is the caller's business: it compares the id it kept with the one it receives.
    """

    _submit = Signal(object)
    _pause = Signal(int, bool)
    _drop = Signal(int)
    _stop = Signal()

    modelLoaded = Signal(int, object)
    modelFailed = Signal(int, str)
    studyProgress = Signal(int, int, int)
    studyScored = Signal(int, object)
    studyFailed = Signal(int, str)
    studyCancelled = Signal(int)
    datasetProgress = Signal(int, int, int)
    datasetStudyScored = Signal(int, object)
    datasetFinished = Signal(int, bool)
    runtimeChanged = Signal(object)
    crashed = Signal(int, str)

    _ids = itertools.count(1)

    def __init__(self, factory: ModelFactory | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("mura-inference")
        self._worker = InferenceWorker(factory or BundleLoader())
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._submit.connect(self._worker.submit)
        self._pause.connect(self._worker.set_paused)
        self._drop.connect(self._worker.drop)
        self._stop.connect(self._worker.stop)
        for name in (
            "modelLoaded",
            "modelFailed",
            "studyProgress",
            "studyScored",
            "studyFailed",
            "studyCancelled",
            "datasetProgress",
            "datasetStudyScored",
            "datasetFinished",
            "runtimeChanged",
            "crashed",
        ):
            getattr(self._worker, name).connect(getattr(self, name))
        self._jobs: dict[int, Job] = {}
        for name in ("modelLoaded", "modelFailed", "studyScored", "studyFailed", "studyCancelled"):
            getattr(self, name).connect(self._forget)
        self.datasetFinished.connect(self._forget)
        self.crashed.connect(self._forget)
        self._thread.start()

    @property
    def thread(self) -> QThread:
        return self._thread

    def load_model(self, path: Path, device: str = "auto", threshold: float | None = None) -> int:
        return self._start(
            ModelJob(next(self._ids), path=Path(path), device=device, threshold=threshold)
        )

    def score_study(self, study: Study, heatmaps: bool = True, maps: str = EXACT_MAP) -> int:
        return self._start(StudyJob(next(self._ids), study=study, heatmaps=heatmaps, maps=maps))

    def score_dataset(self, studies: list[Study]) -> int:
        return self._start(DatasetJob(next(self._ids), studies=list(studies)))

    def pause(self, job_id: int, paused: bool) -> None:
        self._pause.emit(job_id, paused)

    def cancel(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is not None:
            job.cancel.set()
            self._drop.emit(job_id)

    def cancel_all(self) -> None:
        for job_id in list(self._jobs):
            self.cancel(job_id)

    def shutdown(self) -> bool:
        """Cancel everything, stop the worker and join its thread. True if it ended."""
        if not self._thread.isRunning():
            return True
        for job in self._jobs.values():
            job.cancel.set()
        self._stop.emit()
        finished = self._thread.wait(SHUTDOWN_TIMEOUT_MS)
        if not finished:
            log.error("the inference thread did not stop within %d ms", SHUTDOWN_TIMEOUT_MS)
        self._jobs.clear()
        return finished

    def _start(self, job: Job) -> int:
        self._jobs[job.id] = job
        self._submit.emit(job)
        return job.id

    @Slot(int)
    def _forget(self, job_id: int, *_: object) -> None:
        self._jobs.pop(job_id, None)
