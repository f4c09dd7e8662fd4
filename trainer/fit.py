"""``fit``: a whole training run, from a dataset folder to ``RUN_DIR/model.mura``.

Run folder layout::

    config.json          the resolved configuration
    metrics.jsonl        start / step / epoch / end / error records (schema: core.run_log)
    checkpoints/         last.pt after every epoch, epoch-NNN.pt for the best k
    plots/               loss.png, kappa.png, roc.png, confusion.png (at the end)
    model.mura           the bundle of the best checkpoint(s) (at the end)

Under ``torchrun`` every rank runs this function; only rank 0 writes files or prints.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from mura_desktop import __version__
from mura_desktop.core.discovery import discover
from mura_desktop.core.locations import trainer_image_cache_dir
from mura_desktop.core.metrics import OVERALL, format_metrics_table
from mura_desktop.core.progress import ProgressBar, format_duration
from mura_desktop.core.run_log import BUNDLE_FILE, METRICS_FILE, read_records
from trainer import distributed
from trainer.amp_probe import bfloat16_trains_faster
from trainer.augment import Augmentation
from trainer.checkpoint import (
    LAST,
    CheckpointSaver,
    load_checkpoint,
    restore_rng_state,
    rng_state,
)
from trainer.config import CONFIG_FILE, TrainConfig
from trainer.data import DataSplit, dataset_root, make_split, view_samples
from trainer.dataset import ViewDataset, make_loader
from trainer.engine import (
    DivergedError,
    DivergenceGuard,
    Evaluation,
    NonFiniteLossError,
    Step,
    TrainingModel,
    evaluate,
)
from trainer.engine import train_one_epoch as run_epoch
from trainer.export import CHECKPOINTS, export_run
from trainer.image_cache import ImageCache
from trainer.initial_weights import InitError, initial_network
from trainer.losses import build_loss, class_weights
from trainer.metrics_log import MetricsLog
from trainer.plots import write_run_plots

COMPLETED = "completed"
EARLY_STOPPED = "early_stopped"
INTERRUPTED = "interrupted"
DIVERGED = "diverged"
COSINE_WARMUP_STEPS = 200


class RunError(Exception):
    """A run that cannot start (folder in use, no data, ...); the message says why."""


@dataclass
class FitResult:
    """How a run ended. ``bundle`` is the exported model (None if the run did not finish)."""

    run_dir: Path
    status: str
    epochs_done: int
    best_epoch: int | None
    best_value: float | None
    bundle: Path | None
    message: str = ""


def _lr_scheduler(
    config: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau:
    """``plateau`` steps once per epoch on the validation loss; ``cosine`` once per batch."""
    if config.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=config.plateau_factor, patience=config.plateau_patience
        )
    total = max(1, config.epochs * steps_per_epoch)
    warmup = max(1, min(COSINE_WARMUP_STEPS, total // 20))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def amp_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    if config.amp == "off":
        return None
    if device.type == "cpu":
        wanted = config.amp == "bf16" or (
            config.amp == "auto"
            and bfloat16_trains_faster(config.arch, config.size, channels_last=config.channels_last)
        )
        return torch.bfloat16 if wanted else None
    if config.amp == "bf16" or (config.amp == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


def _selection_value(config: TrainConfig, evaluation: Evaluation) -> float:
    if config.select_metric == "valid_loss":
        return evaluation.loss
    overall = evaluation.metrics.get(OVERALL)
    return float(getattr(overall, config.select_metric)) if overall else float("nan")


def _validation_record(split: DataSplit, evaluation: Evaluation, samples) -> dict:
    """What a checkpoint stores so export can pick thresholds without the data."""
    return {
        "view_probs": torch.from_numpy(evaluation.view_probabilities.astype(np.float64)),
        "view_study": torch.tensor([s.study for s in samples], dtype=torch.long),
        "study_labels": torch.tensor([int(s.label) for s in split.valid], dtype=torch.long),
        "study_parts": [s.body_part or "" for s in split.valid],
        "study_uids": [s.uid for s in split.valid],
        "study_patients": [s.patient_id or "" for s in split.valid],
    }


def _epoch_record(
    epoch: int, config: TrainConfig, stats, evaluation: Evaluation, lr: float, step: int
) -> dict:
    overall = evaluation.metrics.get(OVERALL)
    record = {
        "epoch": epoch,
        "epochs": config.epochs,
        "step": step,
        "lr": lr,
        "train_loss": stats.loss,
        "valid_loss": evaluation.loss,
        "train_images": stats.images,
        "train_skipped": len(stats.skipped),
        "valid_skipped": len(evaluation.skipped),
        "images_per_s": stats.images_per_s,
        "epoch_seconds": stats.seconds,
    }
    if overall is not None:
        record.update({
            k: v for k, v in overall.to_dict().items() if k not in ("n_positive", "threshold")
        })  # fmt: skip
        record["parts"] = {
            name: {k: m.to_dict()[k] for k in ("n", "kappa", "auroc", "accuracy")}
            for name, m in evaluation.metrics.items()
            if name != OVERALL
        }
    return record


class _Console:
    """Prints on rank 0 only."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled

    def __call__(self, text: str = "") -> None:
        if self.enabled:
            print(text, file=self.stream, flush=True)


def fit(
    config: TrainConfig,
    *,
    resume: bool = False,
    stream: TextIO | None = None,
) -> FitResult:
    """Train as ``config`` says; with ``resume``, continue ``config.out`` from ``last.pt``.

    Raises ``RunError`` (and ``ValueError`` subclasses for bad data or settings) before
    training starts; once it has started, a NaN/inf loss or an interrupt end the run with
    the matching ``FitResult.status`` and the last good checkpoint in place.
    """
    runtime = distributed.start(config.device)
    try:
        return _fit(config, runtime, resume, stream or sys.stdout)
    finally:
        distributed.stop(runtime)


def _fit(
    config: TrainConfig,
    runtime: distributed.Runtime,
    resume: bool,
    stream: TextIO,
) -> FitResult:
    say = _Console(stream, runtime.is_main)
    run_dir = Path(config.out)
    ckpt_dir = run_dir / CHECKPOINTS
    last_path = ckpt_dir / LAST
    problem = None
    restarted = False
    if resume and not last_path.is_file() and (run_dir / CONFIG_FILE).is_file():
        # Stopped during epoch 1 (kill, Ctrl-C, NaN): nothing was checkpointed, so the run
        # starts over from the beginning with its own config; its partial log goes.
        resume, restarted = False, True
        if runtime.is_main:
            (run_dir / METRICS_FILE).unlink(missing_ok=True)
    if runtime.is_main:
        if resume and not last_path.is_file():
            problem = f"{run_dir}: nothing to resume (no {CHECKPOINTS}/{LAST})"
        elif not resume and (last_path.exists() or (run_dir / METRICS_FILE).exists()):
            problem = (
                f"{run_dir} already holds a run; continue it with --resume {run_dir} "
                "or choose another --out"
            )
        else:
            ckpt_dir.mkdir(parents=True, exist_ok=True)
            config.save(run_dir)
    # Every rank must stop on rank 0's problem, or the others would wait for it forever.
    problem = distributed.broadcast_object(runtime, problem)
    if problem:
        raise RunError(problem)
    if runtime.note:
        say(f"warning: {runtime.note}")
    if restarted:
        say(f"{run_dir} stopped before its first checkpoint: starting it again from epoch 1")

    if config.threads > 0:
        torch.set_num_threads(config.threads)
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)

    root, split, train_samples, valid_samples, train_loader, train_sampler, valid_loader = (
        _load_data(config, runtime, say)
    )
    net, criterion, optimizer, scheduler, precision, scaler = _build_model(
        config, runtime, split, len(train_loader)
    )
    channels_last = config.channels_last
    saver = CheckpointSaver(
        ckpt_dir, config.keep_best, config.select_metric == "valid_loss", runtime.is_main
    )
    epoch_done, global_step = 0, 0
    divergence = DivergenceGuard()
    log = MetricsLog(run_dir / METRICS_FILE, enabled=runtime.is_main)

    if resume:
        state = load_checkpoint(last_path)
        epoch_done, global_step = _restore(state, config, net, optimizer, scheduler, scaler)
        saver.restore(state)
        divergence = DivergenceGuard(state.get("loss_start"))
        log.keep_until_epoch(epoch_done, state.get("epoch_record"))
        say(f"resuming {run_dir} after epoch {epoch_done}")

    eval_model = TrainingModel(net)
    model: nn.Module = eval_model
    if runtime.distributed:
        model = DistributedDataParallel(
            model,
            device_ids=[runtime.device.index] if runtime.device.type == "cuda" else None,
            find_unused_parameters=config.body_part_head and config.body_part_loss_weight == 0,
        )
    if config.compile:
        model = torch.compile(model)
    step = Step(
        runtime, precision, channels_last, config.body_part_loss_weight, config.cam_equivariance
    )

    log.write(
        "start",
        epoch=epoch_done,
        epochs=config.epochs,
        resumed_from=epoch_done if resume else None,
        run_dir=str(run_dir),
        config=config.to_dict(),
        device=str(runtime.device),
        world_size=runtime.world_size,
        amp=str(precision).removeprefix("torch.") if precision else "off",
        train_studies=len(split.train),
        valid_studies=len(split.valid),
        train_views=len(train_samples),
        valid_views=len(valid_samples),
        split=split.description,
        class_weights=class_weights(split.train, config.class_weights).to_dict(),
        trainer_version=__version__,
    )
    say(
        f"{config.arch} {config.size}px batch {config.batch_size}×{runtime.world_size} on "
        f"{runtime.device}" + (f" ({str(precision).removeprefix('torch.')})" if precision else "")
    )

    status, message = COMPLETED, ""
    try:
        for epoch in range(epoch_done + 1, config.epochs + 1):
            train_sampler.set_epoch(epoch)
            lr = optimizer.param_groups[0]["lr"]
            say(f"epoch {epoch}/{config.epochs}  lr {lr:.2e}")
            on_step = _step_reporter(
                log,
                config,
                epoch,
                global_step,
                len(train_loader),
                runtime.is_main,
                stream,
                optimizer,
            )
            stats = run_epoch(
                step,
                model,
                criterion,
                train_loader,
                optimizer,
                scaler,
                epoch=epoch,
                first_step=global_step,
                on_step=on_step,
                after_step=scheduler.step if config.schedule == "cosine" else None,
                divergence=divergence,
            )
            global_step += stats.steps
            distributed.sync_buffers(runtime, net)
            evaluation = evaluate(
                step, eval_model, criterion, valid_loader, split.valid, valid_samples
            )
            if config.schedule == "plateau":
                scheduler.step(evaluation.loss)
            value = _selection_value(config, evaluation)
            record = _epoch_record(epoch, config, stats, evaluation, lr, global_step)
            is_best = saver.best_k.ranks_first(epoch, value)  # the log record says so
            logged = log.record("epoch", **record, best=is_best, select_value=value)
            state = {
                "epoch_record": logged,
                "loss_start": divergence.start,
                "step": global_step,
                "model": net.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(),
                "select_metric": config.select_metric,
                "config": config.to_dict(),
                "rng": rng_state(),
                "valid": _validation_record(split, evaluation, valid_samples),
                "dataset": str(root.resolve()),
                "split": f"{split.description}: {len(split.train)} train / "
                f"{len(split.valid)} valid studies",
                "trainer_version": __version__,
                "device": f"{runtime.device} × {runtime.world_size}"
                + (f", {str(precision).removeprefix('torch.')}" if precision else ""),
            }
            saver.save(epoch, value, state)
            log.append(logged)
            say(_epoch_line(record, is_best))
            _report_skipped(say, stats.skipped, evaluation.skipped, train_samples, valid_samples)
            distributed.barrier(runtime)
            if config.early_stop_patience and saver.since_best >= config.early_stop_patience:
                status = EARLY_STOPPED
                message = f"no improvement of {config.select_metric} for {saver.since_best} epochs"
                say(f"early stop: {message}")
                break
    except NonFiniteLossError as exc:
        status, message = DIVERGED, str(exc)
        log.write(
            "error",
            kind="diverged" if isinstance(exc, DivergedError) else "non_finite_loss",
            epoch=exc.epoch,
            step=exc.step,
            message=message,
            checkpoint=str(last_path) if last_path.exists() else None,
        )
        say(f"error: {message}")
    except KeyboardInterrupt:
        status, message = INTERRUPTED, "interrupted; continue with --resume"
        say(f"\n{message} {run_dir}")

    epochs_done = saver.last_epoch() if runtime.is_main else 0
    best = saver.best
    bundle_path, test = None, None
    if status in (COMPLETED, EARLY_STOPPED) and runtime.is_main:
        bundle_path = _finish(run_dir, config, say)
        if config.valid_fraction is not None:
            test = _clean_test(run_dir, bundle_path, config, split.description, say)
    log.write(
        "end",
        status=status,
        message=message,
        test=test,
        epoch=epochs_done,
        best_epoch=best.epoch if best else None,
        best_value=best.value if best else None,
        select_metric=config.select_metric,
        bundle=str(bundle_path) if bundle_path else None,
    )
    return FitResult(
        run_dir,
        status,
        epochs_done,
        best.epoch if best else None,
        best.value if best else None,
        bundle_path,
        message,
    )


class _Data(NamedTuple):
    root: Path
    split: DataSplit
    train_samples: list
    valid_samples: list
    train_loader: Any
    train_sampler: Any
    valid_loader: Any


def _load_data(config: TrainConfig, runtime: distributed.Runtime, say: _Console) -> _Data:
    """Discover and split the dataset; the loaders for this rank's share of it."""
    root, note = dataset_root(config.data)
    if note:
        say(note)
    scan = discover([root])
    if scan.problems:
        say(f"{len(scan.problems)} path(s) skipped while scanning {root}")
    split = make_split(
        scan.studies, parts=config.parts, valid_fraction=config.valid_fraction, seed=config.seed
    )
    say(split.summary())
    train_samples, valid_samples = view_samples(split.train), view_samples(split.valid)
    cache = ImageCache(config.cache_dir or trainer_image_cache_dir(), config.size)
    augmentation = Augmentation(config.flip, config.rotation, config.contrast)
    pin = runtime.device.type == "cuda"
    train_loader, train_sampler = make_loader(
        ViewDataset(train_samples, cache, augmentation, config.seed),
        batch_size=config.batch_size,
        train=True,
        workers=config.workers,
        seed=config.seed,
        rank=runtime.rank,
        world_size=runtime.world_size,
        pin_memory=pin,
    )
    valid_loader, _ = make_loader(
        ViewDataset(valid_samples, cache, None, config.seed),
        batch_size=config.batch_size * 2,
        train=False,
        workers=config.workers,
        seed=config.seed,
        rank=runtime.rank,
        world_size=runtime.world_size,
        pin_memory=pin,
    )
    return _Data(
        root, split, train_samples, valid_samples, train_loader, train_sampler, valid_loader
    )


def _initial_network(config: TrainConfig):
    return initial_network(
        config.arch, config.init, body_part_head=config.body_part_head,
        output_stride=config.output_stride,
    )  # fmt: skip


def _build_model(
    config: TrainConfig, runtime: distributed.Runtime, split: DataSplit, steps_per_epoch: int
):
    """The network on its device, the loss, optimiser, schedule, precision and scaler."""
    net, problem = None, None
    if runtime.is_main:  # rank 0 downloads ImageNet weights once, the others reuse the file
        try:
            net = _initial_network(config)
        except InitError as exc:
            problem = str(exc)
    problem = distributed.broadcast_object(runtime, problem)
    if problem:
        raise InitError(problem)
    if net is None:
        net = _initial_network(config)
    net = net.to(
        runtime.device, memory_format=torch.channels_last if config.channels_last else None
    )
    if runtime.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    criterion = build_loss(split.train, config.class_weights, config.loss, config.focal_gamma)
    criterion = criterion.to(runtime.device)
    optimizer = torch.optim.Adam(
        net.parameters(), lr=config.lr, betas=(0.9, 0.999), weight_decay=config.weight_decay
    )
    scheduler = _lr_scheduler(config, optimizer, steps_per_epoch)
    precision = amp_dtype(config, runtime.device)
    scaler = torch.amp.GradScaler(runtime.device.type, enabled=precision == torch.float16)
    return net, criterion, optimizer, scheduler, precision, scaler


def _restore(
    state: dict,
    config: TrainConfig,
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler,
    scaler: torch.amp.GradScaler,
) -> tuple[int, int]:
    """Put a ``last.pt`` back into the training objects; returns (epoch, step) done."""
    net.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    scaler.load_state_dict(state["scaler"])
    restore_rng_state(state["rng"])
    if state["config"]["lr"] != config.lr:  # --lr given again on resume: use it
        for group in optimizer.param_groups:
            group["lr"] = config.lr
    return int(state["epoch"]), int(state["step"])


def _report_skipped(say, train_skipped, valid_skipped, train_samples, valid_samples) -> None:
    for what, skipped, samples in (
        ("training", train_skipped, train_samples),
        ("validation", valid_skipped, valid_samples),
    ):
        if skipped:
            index, reason = skipped[0]
            say(
                f"  skipped {len(skipped)} unreadable {what} view(s), "
                f"e.g. {samples[index].path}: {reason}"
            )


def _step_reporter(
    log: MetricsLog,
    config: TrainConfig,
    epoch: int,
    first_step: int,
    n_batches: int,
    is_main: bool,
    stream: TextIO,
    optimizer: torch.optim.Optimizer,
) -> Callable[[int, int, float, float], None]:
    """Logs every ``log_every`` batches with the learning rate of that moment (a cosine
    schedule changes it every batch)."""
    bar = ProgressBar(n_batches, "batches", stream=stream)

    def on_step(batch: int, batches: int, loss: float, rate: float) -> None:
        if not is_main:
            return
        bar.update(batch)
        if batch % config.log_every == 0 or batch == batches:
            log.write(
                "step",
                epoch=epoch,
                step=first_step + batch,
                batch=batch,
                batches=batches,
                train_loss=loss,
                lr=optimizer.param_groups[0]["lr"],
                images_per_s=rate,
            )

    return on_step


def _epoch_line(record: dict, is_best: bool) -> str:
    def f(key: str) -> str:
        v = record.get(key)
        return "—" if v is None or not np.isfinite(v) else f"{v:.4f}"

    return (
        f"  train loss {f('train_loss')}  valid loss {f('valid_loss')}  κ {f('kappa')}  "
        f"AUROC {f('auroc')}  {record['images_per_s']:.1f} img/s  "
        f"{format_duration(record['epoch_seconds'])}" + ("  *best" if is_best else "")
    )


def _finish(run_dir: Path, config: TrainConfig, say: _Console) -> Path:
    """Export the bundle, draw the plots, print the summary table."""
    out = run_dir / BUNDLE_FILE
    bundle, scores = export_run(run_dir, out)
    history = [r for r in read_records(run_dir / METRICS_FILE) if r["event"] == "epoch"]
    overall = scores.metrics.get(OVERALL)
    if overall is not None:
        write_run_plots(run_dir / "plots", history, scores.labels, scores.probabilities, overall)
    epochs = bundle.provenance["members_epochs"]
    say(
        f"\nValidation studies ({bundle.provenance['split']}; they chose the model, so these "
        f"figures are optimistic), model of epoch(s) {epochs} (threshold 0.50):"
    )
    say(format_metrics_table(scores.metrics))
    points = ", ".join(f"{k} {v:.3f}" for k, v in bundle.operating_points.items())
    say(f"operating points: {points}")
    say(f"wrote {out} ({bundle.content_hash[:12]})")
    return out


TEST_RESULTS = "test-results.json"


def _clean_test(
    run_dir: Path, bundle_path: Path, config: TrainConfig, chosen_on: str, say: _Console
) -> dict | None:
    """The chosen model scored on the shipped ``valid`` split, which took no part in
    training or selection when a fraction of train was held out to choose the model."""
    from mura_desktop.core.stats.summary import format_statistics_table
    from trainer.data import DataError
    from trainer.evaluation import evaluate_model

    try:
        outcome = evaluate_model(
            bundle_path, config.data, split="valid", parts=config.parts, device=config.device
        )
    except DataError:
        say("\nno shipped valid split in the data: no clean test of the chosen model")
        return None
    outcome.results.to_json(run_dir / TEST_RESULTS)
    overall = outcome.statistics.groups.get(OVERALL)
    say(f"\nClean test: model chosen on {chosen_on}; scored on {outcome.scored_on}")
    say(format_statistics_table(outcome.statistics))
    if outcome.localisation is not None:
        from mura_desktop.core.localisation import format_localisation_table

        say("\nHeatmap localisation on the same studies (abnormal views with a mask):")
        say(format_localisation_table(outcome.localisation))
    say(f"wrote {run_dir / TEST_RESULTS}")
    if overall is None:
        return None
    return {
        "chosen_on": chosen_on,
        "scored_on": outcome.scored_on,
        "studies": overall.metrics.n,
        "kappa": overall.metrics.to_dict()["kappa"],
        "auroc": overall.metrics.to_dict()["auroc"],
        "intervals": {k: overall.intervals[k].to_dict() for k in ("kappa", "auroc")},
        "results": TEST_RESULTS,
    }
