"""Engine overhead: bare DenseNet forward vs the predictor's end-to-end study time.

On the same four-view study of PNG files (512-pixel radiograph phantoms when
``mura_desktop.phantoms`` is importable, Pillow drawings otherwise) and the same random
DenseNet-169 bundle at 320 px, it times

* the bare forward of the preprocessed 4×3×320×320 batch (a plain fp32 model in
  ``torch.inference_mode``),
* ``Predictor.predict_study`` from the files: decode, preprocess, forward, heatmaps at
  image resolution, aggregation,

alternating the two so that load from other processes falls on both alike, and reports
medians, their ratio, a breakdown of the non-forward steps and peak memory.

    PYTHONPATH=. python bench/bench_latency.py [--device auto|cpu|cuda] [--repeats 7]
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from mura_desktop.core.pixels import load_image
from mura_desktop.core.study import Study, View
from mura_desktop.inference.bundle import ModelBundle
from mura_desktop.inference.cam import display_heatmap
from mura_desktop.inference.network import build_network
from mura_desktop.inference.predictor import Predictor
from mura_desktop.inference.preprocess import preprocess_batch

PARTS = ("WRIST", "WRIST", "ELBOW", "HAND")


def write_study(folder: Path, n_views: int, seed: int = 0) -> tuple[Study, str]:
    """PNG views in ``folder``; returns the study and how the images were made."""
    rng = np.random.default_rng(seed)
    if importlib.util.find_spec("mura_desktop.phantoms.render") is not None:
        from mura_desktop.phantoms.render import render_view

        arrays = [render_view(PARTS[i % 4], rng, size=512).image for i in range(n_views)]
        source = "mura_desktop.phantoms.render_view(size=512)"
    else:
        arrays = [_drawn_radiograph(rng) for _ in range(n_views)]
        source = "Pillow drawings 512×420"
    views = []
    for i, array in enumerate(arrays):
        path = folder / f"image{i + 1}.png"
        Image.fromarray(array).save(path)
        views.append(View(path))
    return Study(uid=str(folder), name="bench study", views=views, body_part="WRIST"), source


def _drawn_radiograph(rng: np.random.Generator) -> np.ndarray:
    image = Image.fromarray((rng.random((512, 420)) * 30 + 10).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        x, y = int(rng.integers(60, 300)), int(rng.integers(20, 200))
        draw.rounded_rectangle((x, y, x + 50, y + 280), radius=20, fill=int(rng.integers(150, 230)))
    return np.asarray(image.filter(ImageFilter.GaussianBlur(2)))


def timed(fn: Callable[[], object], sync: Callable[[], None]) -> float:
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def median_ms(samples: list[float]) -> str:
    median, low = statistics.median(samples) * 1e3, min(samples) * 1e3
    return f"{median:8.1f} ms (min {low:.1f}, n={len(samples)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--views", type=int, default=4)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    net = build_network("densenet169").eval()
    bundle = ModelBundle("densenet169", [net.state_dict()], input_size=args.size)
    # torch float32, like the bare forward it is compared with (bench_runtime compares runtimes)
    predictor = Predictor(bundle, device=args.device, backend="torch", precision="float32")
    device = torch.device(predictor.device)
    net = net.to(device).requires_grad_(False)
    on_cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if on_cuda else (lambda: None)

    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    for note in predictor.notes:
        print(f"note: {note}")

    with tempfile.TemporaryDirectory() as tmp, predictor:
        study, source = write_study(Path(tmp), args.views)
        images = [load_image(v.path).pixels for v in study.views]
        print(f"study: {args.views} PNG views from {source}, shapes {[a.shape for a in images]}")
        batch = torch.from_numpy(preprocess_batch(images, args.size, bundle.mean, bundle.std))
        batch = batch.to(device)

        net_cl = copy.deepcopy(net).to(memory_format=torch.channels_last)
        batch_cl = batch.contiguous(memory_format=torch.channels_last)

        def bare() -> None:
            with torch.inference_mode():
                net(batch)

        def bare_channels_last() -> None:
            with torch.inference_mode():
                net_cl(batch_cl)

        def engine() -> None:
            predictor.predict_study(study)

        for _ in range(2):
            bare()
            bare_channels_last()
            engine()
        bare_times, bare_cl_times, engine_times = [], [], []
        for _ in range(args.repeats):
            bare_times.append(timed(bare, sync))
            bare_cl_times.append(timed(bare_channels_last, sync))
            engine_times.append(timed(engine, sync))

        paths = [v.path for v in study.views]
        cams = np.random.default_rng(0).standard_normal(
            (len(paths), 1, args.size // 32, args.size // 32)
        )
        decode_t = [
            timed(lambda: [load_image(p) for p in paths], sync) for _ in range(args.repeats)
        ]
        prep_t = [
            timed(lambda: preprocess_batch(images, args.size), sync) for _ in range(args.repeats)
        ]
        heat_t = [
            timed(
                lambda: [display_heatmap(c, a.shape) for c, a in zip(cams, images, strict=True)],
                sync,
            )
            for _ in range(args.repeats)
        ]

    bare_ms, engine_ms = statistics.median(bare_times), statistics.median(engine_times)
    bare_cl_ms = statistics.median(bare_cl_times)
    shape = f"{args.views}×3×{args.size}×{args.size}"
    rows = [
        (f"bare forward {shape}", median_ms(bare_times)),
        (f"bare forward {shape}, channels_last", median_ms(bare_cl_times)),
        ("predict_study end to end", median_ms(engine_times)),
        ("ratio engine / bare", f"{engine_ms / bare_ms:8.2f}   (target <= 1.3 on CPU)"),
        ("ratio engine / bare channels_last", f"{engine_ms / bare_cl_ms:8.2f}"),
        ("alone: decode 4 PNGs", median_ms(decode_t)),
        ("alone: preprocess", median_ms(prep_t)),
        ("alone: heatmaps at image size", median_ms(heat_t)),
    ]
    for label, value in rows:
        print(f"{label:<42}{value}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mib:.0f} MiB" + (
        f", CUDA max allocated {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB"
        if on_cuda else ""
    ))  # fmt: skip
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
