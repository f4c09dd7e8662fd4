"""Inference runtimes side by side: speed, accuracy, batching, heatmaps, first score, sizes.

In one run, on this machine:

1. forward only, a batch of 4 views, DenseNet-169 (random weights) at 320 px: torch
   float32 contiguous, every backend and precision of ``inference.backends`` (torch float32
   channels-last is what the predictor ran before them, the base of the ratios),
   interleaved and repeated; OpenVINO's one-off conversion and its cached compile;
2. the accuracy guard of every backend and precision against torch float32, on held-out
   phantom views scored by the bundled (trained) demo model;
3. ``Predictor`` per study (``predict_study`` in a loop) vs batched across studies
   (``predict_many``), and ``mura-desktop predict`` with and without ``--heatmaps``, on a
   phantom dataset, for torch float32 and for the backend ``auto`` picks;
4. PNG encoders for the overlays (Pillow's and ``core.png``'s);
5. first score: a fresh process preloads the demo model, then scores the first sample
   study (cold runtime cache: on the probe's reference, the probe measured after it, as the
   idle viewer does; then warm);
6. OpenMP's wait policy, active vs passive, on the loaded machine;
7. sizes: the installed runtimes and the cached graphs.

    PYTHONPATH=. python bench/bench_runtime.py [--repeats 5] [--studies 16]

Uses a cache folder of its own (XDG_CACHE_HOME in a temporary folder), never the user's.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

TMP = Path(tempfile.mkdtemp(prefix="bench-runtime-"))
os.environ["XDG_CACHE_HOME"] = str(TMP / "cache")  # before anything reads platformdirs
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the entry point sets it

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from mura_desktop.__main__ import main as entry_point  # noqa: E402
from mura_desktop.core.discovery import discover  # noqa: E402
from mura_desktop.core.display import blend_heatmap  # noqa: E402
from mura_desktop.core.pixels import load_image  # noqa: E402
from mura_desktop.core.png import encode_png  # noqa: E402
from mura_desktop.core.resources import default_model_path  # noqa: E402
from mura_desktop.inference.backends import describe  # noqa: E402
from mura_desktop.inference.backends.agreement import compare  # noqa: E402
from mura_desktop.inference.backends.choice import (  # noqa: E402
    build_backend,
    every_cpu_candidate,
    open_backend,
)
from mura_desktop.inference.backends.torch_runtime import TorchBackend  # noqa: E402
from mura_desktop.inference.bundle import ModelBundle, load_bundle, save_bundle  # noqa: E402
from mura_desktop.inference.network import build_network  # noqa: E402
from mura_desktop.inference.predictor import Predictor  # noqa: E402
from mura_desktop.inference.preprocess import preprocess_batch  # noqa: E402
from mura_desktop.phantoms import generate_dataset  # noqa: E402

CPU = "cpu"


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1e3:7.0f} ms (min {min(samples) * 1e3:.0f})"


def interleaved(runs: dict[str, object], repeats: int) -> dict[str, list[float]]:
    """Each callable once per round, rounds repeated: load falls on all alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()  # type: ignore[operator]
            times[name].append(time.perf_counter() - start)
    return times


def forward_only(bundle: ModelBundle, repeats: int) -> None:
    print(f"\n## 1. Forward only: {bundle.architecture} at {bundle.input_size} px, 4 views")
    batch = np.random.default_rng(1).standard_normal((4, 3, bundle.input_size, bundle.input_size))
    batch = batch.astype(np.float32)
    plain = (
        TorchBackend(bundle, CPU, "float32").members[0].to(memory_format=torch.contiguous_format)
    )

    def contiguous() -> None:
        with torch.inference_mode():
            plain.forward_all(torch.from_numpy(batch))

    runs: dict[str, object] = {"torch float32 contiguous": contiguous}
    for candidate in every_cpu_candidate():
        start = time.perf_counter()
        backend = build_backend(bundle, candidate)
        opened = time.perf_counter() - start
        if candidate.backend == "openvino":
            start = time.perf_counter()
            build_backend(bundle, candidate)
            print(f"{candidate.key}: first open {opened:.2f} s (graph built, compiled), "
                  f"again {time.perf_counter() - start:.2f} s (compiled blob cached)")  # fmt: skip
        name = candidate.key + " channels-last" * (candidate.backend == "torch")
        name += " (before)" * (candidate.key == "torch float32")
        runs[name] = lambda b=backend: b.forward(batch, maps=True)
    for run in runs.values():
        run()  # type: ignore[operator]  # warm-up
    times = interleaved(runs, repeats)
    base = statistics.median(times["torch float32 channels-last (before)"])
    for name, samples in times.items():
        print(f"{name:36s} {ms(samples)}  {base / statistics.median(samples):4.1f}x")
    print(load())


def accuracy(demo: ModelBundle, views: np.ndarray) -> None:
    print(f"\n## 2. Accuracy guard: demo model ({demo.architecture} {demo.input_size} px) "
          f"vs torch float32, {len(views)} held-out phantom views")  # fmt: skip
    reference = TorchBackend(demo, CPU, "float32").forward(views, maps=True)
    for candidate in every_cpu_candidate():
        got = build_backend(demo, candidate).forward(views, maps=True)
        print(f"{candidate.key:18s} {compare(demo, reference, got).line()}")


def predictor_runs(bundle: ModelBundle, dataset: Path, repeats: int) -> None:
    studies = discover([dataset]).studies
    n_views = sum(len(s.views) for s in studies)
    auto = open_backend(bundle, "auto", "cpu")
    print(f"\n## 3. Scoring {len(studies)} phantom studies ({n_views} views), "
          f"{bundle.architecture} {bundle.input_size} px; auto picks {describe(auto)}")  # fmt: skip
    exact = {"backend": "torch", "precision": "float32"}
    chosen = {"backend": auto.name, "precision": auto.precision}
    predictors = {
        "torch float32": Predictor(bundle, "cpu", **exact),
        describe(auto).removesuffix(" on cpu"): Predictor(bundle, "cpu", backend=auto),
    }
    bundle_path = TMP / "bench.mura"
    save_bundle(bundle, bundle_path)
    runs: dict[str, object] = {}
    for name, predictor in predictors.items():
        runs[f"{name}, per study"] = lambda p=predictor: [
            p.predict_study(s, heatmaps=False) for s in studies
        ]
        runs[f"{name}, batched"] = lambda p=predictor: list(p.predict_many(studies, heatmaps=False))
    (TMP / "heat").mkdir(exist_ok=True)
    for name, settings in zip(predictors, (exact, chosen), strict=True):
        common = ["predict", str(dataset), "--model", str(bundle_path), "--device", "cpu",
                  "--backend", settings["backend"], "--precision", settings["precision"],
                  "--bootstrap", "0", "--quiet"]  # fmt: skip
        runs[f"{name}, predict CLI"] = lambda c=common: _quietly(c)
        runs[f"{name}, predict CLI --heatmaps"] = lambda c=common: _quietly(
            [*c, "--heatmaps", str(TMP / "heat"), "--force"]
        )
    for name in predictors:  # warm-up: kernels, decoder processes, cached graphs
        runs[f"{name}, predict CLI"]()  # type: ignore[operator]
    times = interleaved(runs, repeats)
    for name, samples in times.items():
        per_view = statistics.median(samples) / n_views * 1e3
        print(f"{name:52s} {ms(samples)}  {per_view:5.1f} ms/view")
    for name in predictors:
        plain = statistics.median(times[f"{name}, predict CLI"])
        heat = statistics.median(times[f"{name}, predict CLI --heatmaps"])
        print(f"{name}: --heatmaps costs {100 * (heat / plain - 1):+.0f}%")
    print(load())


def _quietly(argv: list[str]) -> None:
    out, err = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()
    try:
        code = entry_point(argv)
    finally:
        sys.stdout, sys.stderr = out, err
    assert code == 0, code


def png_encoders(dataset: Path) -> None:
    print("\n## 4. Overlay PNG encoders, one overlay per image (median of 5)")
    paths = sorted(dataset.rglob("*.png"))[:4]
    overlays = []
    for path in paths:
        image = load_image(path).pixels
        yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
        heat = np.exp(-((yy - image.shape[0] / 2) ** 2 + (xx - image.shape[1] / 3) ** 2) / 5e3)
        overlays.append(blend_heatmap(image, heat.astype(np.float32)))

    def pillow(pixels: np.ndarray, level: int) -> int:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG", compress_level=level)
        return buffer.tell()

    encoders = {f"Pillow, zlib level {level}": partial(pillow, level=level) for level in (1, 6)}
    encoders["core.png (Up filter, ISA-L level 1), what predict writes"] = lambda p: len(
        encode_png(p)
    )
    for name, encode in encoders.items():
        for kind, pick in (
            ("RGB", lambda o: o),
            ("gray", lambda o: np.ascontiguousarray(o[..., 0])),
        ):
            images = [pick(o) for o in overlays]
            samples, size = [], 0
            for _ in range(5):
                start = time.perf_counter()
                size = sum(encode(image) for image in images)
                samples.append((time.perf_counter() - start) / len(images))
            print(f"{name:56s} {kind:4s} {ms(samples)} per overlay, "
                  f"{size / len(images) / 1024:.0f} KiB")  # fmt: skip


FIRST_SCORE = """
import sys, time
start = float(sys.argv[1])
from mura_desktop.inference.preload import preload
from mura_desktop.core.decoding import shared_decoder
ready = preload(sys.argv[2], device="cpu", leave_a_core=True)
shared_decoder()
from mura_desktop.core.discovery import discover
from mura_desktop.core.resources import sample_paths
study = discover(sample_paths()[:1]).studies[0]
bundle, backend, pending = ready.take(sys.argv[2], "cpu")
from mura_desktop.inference.predictor import Predictor
predictor = Predictor(bundle, "cpu", backend=backend, pending=pending)
result = predictor.predict_study(study).result
print(f"{time.time() - start:.2f} {backend.name} {backend.precision} {result.probability:.3f}",
      "torch" in sys.modules)
while predictor.probing:  # what the idle viewer does next on a first launch
    predictor.probe_step()
"""


def first_score(demo_path: Path, repeats: int) -> None:
    print("\n## 5. First score: process start -> first sample study scored, demo model")
    env = {**os.environ, "XDG_CACHE_HOME": str(TMP / "first-score-cache")}
    for label in ["cold cache", *["warm cache"] * repeats]:
        start = time.time()
        out = subprocess.run(
            [sys.executable, "-c", FIRST_SCORE, str(start), str(demo_path)],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        seconds, name, precision, p, torch_loaded = out.stdout.split()
        loaded = "torch imported" if torch_loaded == "True" else "torch not imported"
        print(f"{label}: {seconds} s on {name} {precision} (p = {p}; {loaded})")
    print(load())


OMP_RUN = """
import time, torch
from mura_desktop.inference.network import build_network
torch.manual_seed(0)
net = build_network("densenet121").eval()
x = torch.randn(4, 3, 224, 224)
samples = []
with torch.inference_mode():
    net(x)
    for _ in range(4):
        start = time.perf_counter(); net(x); samples.append(time.perf_counter() - start)
print(sorted(samples)[len(samples) // 2])
"""


def wait_policy(repeats: int) -> None:
    threads = os.cpu_count() or 1
    print(f"\n## 6. OpenMP wait policy: densenet121 224 px, 4 views, {threads} threads, "
          "alternating processes")  # fmt: skip
    times: dict[str, list[float]] = {"ACTIVE": [], "PASSIVE": []}
    for _ in range(repeats):
        for policy in times:
            env = {**os.environ, "OMP_WAIT_POLICY": policy, "OMP_NUM_THREADS": str(threads)}
            out = subprocess.run([sys.executable, "-c", OMP_RUN], capture_output=True,
                                 text=True, env=env, check=True)  # fmt: skip
            times[policy].append(float(out.stdout.split()[-1]))
    for policy, samples in times.items():
        print(f"{policy:8s} {ms(samples)}")
    ratio = statistics.median(times["ACTIVE"]) / statistics.median(times["PASSIVE"])
    print(f"active / passive: {ratio:.2f}; {load()}")


def sizes() -> None:
    print("\n## 7. Sizes")
    site = Path(torch.__file__).parents[1]
    groups = {
        "torch": ["torch"],
        "nvidia (CUDA libraries torch pulls in)": ["nvidia", "triton"],
        "openvino": ["openvino"],
    }
    for name, folders in groups.items():
        total = sum(_du(site / f) for f in folders)
        print(f"{name:40s} {total / 2**20:7.0f} MiB")
    blobs = TMP / "cache" / "mura-desktop" / "runtime" / "openvino-compiled"
    total = sum(_du(blob) for blob in blobs.glob("*.blob"))
    print(f"{'compiled OpenVINO blobs (all precisions)':40s} {total / 2**20:7.0f} MiB")


def _du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--studies", type=int, default=16)
    parser.add_argument("--size", type=int, default=320)
    args = parser.parse_args()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), "?",
    )  # fmt: skip
    print(f"# bench_runtime: {cpu}, {os.cpu_count()} CPUs, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), {load()}")  # fmt: skip

    torch.manual_seed(0)
    net = build_network("densenet169")
    bundle = ModelBundle("densenet169", [net.state_dict()], input_size=args.size)
    forward_only(bundle, args.repeats)

    demo_path = default_model_path()
    assert demo_path is not None, "the bench needs the bundled demo model"
    demo = load_bundle(demo_path)
    held_out = generate_dataset(TMP / "held-out", 14, seed=4242, size=256).root
    pixels = [load_image(p).pixels for p in sorted(held_out.rglob("*.png"))][:32]
    accuracy(demo, preprocess_batch(pixels, demo.input_size, demo.mean, demo.std))

    dataset = generate_dataset(TMP / "data", args.studies, seed=99, size=512).root
    predictor_runs(bundle, dataset, max(2, args.repeats // 2))
    png_encoders(dataset)
    first_score(demo_path, 3)
    wait_policy(3)
    sizes()
    print(f"\n# end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
