"""One training epoch, one evaluation pass, and how view scores become study metrics.

``train_one_epoch`` and ``evaluate`` are separate, timm-style. Both take a ``Step`` with
what every step needs (device, precision, memory format, rank). Study probabilities use
the viewer's ``VerdictRule`` (mean of the views by default) and metrics come from
``mura_desktop.core.metrics``, so the trainer and the viewer report the same numbers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mura_desktop.core.metrics import BinaryMetrics, study_metrics
from mura_desktop.core.results import StudyResult, ViewResult
from mura_desktop.core.study import Study
from mura_desktop.core.verdict import VerdictRule
from mura_desktop.inference.network import MuraNet
from mura_desktop.inference.preprocess import normalize_gray
from trainer.dataset import Batch
from trainer.distributed import Runtime, gather_objects, sum_across
from trainer.losses import AbnormalityLoss


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; training cannot continue from this state."""

    def __init__(self, epoch: int, step: int, value: float) -> None:
        self.epoch, self.step, self.value = epoch, step, value
        super().__init__(
            f"the training loss became {value} at epoch {epoch}, step {step}. "
            "Training stopped; the last good checkpoint is kept. Try a lower --lr, "
            "--amp off, or check the data."
        )


class DivergedError(NonFiniteLossError):
    """The loss is finite but far above where it started: the run has blown up."""

    def __init__(self, epoch: int, step: int, value: float, start: float) -> None:
        self.epoch, self.step, self.value, self.start = epoch, step, value, start
        RuntimeError.__init__(
            self,
            f"the training loss reached {value:.3g} at epoch {epoch}, step {step}, more than "
            f"{DivergenceGuard.FACTOR:g}× where it started ({start:.3g}): training diverged. "
            "It stopped; the last good checkpoint is kept. Try a lower --lr.",
        )


class DivergenceGuard:
    """Stops a run whose loss explodes without ever becoming NaN (``--lr 1e6`` reached 3e13
    and finished "completed"). The reference is the run's first loss, measured before any
    update (a huge learning rate ruins every later one); checkpoints carry it across resumes.
    """

    FACTOR = 100.0
    FLOOR = 10.0  # a cross-entropy this high is nonsense whatever the start

    def __init__(self, start: float | None = None) -> None:
        self.start = start

    def check(self, epoch: int, step: int, loss: float) -> None:
        if self.start is None:
            self.start = loss
        elif loss > max(self.FACTOR * self.start, self.FLOOR):
            raise DivergedError(epoch, step, loss, self.start)


class TrainingModel(nn.Module):
    """What DDP wraps: the network's abnormality logits, body-part logits if any, and with
    ``cam=True`` its class-activation maps (B, h, w) without the bias."""

    def __init__(self, net: MuraNet) -> None:
        super().__init__()
        self.net = net

    def forward(
        self, x: torch.Tensor, cam: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        out = self.net.forward_all(x)
        maps = None
        if cam:
            maps = torch.einsum("bchw,c->bhw", out.maps, self.net.classifier.weight[0])
        return out.logit, out.body_part, maps


# Mirrorings the equivariance term draws from, as the dims of an (..., H, W) tensor they
# flip. Each is its own inverse, so a map is taken back by flipping the same dims.
MIRRORINGS: tuple[tuple[int, ...], ...] = ((-1,), (-2,), (-2, -1))


@dataclass(frozen=True)
class Step:
    """Per-step settings: device, mixed precision dtype (None = fp32), channels-last."""

    runtime: Runtime
    amp_dtype: torch.dtype | None = None
    channels_last: bool = False
    body_part_weight: float = 0.0
    cam_equivariance: float = 0.0

    @property
    def device(self) -> torch.device:
        return self.runtime.device

    def autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def inputs(self, batch: Batch) -> torch.Tensor:
        """Move a batch's gray images to the device and apply the shared normalisation."""
        images = batch.images.to(self.device, non_blocking=True)
        x = normalize_gray(images)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def batch_loss(
    step: Step,
    model: nn.Module,
    criterion: AbnormalityLoss,
    batch: Batch,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss of a batch (abnormality + weighted body-part term) and its logits.

    With ``step.cam_equivariance`` > 0 the batch is scored again mirrored (one of
    ``MIRRORINGS``, drawn per batch) and the loss adds that weight times the mean absolute
    difference between each view's CAM and its mirrored view's CAM mirrored back: a network
    whose maps peak beside their evidence, on one side, cannot make the two agree.
    """
    x = step.inputs(batch)
    labels = batch.labels.to(step.device, non_blocking=True)
    parts = batch.parts.to(step.device, non_blocking=True)
    equivariance = step.cam_equivariance > 0
    if equivariance:
        dims = MIRRORINGS[int(torch.randint(len(MIRRORINGS), ()))]
        x = torch.cat([x, x.flip(dims)])
        labels, parts = labels.repeat(2), parts.repeat(2)
    with step.autocast():
        logits, part_logits, cams = model(x, cam=equivariance)
    loss = criterion(logits, labels, parts)
    if part_logits is not None and step.body_part_weight > 0:
        loss = loss + step.body_part_weight * F.cross_entropy(
            part_logits.float(), parts, ignore_index=-1
        )
    if cams is not None:
        seen, mirrored = cams.float().chunk(2)
        loss = loss + step.cam_equivariance * (seen - mirrored.flip(dims)).abs().mean()
        logits = logits[: len(seen)]
    return loss, logits.float()


@dataclass
class EpochStats:
    """What one training epoch did, summed over ranks."""

    loss: float
    images: int
    skipped: list[tuple[int, str]]
    seconds: float
    steps: int

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


StepCallback = Callable[[int, int, float, float], None]
"""``on_step(batch_index, n_batches, running_loss, images_per_s)``, called on every rank."""


def train_one_epoch(
    step: Step,
    model: nn.Module,
    criterion: AbnormalityLoss,
    loader,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    *,
    epoch: int,
    first_step: int = 0,
    on_step: StepCallback | None = None,
    after_step: Callable[[], object] | None = None,
    divergence: DivergenceGuard | None = None,
) -> EpochStats:
    """Train over ``loader`` once. Raises ``NonFiniteLossError`` on a NaN/inf loss, and
    ``DivergedError`` when ``divergence`` sees the loss explode.

    In a distributed run each step's loss is summed across ranks, so every rank sees the
    same running loss and all stop together on a non-finite one.
    """
    model.train()
    start = time.perf_counter()
    total_loss = 0.0
    total_images = 0
    skipped: list[tuple[int, str]] = []
    n_batches = len(loader)
    for i, batch in enumerate(loader):
        skipped += batch.skipped
        n = len(batch)
        # DDP needs every rank in every backward: a batch whose views all failed to load on
        # any rank is skipped by all ranks.
        (empty_ranks,) = sum_across(step.runtime, [float(n == 0)])
        if empty_ranks == 0:
            loss, _ = batch_loss(step, model, criterion, batch)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if after_step is not None:
                after_step()
            value = float(loss.detach()) * n
        else:
            value, n = 0.0, 0
        loss_sum, count = sum_across(step.runtime, [value, float(n)])
        if not math.isfinite(loss_sum):
            raise NonFiniteLossError(epoch, first_step + i + 1, loss_sum)
        if divergence is not None and count:
            divergence.check(epoch, first_step + i + 1, loss_sum / count)
        total_loss += loss_sum
        total_images += int(count)
        if on_step is not None:
            elapsed = time.perf_counter() - start
            on_step(
                i + 1,
                n_batches,
                total_loss / max(total_images, 1),
                total_images / elapsed if elapsed > 0 else 0.0,
            )
    all_skipped = [s for part in gather_objects(step.runtime, skipped) for s in part]
    return EpochStats(
        loss=total_loss / max(total_images, 1),
        images=total_images,
        skipped=all_skipped,
        seconds=time.perf_counter() - start,
        steps=n_batches,
    )


@dataclass
class Evaluation:
    """Scores of the validation views and the study-level metrics they give.

    ``view_probabilities`` is aligned with the sample list (NaN for views that could not be
    read); ``metrics`` has ``ALL`` and one entry per body part (``core.metrics.study_metrics``).
    """

    loss: float
    view_probabilities: np.ndarray
    studies: list[StudyResult]
    metrics: dict[str, BinaryMetrics]
    skipped: list[tuple[int, str]] = field(default_factory=list)


@torch.no_grad()
def predict_views(
    step: Step, model: nn.Module, criterion: AbnormalityLoss, loader, n_samples: int
) -> tuple[np.ndarray, float, list[tuple[int, str]]]:
    """Probabilities of all ``n_samples`` views (gathered from every rank), the mean loss,
    and the views that could not be read."""
    model.eval()
    indices: list[int] = []
    probs: list[float] = []
    losses: list[float] = []
    skipped: list[tuple[int, str]] = []
    for batch in loader:
        skipped += batch.skipped
        if len(batch) == 0:
            continue
        x = step.inputs(batch)
        labels = batch.labels.to(step.device, non_blocking=True)
        parts = batch.parts.to(step.device, non_blocking=True)
        with step.autocast():
            logits, _, _ = model(x)
        per_sample = criterion.per_sample(logits, labels, parts)
        indices += batch.indices.tolist()
        probs += torch.sigmoid(logits.float()).cpu().tolist()
        losses += per_sample.cpu().tolist()
    out = np.full(n_samples, np.nan)
    view_loss = np.full(n_samples, np.nan)
    bad: dict[int, str] = {}
    for part_idx, part_probs, part_losses, part_skipped in gather_objects(
        step.runtime, (indices, probs, losses, skipped)
    ):
        out[part_idx] = part_probs  # padding duplicates write the same value twice
        view_loss[part_idx] = part_losses
        bad.update(dict(part_skipped))
    scored = np.isfinite(view_loss)
    mean_loss = float(view_loss[scored].mean()) if scored.any() else float("nan")
    return out, mean_loss, sorted(bad.items())


def study_results(
    studies: Sequence[Study],
    view_study: Sequence[int],
    view_paths: Sequence[str],
    view_probabilities: np.ndarray,
    rule: VerdictRule,
) -> list[StudyResult]:
    """Aggregate view probabilities into studies exactly as the viewer does."""
    per_study: list[list[ViewResult]] = [[] for _ in studies]
    for s, path, p in zip(view_study, view_paths, view_probabilities, strict=True):
        per_study[s].append(
            ViewResult(path=path, probability=float(p))
            if np.isfinite(p)
            else ViewResult(path=path, error="could not be read")
        )
    return [
        StudyResult.from_views(study, views, rule)
        for study, views in zip(studies, per_study, strict=True)
    ]


def evaluate(
    step: Step,
    model: nn.Module,
    criterion: AbnormalityLoss,
    loader,
    studies: Sequence[Study],
    samples: Sequence,
    rule: VerdictRule | None = None,
) -> Evaluation:
    """Validation loss, view probabilities and study-level metrics (overall and per part)."""
    rule = rule or VerdictRule()
    probs, loss, skipped = predict_views(step, model, criterion, loader, len(samples))
    results = study_results(
        studies, [s.study for s in samples], [s.path for s in samples], probs, rule
    )
    return Evaluation(
        loss=loss,
        view_probabilities=probs,
        studies=results,
        metrics=study_metrics(results),
        skipped=skipped,
    )
