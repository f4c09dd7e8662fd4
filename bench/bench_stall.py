"""Longest event-loop stall while the viewer scores a dataset in the background.

A probe timer fires every 5 ms on the GUI thread; a stall is the time between two firings
minus the interval. While the real predictor (a random DenseNet-121 bundle at the usual
320 px input) scores a phantom dataset, the "user" steps to the next study every second
for the first ``--steps`` studies, so images are decoded and drawn, and the opened study is
scored with heatmaps, during the scoring as well. The model is loaded before measuring, as
the viewer loads it (the launch's preload, then the load); the click on "Score all" itself
(which opens the metrics window) is timed apart.

    PYTHONPATH=. .venv/bin/python bench/bench_stall.py [--studies 16] [--steps 8] [--size 512]

Target: longest stall under 100 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROBE_MS = 5
STEP_MS = 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=16)
    parser.add_argument("--steps", type=int, default=8, help="studies the user opens meanwhile")
    parser.add_argument("--size", type=int, default=512, help="phantom image size in px")
    parser.add_argument("--input", type=int, default=320, help="model input size in px")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    from mura_desktop.gui.app import begin_preload, create_application
    from mura_desktop.gui.main_window import MainWindow
    from mura_desktop.gui.model_loading import BundleLoader
    from mura_desktop.gui.settings import Settings
    from mura_desktop.inference.bundle import ModelBundle, save_bundle
    from mura_desktop.inference.network import build_network
    from mura_desktop.phantoms.dataset import generate_dataset

    app = create_application()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generate_dataset(tmp / "data", args.studies, seed=11, size=args.size)
        bundle = ModelBundle(
            architecture="densenet121",
            members=[build_network("densenet121").state_dict()],
            input_size=args.input,
            provenance={"name": "bench-random", "demo": True},
        )
        save_bundle(bundle, tmp / "bench.mura")

        loader = BundleLoader()
        window = MainWindow(Settings(tmp / "settings.ini"), model_factory=loader)
        window.resize(1400, 900)
        window.show()
        begin_preload(loader, tmp / "bench.mura")  # as the viewer starts: see gui/app.py
        done = {"model": False, "first": False, "finished": False}
        window.modelChanged.connect(lambda *_: done.__setitem__("model", True))
        window.resultShown.connect(lambda *_: done.__setitem__("first", True))
        window.datasetFinished.connect(lambda *_: done.__setitem__("finished", True))
        window.load_model(tmp / "bench.mura")
        while not done["model"]:
            app.processEvents()
        window.open_paths([tmp / "data" / "MURA-v1.1"])
        while not done["first"]:
            app.processEvents()

        gaps: list[float] = []
        clock = QElapsedTimer()
        probe = QTimer()
        probe.setInterval(PROBE_MS)

        def tick() -> None:
            gaps.append(clock.nsecsElapsed() / 1e6)
            clock.restart()

        probe.timeout.connect(tick)
        stepper = QTimer()
        stepper.setInterval(STEP_MS)
        steps = [0]

        def step() -> None:
            steps[0] += 1
            window.browser.step(1)
            if steps[0] >= args.steps:
                stepper.stop()

        stepper.timeout.connect(step)
        started = time.perf_counter()
        window.score_all()
        # The click itself: it queues the studies and opens the metrics window, whose
        # charts are built on that first showing.
        click_ms = (time.perf_counter() - started) * 1e3
        clock.start()
        probe.start()
        stepper.start()
        # The event loop the viewer runs (app.exec()): it sleeps between events, where a
        # processEvents() loop would spin on a core the decoders and inference need.
        loop = QEventLoop()
        window.datasetFinished.connect(loop.quit)
        if not done["finished"]:
            loop.exec()
        probe.stop()
        stepper.stop()
        elapsed = time.perf_counter() - started
        n = window.session.n_scored
        window.close()

    stalls = np.maximum(np.array(gaps[1:]) - PROBE_MS, 0.0)
    print(
        f"scored {n} studies ({args.size} px phantoms, densenet121 at {args.input} px, CPU) "
        f"in {elapsed:.1f} s; meanwhile opened {steps[0]} studies, one every {STEP_MS} ms"
    )
    print(
        f"probe every {PROBE_MS} ms: {len(stalls)} samples; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores (other processes inflate stalls)"
    )
    print(f"  the click on Score all     {click_ms:7.1f} ms (before the probe starts)")
    print(f"  longest event-loop stall   {stalls.max():7.1f} ms")
    print(f"  99th percentile stall      {np.percentile(stalls, 99):7.1f} ms")
    print(f"  median stall               {np.median(stalls):7.1f} ms")
    print(f"  stalls over 100 ms         {int((stalls > 100).sum())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
