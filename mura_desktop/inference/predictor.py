"""Scores studies with a model bundle: per-view probabilities, heatmaps and the study verdict.

A plain object with ``progress``/``should_cancel`` callbacks, usable from a worker thread,
the CLI or a test. One ``Predictor`` is meant to be driven by one thread at a time.
numpy throughout: torch is imported only by the torch backend, so a model that runs on
OpenVINO scores without it.
"""

from __future__ import annotations

import logging
import math
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mura_desktop.core.decoding import Decoded, IsolatedDecoder, shared_decoder
from mura_desktop.core.display import EXACT_MAP, HeatmapStyle, draw_heatmap
from mura_desktop.core.errors import reason_from
from mura_desktop.core.pixels import LoadedImage
from mura_desktop.core.results import NON_FINITE_SCORE, StudyResult, ViewResult
from mura_desktop.core.study import BODY_PARTS, Study
from mura_desktop.inference.backends import Backend, describe, flip_averaged
from mura_desktop.inference.backends.agreement import ensemble_probability
from mura_desktop.inference.backends.choice import PendingProbe, open_backend, start_backend
from mura_desktop.inference.bundle import ModelBundle
from mura_desktop.inference.cam import class_activation_maps, display_heatmap
from mura_desktop.inference.preprocess import preprocess_batch

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
CancelCallback = Callable[[], bool]


class PredictionCancelled(Exception):
    """``should_cancel()`` returned True; nothing of the interrupted study is returned."""


@dataclass
class StudyPrediction:
    """One study's scores plus what a viewer needs to draw them.

    ``heatmaps`` and ``images`` are keyed by ``View.path``; a heatmap is float32 with the
    image's own shape, min–max normalised per image to [0, 1], of the kind ``map_kind`` (a
    key of ``core.display.MAP_KINDS``). Views that failed to load have neither.
    """

    result: StudyResult
    heatmaps: dict[Path, np.ndarray] = field(default_factory=dict)
    images: dict[Path, LoadedImage] = field(default_factory=dict)
    map_kind: str = EXACT_MAP

    def overlays(self, style: HeatmapStyle, floor: float | None) -> dict[Path, np.ndarray]:
        """Each view with its heatmap drawn as the viewer draws it (RGB uint8), keyed by view
        path; a view scored below ``floor`` shows no map unless ``style`` asks for all."""
        probability = {Path(v.path): v.probability for v in self.result.views}
        out = {}
        for path, heatmap in self.heatmaps.items():
            p = probability.get(Path(path))
            shown = style if style.shown(p, floor) else HeatmapStyle("off")
            out[path] = draw_heatmap(self.images[path].pixels, heatmap, shown, p)
        return out


@dataclass(eq=False)  # identity: a study's work is one object, used as a key
class _Work:
    """A study on its way through the batches: its decodes and what is known so far."""

    study: Study
    pending: list[Future[Decoded]]
    decoded: list[Decoded | None]
    probability: dict[int, float] = field(default_factory=dict)
    body_part: dict[int, np.ndarray] = field(default_factory=dict)
    heatmaps: dict[Path, np.ndarray] = field(default_factory=dict)
    images: dict[Path, LoadedImage] = field(default_factory=dict)
    failure: str | None = None
    next_view: int = 0  # views before this one are in a batch already (or failed to load)


class Predictor:
    """Runs a bundle's ensemble on studies.

    Parameters
    ----------
    bundle
        The model; its members are loaded once.
    device
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (see ``choose_device``): an
        explicit device that cannot be used raises ``DeviceUnavailableError``; only
        ``"auto"`` falls back to the CPU (at start, or when CUDA fails mid-run), with a note.
    threshold
        Overrides the bundle's default operating point.
    backend
        ``"auto"``, ``"torch"`` or ``"openvino"`` (see ``backends.choice.open_backend``), or
        a backend already built (``preload`` hands one over).
    probe_later
        With ``backend="auto"`` and no probe kept for this machine: start on the probe's
        reference at once and leave the probe to ``probe_step`` (the viewer), instead of
        measuring it first (a batch run).
    pending
        The probe still to run for a ``backend`` already built (``preload`` hands it over).
    precision
        ``"auto"`` (the fastest that passes the accuracy guard), ``"float32"``,
        ``"bfloat16"`` or ``"float16"`` (CUDA).
    max_batch
        Views per forward pass, across studies; the backend's own size by default.
    decoder
        Where images are decoded: the process-wide memory-capped worker pool by default;
        a decoder given here is closed with the predictor.
    """

    def __init__(
        self,
        bundle: ModelBundle,
        device: str = "auto",
        threshold: float | None = None,
        *,
        backend: str | Backend = "auto",
        precision: str = "auto",
        max_batch: int | None = None,
        decoder: IsolatedDecoder | None = None,
        probe_later: bool = False,
        pending: PendingProbe | None = None,
    ) -> None:
        self.bundle = bundle
        self.rule = bundle.verdict_rule(threshold)
        if not isinstance(backend, str):
            self.backend, self._pending = backend, pending
        elif probe_later:
            self.backend, self._pending = start_backend(
                bundle, backend, device, precision=precision
            )
        else:
            self.backend, self._pending = (
                open_backend(bundle, backend, device, precision=precision),
                None,
            )
        self._asked_batch = max_batch
        self.max_batch = max_batch or self.backend.batch_size
        self._decoder = decoder or shared_decoder()
        self._owns_decoder = decoder is not None

    @property
    def device(self) -> str:
        return self.backend.device

    @property
    def notes(self) -> list[str]:
        return self.backend.notes

    @property
    def runtime(self) -> str:
        """What runs the model, e.g. ``"openvino bfloat16 on cpu"``."""
        return describe(self.backend)

    @property
    def probing(self) -> bool:
        """A probe is pending (``probe_later``): ``probe_step`` has work to do."""
        return self._pending is not None

    def probe_step(self) -> bool:
        """One unit of the pending probe (well under a second); True when that ended it:
        the predictor then runs on the probe's choice, which ``runtime`` names. A probe that
        fails leaves the predictor on the backend it started with."""
        pending = self._pending
        if pending is None:
            return False
        try:
            if not pending.step():
                return False
        except Exception:
            log.exception("the runtime probe failed; %s stays", self.runtime)
        else:
            assert pending.chosen is not None
            self.backend = pending.chosen
            self.max_batch = self._asked_batch or self.backend.batch_size
        self._pending = None
        return True

    # --- public -----------------------------------------------------------------------

    def predict_study(
        self,
        study: Study,
        *,
        heatmaps: bool = True,
        maps: str = EXACT_MAP,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCallback | None = None,
    ) -> StudyPrediction:
        """Score one study. ``progress(done, total)`` counts views; ``should_cancel()`` is
        checked between steps and raises ``PredictionCancelled``. ``maps`` other than the
        exact CAM are computed afterwards, by torch on the CPU (``alternative_maps``)."""
        for prediction in self.predict_many(
            [study], heatmaps=heatmaps and maps == EXACT_MAP, progress=progress,
            should_cancel=should_cancel,
        ):  # fmt: skip
            if heatmaps and maps != EXACT_MAP:
                self._draw_alternative_maps(prediction, maps, should_cancel)
            return prediction
        raise AssertionError("predict_many yields one prediction per study")

    def predict_many(
        self,
        studies: Iterable[Study],
        *,
        heatmaps: bool = True,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCallback | None = None,
    ) -> Iterator[StudyPrediction]:
        """Score studies, yielding each study's prediction, in order, as soon as its last
        view is scored.

        Views of consecutive studies share forward passes of ``max_batch`` views; the next
        batch's images are decoded in background processes while one is scored.
        ``progress(done, total)`` counts views over all studies; ``should_cancel()`` is
        checked between batches and while waiting for images.
        """
        queue = list(studies)
        total = sum(len(s.views) for s in queue)
        done = 0
        _check(should_cancel)
        if total:
            _report(progress, done, total)
        active: deque[_Work] = deque()
        upcoming = iter(queue)
        try:
            while True:
                self._decode_ahead(active, upcoming)
                if not active:
                    return
                batch, consumed = self._next_batch(active, should_cancel)
                if batch:
                    self._score_batch(batch, heatmaps)
                    _check(should_cancel)
                done += consumed
                _report(progress, done, total)
                while active and _complete(active[0]):
                    yield self._finish(active.popleft())
        finally:
            for work in active:
                for future in work.pending:
                    future.cancel()

    def _draw_alternative_maps(
        self, prediction: StudyPrediction, maps: str, should_cancel: CancelCallback | None
    ) -> None:
        from mura_desktop.inference.alternative_maps import alternative_heatmaps

        _check(should_cancel)
        paths = list(prediction.images)
        images = [prediction.images[p].pixels for p in paths]
        drawn = alternative_heatmaps(self.bundle, images, maps) if images else []
        prediction.heatmaps = dict(zip(paths, drawn, strict=True))
        prediction.map_kind = maps

    def close(self) -> None:
        """Stop a decoder given to this predictor (the shared one lives on)."""
        if self._owns_decoder:
            self._decoder.close()

    def __enter__(self) -> Predictor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- decoding and batching --------------------------------------------------------

    def _decode_ahead(self, active: deque[_Work], upcoming: Iterator[Study]) -> None:
        """Keep two batches' worth of views submitted for decoding (and at least a study)."""
        waiting = sum(len(w.study.views) - w.next_view for w in active)
        while not active or waiting < 2 * self.max_batch:
            study = next(upcoming, None)
            if study is None:
                return
            pending = [self._decoder.submit(view.path) for view in study.views]
            active.append(_Work(study, pending, [None] * len(pending)))
            waiting += len(pending)

    def _next_batch(
        self, active: deque[_Work], should_cancel: CancelCallback | None
    ) -> tuple[list[tuple[_Work, int]], int]:
        """Up to ``max_batch`` decoded views, in study order, and how many views were taken
        (failed decodes are recorded on their study and count as taken)."""
        batch: list[tuple[_Work, int]] = []
        taken = 0
        for work in active:
            while work.next_view < len(work.pending) and len(batch) < self.max_batch:
                index = work.next_view
                work.decoded[index] = _wait(work.pending[index], should_cancel)
                work.next_view += 1
                taken += 1
                if isinstance(work.decoded[index], LoadedImage):
                    batch.append((work, index))
            if len(batch) >= self.max_batch:
                break
        return batch, taken

    # --- scoring ----------------------------------------------------------------------

    def _score_batch(self, batch: list[tuple[_Work, int]], heatmaps: bool) -> None:
        """One forward pass over views of several studies. When it fails, each study's
        views are tried alone, so an error fails only the studies it happens in."""
        try:
            self._forward_views(batch, heatmaps)
            return
        except Exception:
            if len({work for work, _ in batch}) == 1:
                self._fail(batch[0][0])
                return
        for work in dict.fromkeys(work for work, _ in batch):
            try:
                self._forward_views([(w, i) for w, i in batch if w is work], heatmaps)
            except Exception:
                self._fail(work)

    def _fail(self, work: _Work) -> None:
        exc = sys.exc_info()[1]
        log.exception("inference failed for study %s", work.study.uid)
        work.failure = f"inference failed: {type(exc).__name__}: {reason_from(exc)}"

    def _forward_views(self, views: list[tuple[_Work, int]], heatmaps: bool) -> None:
        images: list[LoadedImage] = [work.decoded[i] for work, i in views]  # type: ignore[misc]
        batch = preprocess_batch(
            [image.pixels for image in images],
            self.bundle.input_size,
            self.bundle.mean,
            self.bundle.std,
        )
        outputs = self.backend.forward(batch, maps=heatmaps)
        if self.bundle.flip_average:
            mirrored = self.backend.forward(batch[..., ::-1], maps=heatmaps)
            outputs = [flip_averaged(a, b) for a, b in zip(outputs, mirrored, strict=True)]
        probability = ensemble_probability(outputs, self.bundle.temperature)
        parts = [o.body_part for o in outputs if o.body_part is not None]
        part_probability = np.mean([_softmax(p) for p in parts], axis=0) if parts else None
        cams = (
            np.stack(
                [
                    class_activation_maps(o.maps, member["classifier.weight"])
                    for o, member in zip(outputs, self.bundle.members, strict=True)
                    if o.maps is not None
                ]
            )
            if heatmaps
            else None
        )
        for j, ((work, index), image) in enumerate(zip(views, images, strict=True)):
            path = work.study.views[index].path
            score = float(probability[j])
            if not math.isfinite(score):
                work.decoded[index] = NON_FINITE_SCORE
                continue
            work.probability[index] = score
            if part_probability is not None:
                work.body_part[index] = part_probability[j]
            if cams is not None:
                work.heatmaps[path] = display_heatmap(cams[:, j], image.pixels.shape)
            work.images[path] = image

    def _finish(self, work: _Work) -> StudyPrediction:
        study = work.study
        if work.failure is not None:
            views = [ViewResult(path=str(v.path), error=work.failure) for v in study.views]
            return StudyPrediction(result=StudyResult.from_views(study, views, self.rule))
        views = [
            ViewResult(
                path=str(view.path),
                probability=work.probability.get(i),
                error=item if isinstance(item, str) else None,
                predicted_body_part=_part_name(work.body_part.get(i)),
            )
            for i, (view, item) in enumerate(zip(study.views, work.decoded, strict=True))
        ]
        parts = list(work.body_part.values())
        study_part = _part_name(np.mean(parts, axis=0)) if parts else None
        result = StudyResult.from_views(study, views, self.rule, predicted_body_part=study_part)
        return StudyPrediction(result=result, heatmaps=work.heatmaps, images=work.images)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _complete(work: _Work) -> bool:
    return work.next_view >= len(work.pending)


def _wait(future: Future[Decoded], should_cancel: CancelCallback | None) -> Decoded:
    """The decoded image, checking ``should_cancel`` while it is not ready."""
    while True:
        _check(should_cancel)
        try:
            return future.result(timeout=0.05)
        except futures.TimeoutError:
            continue


def _part_name(probabilities: np.ndarray | None) -> str | None:
    return None if probabilities is None else BODY_PARTS[int(probabilities.argmax())]


def _check(should_cancel: CancelCallback | None) -> None:
    if should_cancel is not None and should_cancel():
        raise PredictionCancelled


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
