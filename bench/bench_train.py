"""Is data loading the training bottleneck? Training images/s vs the model's bare step.

Prints, for one configuration, in one run:

- full loop: the trainer's own ``train_one_epoch`` over a DataLoader with workers reading
  the resized-image cache (filled by a warm-up epoch), with augmentation and host->device
  copies, i.e. what ``mura-train fit`` does per epoch;
- bare step: forward + backward + Adam step of the same model on one batch already on the
  device (no data loading at all), same batch size, precision and memory format;
- their ratio (target >= 0.9: the loader keeps the model busy).

Full-loop epochs and bare-step runs alternate for ``--rounds`` rounds and the median
ratio is reported, because other processes on a shared machine make throughput drift.

    python bench/bench_train.py                                 # CPU, 224 px, densenet169
    python bench/bench_train.py --size 320 --device cuda --workers 8 --batches 60
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as mura-train sets it

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from mura_desktop.core.discovery import discover
from mura_desktop.inference.device import choose_device
from mura_desktop.inference.network import build_network
from mura_desktop.phantoms import generate_dataset
from trainer.augment import Augmentation
from trainer.config import TrainConfig
from trainer.data import dataset_root, make_split, view_samples
from trainer.dataset import ViewDataset, make_loader
from trainer.distributed import Runtime
from trainer.engine import Step, TrainingModel, batch_loss, train_one_epoch
from trainer.fit import amp_dtype as _amp_dtype
from trainer.image_cache import ImageCache
from trainer.losses import build_loss


def bare_rate(step: Step, model, criterion, optimizer, scaler, batch, n: int) -> float:
    """Images/s of forward + backward + optimizer step on a batch that is already loaded."""
    model.train()
    for i in range(n + 1):
        if i == 1:  # the first step pays one-off costs (allocator, kernel selection)
            _sync(step.device)
            start = time.perf_counter()
        loss, _ = batch_loss(step, model, criterion, batch)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    _sync(step.device)
    return n * len(batch) / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="densenet169")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--batches", type=int, default=6, help="batches per timed epoch")
    parser.add_argument("--rounds", type=int, default=4, help="full-loop / bare-step pairs")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=TrainConfig().workers)
    parser.add_argument("--amp", default="auto", choices=("auto", "off", "fp16", "bf16"))
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--data", type=Path, help="a dataset to read (default: generate one)")
    args = parser.parse_args()

    device, note = choose_device(args.device)
    if note:
        print(f"note: {note}")
    tmp = tempfile.TemporaryDirectory(prefix="bench-train-")
    if args.data is None:
        args.data = Path(tmp.name) / "phantoms"
        n_studies = max(8, args.batches * args.batch_size // 2)
        generate_dataset(args.data, n_studies, seed=0, size=512, workers=2)
    root, _ = dataset_root(args.data)
    split = make_split(discover([root]).studies, valid_fraction=0.1)
    samples = view_samples(split.train)
    need = args.batches * args.batch_size
    samples = (samples * (need // len(samples) + 1))[:need]

    config = TrainConfig(arch=args.arch, size=args.size, amp=args.amp)
    cache = ImageCache(Path(tmp.name) / "cache", args.size)
    loader, sampler = make_loader(
        ViewDataset(samples, cache, Augmentation(), seed=0),
        batch_size=args.batch_size,
        train=True,
        workers=args.workers,
        seed=0,
        pin_memory=device.type == "cuda",
    )
    channels_last = args.channels_last and device.type == "cuda"
    net = build_network(args.arch).to(
        device, memory_format=torch.channels_last if channels_last else None
    )
    model = TrainingModel(net)
    amp_dtype = _amp_dtype(config, device)
    step = Step(Runtime(device), amp_dtype, channels_last)
    criterion = build_loss(split.train, "part-studies", "wbce", 0.0).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)

    print(
        f"{args.arch} {args.size}px batch {args.batch_size} on {device} "
        f"({str(amp_dtype).removeprefix('torch.') if amp_dtype else 'fp32'}, "
        f"{'channels-last' if channels_last else 'contiguous'}), {args.workers} workers, "
        f"{torch.get_num_threads()} torch threads, {args.batches} batches"
    )
    sampler.set_epoch(0)
    warm = train_one_epoch(step, model, criterion, loader, optimizer, scaler, epoch=0)
    print(f"warm-up epoch (decodes PNGs, fills the cache): {warm.images_per_s:7.1f} images/s")
    batch = next(iter(loader))
    bare_rate(step, model, criterion, optimizer, scaler, batch, 1)
    fulls, bares = [], []
    for round_ in range(1, args.rounds + 1):
        sampler.set_epoch(round_)
        full = train_one_epoch(step, model, criterion, loader, optimizer, scaler, epoch=round_)
        bare = bare_rate(step, model, criterion, optimizer, scaler, batch, args.batches)
        fulls.append(full.images_per_s)
        bares.append(bare)
        print(
            f"round {round_}: full loop {full.images_per_s:7.2f} images/s, bare step "
            f"{bare:7.2f} images/s, ratio {full.images_per_s / bare:.2f}"
        )
    full_rate, bare_rate_ = float(np.median(fulls)), float(np.median(bares))
    ratio = float(np.median([f / b for f, b in zip(fulls, bares, strict=True)]))
    print(f"full training loop (cache + workers): {full_rate:7.2f} images/s (median)")
    print(f"bare forward+backward+step:           {bare_rate_:7.2f} images/s (median)")
    print(f"ratio full / bare:                    {ratio:7.2f} (median of rounds; target >= 0.9)")
    tmp.cleanup()


if __name__ == "__main__":
    main()
