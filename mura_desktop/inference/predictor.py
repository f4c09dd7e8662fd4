"""Scores studies with a model bundle: per-view probabilities, heatmaps and the study verdict.

A plain object with ``progress``/``should_cancel`` callbacks, usable from a worker thread,
the CLI or a test. One ``Predictor`` is meant to be driven by one thread at a time.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from mura_desktop.core.decoding import Decoded, IsolatedDecoder, shared_decoder
from mura_desktop.core.errors import reason_from
from mura_desktop.core.pixels import LoadedImage
from mura_desktop.core.results import NON_FINITE_SCORE, StudyResult, ViewResult
from mura_desktop.core.study import BODY_PARTS, Study, View
from mura_desktop.inference.bundle import ModelBundle
from mura_desktop.inference.cam import class_activation_maps, display_heatmap
from mura_desktop.inference.device import choose_device
from mura_desktop.inference.network import MuraNet, network_from_state_dict
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
    image's own shape, min–max normalised per image to [0, 1]. Views that failed to load
    have neither.
    """

    result: StudyResult
    heatmaps: dict[Path, np.ndarray] = field(default_factory=dict)
    images: dict[Path, LoadedImage] = field(default_factory=dict)


@dataclass
class _ChunkOutput:
    probability: torch.Tensor  # (N,)
    body_part: torch.Tensor | None  # (N, 7) probabilities
    cams: torch.Tensor | None  # (M, N, h, w) raw maps, one per member


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
    max_batch
        Views per forward pass; larger studies are scored in chunks.
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
        max_batch: int = 16,
        decoder: IsolatedDecoder | None = None,
    ) -> None:
        self.bundle = bundle
        self.rule = bundle.verdict_rule(threshold)
        self.max_batch = max_batch
        self.fallback = device.strip().lower() == "auto"
        self.device, note = choose_device(device)
        self.notes: list[str] = [note] if note else []
        self._members: list[MuraNet] = []
        self._place_members(self.device)
        self._decoder = decoder or shared_decoder()
        self._owns_decoder = decoder is not None

    # --- public -----------------------------------------------------------------------

    def predict_study(
        self,
        study: Study,
        *,
        heatmaps: bool = True,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCallback | None = None,
    ) -> StudyPrediction:
        """Score one study. ``progress(done, total)`` counts views; ``should_cancel()`` is
        checked between steps and raises ``PredictionCancelled``."""
        _check(should_cancel)
        pending = self._submit_decode(study.views)
        return self._score(study, pending, heatmaps, progress, should_cancel)

    def predict_many(
        self,
        studies: Iterable[Study],
        *,
        heatmaps: bool = True,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCallback | None = None,
    ) -> Iterator[StudyPrediction]:
        """Score studies one after another, yielding each study's prediction.

        The next study's images are decoded in background threads while the current one is
        scored. ``progress(done, total)`` counts views over all studies.
        """
        studies = list(studies)
        total = sum(len(s.views) for s in studies)
        done_before = 0
        pending = self._submit_decode(studies[0].views) if studies else []
        try:
            for i, study in enumerate(studies):
                _check(should_cancel)
                current = pending
                pending = self._submit_decode(studies[i + 1].views) if i + 1 < len(studies) else []

                def study_progress(done: int, _total: int, offset: int = done_before) -> None:
                    if progress is not None:
                        progress(offset + done, total)

                yield self._score(study, current, heatmaps, study_progress, should_cancel)
                done_before += len(study.views)
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Stop a decoder given to this predictor (the shared one lives on)."""
        if self._owns_decoder:
            self._decoder.close()

    def __enter__(self) -> Predictor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- decoding ---------------------------------------------------------------------

    def _submit_decode(self, views: Sequence[View]) -> list[Future[Decoded]]:
        return [self._decoder.submit(view.path) for view in views]

    # --- scoring ----------------------------------------------------------------------

    def _score(
        self,
        study: Study,
        pending: list[Future[Decoded]],
        heatmaps: bool,
        progress: ProgressCallback | None,
        should_cancel: CancelCallback | None,
    ) -> StudyPrediction:
        """Score one study; an error inside inference fails this study, with its reason,
        and never the batch (cancelling still stops everything)."""
        try:
            return self._score_views(study, pending, heatmaps, progress, should_cancel)
        except PredictionCancelled:
            raise
        except Exception as exc:
            log.exception("inference failed for study %s", study.uid)
            for future in pending:
                future.cancel()
            reason = f"inference failed: {type(exc).__name__}: {reason_from(exc)}"
            views = [ViewResult(path=str(v.path), error=reason) for v in study.views]
            return StudyPrediction(result=StudyResult.from_views(study, views, self.rule))

    def _score_views(
        self,
        study: Study,
        pending: list[Future[Decoded]],
        heatmaps: bool,
        progress: ProgressCallback | None,
        should_cancel: CancelCallback | None,
    ) -> StudyPrediction:
        total = len(study.views)
        done = 0
        _report(progress, done, total)
        decoded: list[Decoded] = []
        try:
            for future in pending:
                _check(should_cancel)
                decoded.append(future.result())
        except PredictionCancelled:
            for future in pending:
                future.cancel()
            raise
        failures = sum(isinstance(d, str) for d in decoded)
        if failures:
            done += failures
            _report(progress, done, total)

        heatmap_of: dict[Path, np.ndarray] = {}
        image_of: dict[Path, LoadedImage] = {}
        probability: dict[int, float] = {}
        body_part: dict[int, np.ndarray] = {}
        ok = [i for i, d in enumerate(decoded) if isinstance(d, LoadedImage)]
        for start in range(0, len(ok), self.max_batch):
            chunk = ok[start : start + self.max_batch]
            images = [decoded[i] for i in chunk]
            _check(should_cancel)
            batch = preprocess_batch(
                [image.pixels for image in images],  # type: ignore[union-attr]
                self.bundle.input_size,
                self.bundle.mean,
                self.bundle.std,
            )
            output = self._forward(batch, heatmaps)
            _check(should_cancel)
            for j, (index, image) in enumerate(zip(chunk, images, strict=True)):
                assert isinstance(image, LoadedImage)
                path = study.views[index].path
                score = float(output.probability[j])
                if not math.isfinite(score):
                    decoded[index] = NON_FINITE_SCORE
                    continue
                probability[index] = score
                if output.body_part is not None:
                    body_part[index] = output.body_part[j].numpy()
                if output.cams is not None:
                    heatmap_of[path] = display_heatmap(output.cams[:, j], image.pixels.shape)
                image_of[path] = image
            done += len(chunk)
            _report(progress, done, total)

        result = self._study_result(study, decoded, probability, body_part)
        return StudyPrediction(result=result, heatmaps=heatmap_of, images=image_of)

    def _study_result(
        self,
        study: Study,
        decoded: list[Decoded],
        probability: dict[int, float],
        body_part: dict[int, np.ndarray],
    ) -> StudyResult:
        views = [
            ViewResult(
                path=str(view.path),
                probability=probability.get(i),
                error=item if isinstance(item, str) else None,
                predicted_body_part=_part_name(body_part.get(i)),
            )
            for i, (view, item) in enumerate(zip(study.views, decoded, strict=True))
        ]
        study_part = _part_name(np.mean(list(body_part.values()), axis=0)) if body_part else None
        return StudyResult.from_views(study, views, self.rule, predicted_body_part=study_part)

    # --- the model --------------------------------------------------------------------

    def _place_members(self, device: torch.device) -> None:
        """(Re)build the members from the bundle's CPU tensors and move them to ``device``."""
        head = self.bundle.body_parts is not None
        self._members = [
            network_from_state_dict(
                self.bundle.architecture,
                member,
                body_part_head=head,
                output_stride=self.bundle.output_stride,
            )
            .requires_grad_(False)
            .to(device, memory_format=torch.channels_last)
            for member in self.bundle.members
        ]

    def _forward(self, batch: torch.Tensor, heatmaps: bool) -> _ChunkOutput:
        try:
            return self._run_members(batch, heatmaps)
        except RuntimeError as exc:
            if self.device.type != "cuda" or not self.fallback:
                raise
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            note = f"CUDA failed during inference ({first_line}); continuing on the CPU"
            warnings.warn(note, RuntimeWarning, stacklevel=2)
            log.warning(note)
            self.notes.append(note)
            self.device = torch.device("cpu")
            # The CUDA context may be unusable: rebuild from the bundle, never copy back.
            self._place_members(self.device)
            return self._run_members(batch, heatmaps)

    def _run_members(self, batch: torch.Tensor, heatmaps: bool) -> _ChunkOutput:
        on_cuda = self.device.type == "cuda"
        autocast = (
            torch.autocast("cuda", dtype=torch.float16) if on_cuda else contextlib.nullcontext()
        )
        probabilities, parts, cams = [], [], []
        with torch.inference_mode(), autocast:
            x = batch.to(self.device, non_blocking=True).contiguous(
                memory_format=torch.channels_last
            )
            for net in self._members:
                out = net.forward_all(x, flip_average=self.bundle.flip_average)
                probabilities.append(torch.sigmoid(out.logit.float() / self.bundle.temperature))
                if out.body_part is not None:
                    parts.append(torch.softmax(out.body_part.float(), dim=1))
                if heatmaps:
                    cams.append(class_activation_maps(out.maps, net.classifier.weight))
            return _ChunkOutput(
                probability=torch.stack(probabilities).mean(0).cpu(),
                body_part=torch.stack(parts).mean(0).cpu() if parts else None,
                cams=torch.stack(cams).cpu() if cams else None,
            )


def _part_name(probabilities: np.ndarray | None) -> str | None:
    return None if probabilities is None else BODY_PARTS[int(probabilities.argmax())]


def _check(should_cancel: CancelCallback | None) -> None:
    if should_cancel is not None and should_cancel():
        raise PredictionCancelled


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
