"""End-to-end evidence on synthetic data: train on the CPU, then check AUROC and heatmaps.

1. Generate ~3,000 phantom studies (all body parts, 256 px) with ground-truth masks, or
   reuse a folder made by ``mura-train phantoms``.
2. Measure this machine's training throughput and choose the number of epochs that fits
   the time budget (default 30 min of training).
3. ``mura-train fit`` from random weights; checkpoints are selected on a patient-grouped
   10% of the *training* split, so the shipped ``valid`` split stays unseen.
4. Score the held-out ``valid`` studies with the engine's ``Predictor`` (the viewer's
   code path) and print the study AUROC (target >= 0.95) and the heatmaps' localisation
   on abnormal views with a non-empty mask (``trainer.localisation``): the pointing game
   within 15 px (target >= 80%), strict, energy and pixel AUROC, per abnormality kind,
   beside the resolution oracle of the map's grid.

    python bench/synthetic_check.py --out-dir out/synthetic            # generate + train
    python bench/synthetic_check.py --data out/synthetic/phantoms      # reuse a dataset
    python bench/synthetic_check.py --resume out/synthetic/run-... --epochs 6  # train longer
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as mura-train sets it

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from mura_desktop.core.discovery import discover
from mura_desktop.core.localisation import TOLERANCE_PX, format_localisation_table
from mura_desktop.core.metrics import OVERALL, format_metrics_table, study_metrics
from mura_desktop.core.progress import ProgressBar
from mura_desktop.inference.bundle import load_bundle
from mura_desktop.inference.network import build_network
from mura_desktop.inference.predictor import Predictor
from mura_desktop.phantoms import generate_dataset
from mura_desktop.phantoms.dataset import is_phantom_dataset
from trainer.config import SCHEDULES, TrainConfig
from trainer.data import dataset_root, make_split, view_samples
from trainer.fit import amp_dtype, fit
from trainer.localisation import MODEL_MAP, LocalisationCheck


def measure_rate(config: TrainConfig, steps: int = 3) -> float:
    """Training images/s of forward + backward + Adam on random data (after one warm-up),
    with the run's mixed precision and memory format."""
    net = build_network(config.arch, output_stride=config.output_stride).to(
        memory_format=torch.channels_last
    )
    optimizer = torch.optim.Adam(net.parameters())
    x = torch.rand(config.batch_size, 3, config.size, config.size)
    x, y = x.contiguous(memory_format=torch.channels_last), torch.rand(config.batch_size)
    dtype = amp_dtype(config, torch.device("cpu"))
    for i in range(steps + 1):
        if i == 1:
            start = time.perf_counter()
        with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            logits = net(x).float()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return steps * config.batch_size / (time.perf_counter() - start)


def prepare_data(args: argparse.Namespace) -> Path:
    """The phantom dataset: ``--data``, or generated (or reused) under ``--out-dir``."""
    if args.data is not None:
        return args.data
    data = args.out_dir / "phantoms"
    if is_phantom_dataset(data):
        print(f"reusing {data}")
        return data
    bar = ProgressBar(args.studies, "studies", stream=sys.stdout)
    summary = generate_dataset(
        data, args.studies, seed=args.seed, size=args.gen_size, workers=2,
        progress=lambda done, total: bar.update(done),
    )  # fmt: skip
    print(summary.line())
    return data


def new_run(args: argparse.Namespace, data: Path) -> TrainConfig:
    """A config whose epoch count fits ``--budget-min`` at this machine's current speed."""
    split = make_split(discover([dataset_root(data)[0]]).studies, valid_fraction=0.1)
    n_train = len(view_samples(split.train))
    n_eval = len(view_samples(split.valid))
    config = TrainConfig(
        data=str(data), out=str(args.out_dir / f"run-{time.strftime('%Y%m%d-%H%M%S')}"),
        arch=args.arch, size=args.size, output_stride=args.output_stride,
        flip_average=args.flip_average, amp=args.amp, batch_size=args.batch_size, lr=args.lr,
        schedule=args.schedule, init="random", valid_fraction=0.1, seed=args.seed,
        workers=args.workers, device="cpu", cache_dir=str(args.out_dir / "cache"),
        log_every=50, keep_best=1, demo=True, name=f"synthetic-phantom {args.arch} {args.size}px",
    )  # fmt: skip
    rate = measure_rate(config)
    # 1.25: the loader, augmentation and other processes cost some of the measured rate
    epoch_s = n_train / rate * 1.25 + n_eval / (3 * rate)
    epochs = args.epochs or max(1, min(args.max_epochs, math.floor(args.budget_min * 60 / epoch_s)))
    precision = str(amp_dtype(config, torch.device("cpu")) or "float32").removeprefix("torch.")
    print(
        f"{args.arch} {args.size}px ({precision}): {rate:.1f} training images/s on this CPU "
        f"now; {n_train} training views -> about "
        f"{epoch_s / 60:.1f} min/epoch; {epochs} epochs"
    )
    return replace(config, epochs=epochs)


def evaluate_held_out(data: Path, bundle_path: Path) -> tuple[float, float]:
    """Print the held-out metrics and the heatmaps' localisation; return (AUROC, pointing
    game with the 15 px tolerance)."""
    bundle = load_bundle(bundle_path)
    studies = discover([dataset_root(data)[0]]).studies
    held_out = [s for s in studies if s.split == "valid" and s.label is not None]
    results = []
    bar = ProgressBar(len(held_out), "held-out studies", stream=sys.stdout)
    with (
        Predictor(bundle, device="cpu") as predictor,
        LocalisationCheck(data, bundle) as check,
    ):
        for i, prediction in enumerate(predictor.predict_many(held_out, heatmaps=True), 1):
            results.append(prediction.result)
            check.add(prediction)
            bar.update(i)
        localisation = check.summaries()
    metrics = study_metrics(results)
    overall = metrics[OVERALL]
    print("\nHeld-out (shipped valid split, never used for training or selection):")
    print(format_metrics_table(metrics))
    print(
        f"\nstudy AUROC {overall.auroc:.3f} (target >= 0.95: "
        f"{'met' if overall.auroc >= 0.95 else 'NOT met'}); kappa {overall.kappa:.3f}"
    )
    model = localisation[MODEL_MAP][OVERALL]
    print(
        f"pointing game within {TOLERANCE_PX:.0f} px {model.tolerance:.1%} (target >= 80%: "
        f"{'met' if model.tolerance >= 0.8 else 'NOT met'}); strict {model.strict:.1%}, "
        f"energy {model.energy:.3f}, pixel AUROC {model.pixel_auroc:.3f} over {model.n} "
        "abnormal views with a mask"
    )
    print(format_localisation_table(localisation))
    return overall.auroc, model.tolerance


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="reuse this phantom dataset (OUT of phantoms)")
    parser.add_argument("--out-dir", type=Path, default=Path("out/synthetic-check"))
    parser.add_argument("--studies", type=int, default=3000)
    parser.add_argument("--gen-size", type=int, default=256, help="phantom image size")
    parser.add_argument("--arch", default="densenet121")
    parser.add_argument(
        "--size", type=int, default=192,
        help="training input size; the heatmap grid is size/stride: 6x6 cells at 192 px and "
        "stride 32 (a centre of one falls in 100%% of the phantoms' masks), 12x12 at stride 16",
    )  # fmt: skip
    parser.add_argument("--output-stride", type=int, default=32, choices=(32, 16))
    parser.add_argument(
        "--flip-average", action="store_true", help="the bundle averages each view with its mirror"
    )
    parser.add_argument("--amp", default="auto", help="mixed precision (as mura-train fit)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3, help="from random weights: 1e-3")
    parser.add_argument("--schedule", default="cosine", choices=SCHEDULES)
    parser.add_argument("--budget-min", type=float, default=28.0, help="training minutes")
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--epochs", type=int, help="fixed epochs (default: fit the budget)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bundle", type=Path, help="also copy the bundle here")
    parser.add_argument(
        "--resume", type=Path, metavar="RUN_DIR",
        help="continue an earlier run of this script to --epochs in all, then evaluate",
    )  # fmt: skip
    args = parser.parse_args()

    started = time.perf_counter()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.resume:
        saved = TrainConfig.load(args.resume)
        data = Path(saved.data)
        config = replace(saved.with_overrides({"epochs": args.epochs or saved.epochs}),
                         out=str(args.resume))  # fmt: skip
    else:
        data = prepare_data(args)
        config = new_run(args, data)
    train_started = time.perf_counter()
    result = fit(config, resume=bool(args.resume))
    train_min = (time.perf_counter() - train_started) / 60
    print(f"training: {result.status} after {result.epochs_done} epochs in {train_min:.1f} min")
    if result.bundle is None:
        print(f"no bundle: {result.message}")
        return 1
    evaluate_held_out(data, result.bundle)
    if args.bundle:
        shutil.copyfile(result.bundle, args.bundle)
    total_min = (time.perf_counter() - started) / 60
    print(f"bundle {args.bundle or result.bundle}; total {total_min:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
