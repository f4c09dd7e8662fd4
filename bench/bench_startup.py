"""Viewer start-up: process start → main window shown → first image of a study shown.

Each run is a fresh interpreter (offscreen Qt platform) started the way ``mura-desktop``
starts the viewer: QApplication, main window, ``show()``, then the study is opened. Times
are wall clock from just before the process is spawned. With ``--model``, a tiny random
demo bundle is configured: the viewer starts loading it (importing torch in the worker
thread) once the first image is on screen.

    PYTHONPATH=. .venv/bin/python bench/bench_startup.py [--runs 5] [--model]

Targets on the development machine: window 1.5 s, first image 0.2 s after opening.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(t0: float, study: str, model: str | None, settings: str) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from mura_desktop.gui.app import create_application
    from mura_desktop.gui.main_window import MainWindow
    from mura_desktop.gui.settings import Settings

    app = create_application()
    window = MainWindow(Settings(settings))
    window.resize(1400, 900)  # the offscreen "screen" is 800×600; size it like a desktop
    window.show()
    QApplication.processEvents()
    shown = time.time()
    torch_at_show = "torch" in sys.modules
    marks: dict[str, float] = {}
    window.imageShown.connect(lambda *_: marks.setdefault("image", time.time()))
    opened = time.time()
    window.start([Path(study)], model)  # as `mura-desktop STUDY` does after show()
    while "image" not in marks:
        app.processEvents()
    window.image_view.grab()  # the frame is really drawn
    painted = time.time()
    window.close()
    print(
        json.dumps(
            {
                "window": shown - t0,
                "torch_at_show": torch_at_show,
                "first_image_after_open": painted - opened,
                "first_image_from_start": painted - t0,
            }
        )
    )


def make_data(folder: Path, with_model: bool) -> tuple[Path, Path | None]:
    from mura_desktop.phantoms.dataset import generate_dataset

    generate_dataset(folder / "data", 1, seed=7, size=512, parts=("WRIST",))
    study = next((folder / "data").rglob("study*"))
    if not with_model:
        return study, None
    from mura_desktop.inference.bundle import ModelBundle, save_bundle
    from mura_desktop.inference.network import build_network

    bundle = ModelBundle(
        architecture="densenet121",
        members=[build_network("densenet121").state_dict()],
        input_size=320,
        provenance={"name": "bench-random", "demo": True},
    )
    save_bundle(bundle, folder / "bench.mura")
    return study, folder / "bench.mura"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", action="store_true", help="load a model at start-up too")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        t0, study, model, settings = args.child
        child(float(t0), study, model or None, settings)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        study, model = make_data(Path(tmp), args.model)
        runs = []
        for i in range(args.runs):
            settings = str(Path(tmp) / f"settings{i}.ini")
            t0 = time.time()
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    repr(t0),
                    str(study),
                    str(model or ""),
                    settings,
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
                env={
                    **os.environ,
                    "QT_QPA_PLATFORM": "offscreen",
                    "PYTHONPATH": os.pathsep.join(
                        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
                    ),
                },
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"study: 1 phantom wrist study, 512 px views; model at start-up: {args.model}")
    print(
        f"runs: {len(runs)} (median, min–max); load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )
    for key, label in (
        ("window", "process start → main window shown"),
        ("first_image_after_open", "open study → first image on screen"),
        ("first_image_from_start", "process start → first image on screen"),
    ):
        values = [r[key] for r in runs]
        print(
            f"  {label:<40} {statistics.median(values):6.3f} s "
            f"({min(values):.3f}–{max(values):.3f})"
        )
    print(f"  torch imported before the window was shown: {any(r['torch_at_show'] for r in runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
