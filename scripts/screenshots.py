"""Render the viewer's main states to PNGs (offscreen): no model, a study with its heatmap
(and in each heatmap display mode), a scored dataset, its metrics window, and the model
dialog.

    PYTHONPATH=. .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--model M]

Without ``--model`` a random DenseNet-121 demo bundle is built, so scores and heatmaps are
meaningless (the demo banner says so); the data are synthetic phantoms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TIMEOUT_S = 600


def wait_for(condition: Callable[[], bool], what: str) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        QApplication.processEvents()


def random_bundle(path: Path) -> Path:
    from mura_desktop.inference.bundle import ModelBundle, save_bundle
    from mura_desktop.inference.network import build_network

    bundle = ModelBundle(
        architecture="densenet121",
        members=[build_network("densenet121").state_dict()],
        input_size=128,
        operating_points={"default": 0.5, "high_sensitivity": 0.35, "high_specificity": 0.65},
        provenance={
            "name": "random-densenet121",
            "demo": True,
            "data": "none: random weights, for screenshots",
            "notes": "not trained",
        },
    )
    save_bundle(bundle, path)
    return path


def save_heatmap_modes(view, save: Callable[[object, str], None]) -> None:
    """The image view in every heatmap mode (``heatmap_<mode>.png``), and the same view
    as a view scored below the operating point shows it by default (no map)."""
    from mura_desktop.core.display import HEATMAP_MODES, HeatmapStyle

    style, heatmap = view.heatmap_style, view.heatmap
    for mode in HEATMAP_MODES:
        view.set_heatmap_style(HeatmapStyle(mode, all_views=True))
        save(view, f"heatmap_{mode}.png")
    view.set_heatmap_style(HeatmapStyle())
    view.set_heatmap(heatmap, probability=0.1, floor=0.5)
    save(view, "heatmap_below_operating_point.png")
    view.set_heatmap(heatmap)
    view.set_heatmap_style(style)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--model", type=Path, help="a real bundle (default: a random demo one)")
    parser.add_argument("--studies", type=int, default=16)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from mura_desktop.gui.app import create_application
    from mura_desktop.gui.main_window import MainWindow
    from mura_desktop.gui.settings import Settings
    from mura_desktop.phantoms.dataset import generate_dataset

    app = create_application()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generate_dataset(tmp / "data", args.studies, seed=5, size=448, abnormal_fraction=0.5)
        root = tmp / "data" / "MURA-v1.1"
        model = args.model or random_bundle(tmp / "random.mura")

        window = MainWindow(Settings(tmp / "settings.ini"))
        window.resize(1500, 950)
        window.show()

        def save(widget, name: str) -> None:
            app.processEvents()
            path = args.out / name
            widget.grab().save(str(path))
            print(f"wrote {path}")

        try:
            study = sorted(root.glob("*/XR_*/*/study*_positive"))[0]
            window.open_paths([study])
            wait_for(lambda: window.image_view.image is not None, "the first image")
            save(window, "no_model.png")

            window.load_model(model)
            wait_for(lambda: window.model is not None, "the model")
            wait_for(lambda: window.image_view.heatmap is not None, "the heatmap")
            save(window, "study_heatmap.png")
            save_heatmap_modes(window.image_view, save)

            finished: list[bool] = []
            window.datasetFinished.connect(finished.append)
            scanned: list[int] = []
            window.scanFinished.connect(scanned.append)
            window.open_paths([root])
            wait_for(lambda: bool(scanned) and window.session.n_scored >= 1, "the first score")
            window.score_all()
            wait_for(lambda: bool(finished), "dataset scoring")
            window._refresh_metrics()
            save(window, "dataset_scored.png")
            panel = window.metrics_panel
            panel.compute_intervals_now()
            wait_for(lambda: panel.statistics() is not None, "the 95% intervals")
            save(window.metrics_dock, "dataset_metrics.png")  # a window of its own

            window.show_model_dialog()
            dialog = window.model_dialog
            save(dialog, "model_info.png")
            dialog.close()
        finally:
            window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
