"""Render the viewer's main states to PNGs (offscreen): no model, a study with its heatmap
(and in each heatmap display mode), a scored dataset, its metrics window, the model dialog,
and the reading tools (measurements on a real hand radiograph from ../shared when it is
there, side-by-side views, the magnifier, the full DICOM header).

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
SHARED_DICOM = Path(__file__).resolve().parents[1].parent / "shared/data/dicom"
SHARED_HAND = SHARED_DICOM / "NM_Kakadu44_SOTmarkerincons.dcm"  # CR hand PA, 0.115 mm pixels


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


def shown_other(window, uid: str, every_view: bool = False) -> bool:
    """Whether a study other than ``uid`` is on screen (with all its views loaded)."""
    current = window.viewer.current
    if current is None or current.study.uid == uid or window.image_view.image is None:
        return False
    return not every_view or len(current.images) == len(current.paths)


def reading_tools(window, study: Path, save) -> None:
    """Measurements, side-by-side views, the magnifier and the full header."""
    from PySide6.QtCore import QPointF

    hand = SHARED_HAND if SHARED_HAND.is_file() else None
    before = window.viewer.current.study.uid
    window.open_paths([hand or study])
    wait_for(lambda: shown_other(window, before), "the measured image")
    rows, columns = window.image_view.image.pixels.shape
    tool = window.measure.tool
    window.measure_dock.raise_()
    tool.start("distance")
    tool.click(columns * 0.30, rows * 0.35)
    tool.click(columns * 0.62, rows * 0.30)
    tool.start("angle")
    for fx, fy in ((0.35, 0.62), (0.50, 0.78), (0.68, 0.60)):
        tool.click(columns * fx, rows * fy)
    tool.stop()
    save(window, "measurements.png")
    window.tags_dock.raise_()
    window.tags.tabs.setCurrentIndex(1)
    window.tags.search("spacing")
    save(window, "tag_browser.png")
    window.tags.search("")
    window.tags.tabs.setCurrentIndex(0)

    before = window.viewer.current.study.uid
    window.open_paths([study])
    wait_for(lambda: shown_other(window, before, every_view=True), "the study's views")
    uid = window.viewer.current.study.uid
    wait_for(lambda: uid in window.session.results, "the study's scores")
    window.act_layout_1x2.trigger()
    window.act_link_views.trigger()
    save(window, "side_by_side.png")
    window.act_layout_1x1.trigger()
    window.act_loupe.trigger()
    wait_for(lambda: window.image_view.width() > window.grid.width() * 0.9, "the single view")
    rows, columns = window.image_view.image.pixels.shape
    viewport = window.image_view.viewport()
    window.loupe.show_at(
        columns // 2, rows // 2, QPointF(viewport.width() / 2, viewport.height() / 2)
    )
    save(window, "loupe.png")
    window.act_loupe.trigger()


def show_a_drawn_map(window, studies: list[Path]) -> None:
    """Open abnormal studies until one the model calls abnormal shows a view the model scores
    at or above its operating point (only those show a map by default), to picture what a
    reader sees."""
    for study in studies:
        current = window.viewer.current
        result = window.viewer.session.results.get(current.study.uid)
        if result is not None and result.verdict == "abnormal":
            threshold = window.model.rule.threshold_for(current.study.body_part)
            views = {Path(v.path): v.probability for v in result.views}
            for index, path in enumerate(current.paths):
                window.show_view(index)
                p = views.get(Path(path))
                if window.image_view.heatmap_drawn and p is not None and p >= threshold:
                    return
        window.open_paths([study])
        wait_for(
            lambda s=study: (
                window.viewer.current is not None
                and window.viewer.current.study.folder == s
                and window.image_view.heatmap is not None
            ),
            f"the heatmap of {study.name}",
        )
    raise RuntimeError("the model scores no abnormal view at its operating point")


def save_heatmap_modes(view, out: Path) -> None:
    """``heatmap_modes.png``: the image view with the hottest region outlined, a box, the
    colour wash, and a view scored below the operating point as shown by default (no map),
    side by side."""
    from PySide6.QtGui import QPainter, QPixmap
    from PySide6.QtWidgets import QApplication

    from mura_desktop.core.display import HeatmapStyle

    style, heatmap = view.heatmap_style, view.heatmap
    shots = []
    for mode in ("region", "box", "wash"):
        view.set_heatmap_style(HeatmapStyle(mode, all_views=True))
        QApplication.processEvents()
        shots.append(view.grab())
    view.set_heatmap_style(HeatmapStyle())
    view.set_heatmap(heatmap, probability=0.1, floor=0.5)
    QApplication.processEvents()
    shots.append(view.grab())
    view.set_heatmap(heatmap)
    view.set_heatmap_style(style)
    gap = 6
    sheet = QPixmap(sum(s.width() for s in shots) + gap * 3, max(s.height() for s in shots))
    sheet.fill()
    painter = QPainter(sheet)
    x = 0
    for shot in shots:
        painter.drawPixmap(x, 0, shot)
        x += shot.width() + gap
    painter.end()
    sheet.save(str(out / "heatmap_modes.png"))
    print(f"wrote {out / 'heatmap_modes.png'}")


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
            show_a_drawn_map(window, sorted(root.glob("*/XR_*/*/study*_positive")))
            save(window, "study_heatmap.png")
            save_heatmap_modes(window.image_view, args.out)

            finished: list[bool] = []
            window.datasetFinished.connect(finished.append)
            scanned: list[int] = []
            window.scanFinished.connect(scanned.append)
            window.open_paths([root])
            wait_for(lambda: bool(scanned) and window.session.n_scored >= 1, "the first score")
            window.score_all()
            wait_for(lambda: bool(finished), "dataset scoring")
            window.refresh_metrics()
            save(window, "dataset_scored.png")
            panel = window.metrics.panel
            panel.compute_intervals_now()
            wait_for(lambda: panel.statistics() is not None, "the 95% intervals")
            wait_for(lambda: not panel.charts_pending(), "the charts")
            save(window.metrics_dock, "dataset_metrics.png")  # a window of its own

            window.dialogs.show_model_dialog()
            dialog = window.dialogs.model_dialog
            save(dialog, "model_info.png")
            dialog.close()
            reading_tools(window, study, save)
        finally:
            window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
