"""The viewer's test harness: a fast fake predictor for the real worker, data and waits.

The fake has the ``Predictor`` interface and really decodes the files (so a corrupt view
fails for real); a ``gate`` Event holds it mid-study so tests can change study, load another
model or close the window while inference is running. The fixtures built on it
(``settings``, ``factory``, ``window``, ``dataset``) are in ``conftest.py``.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

from mura_desktop.core.errors import ImageLoadError
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.pixels import load_image
from mura_desktop.core.results import StudyResult, ViewResult
from mura_desktop.core.study import Study, View
from mura_desktop.core.verdict import VerdictRule
from mura_desktop.gui.main_window import MainWindow
from mura_desktop.gui.model_info import ModelInfo
from mura_desktop.gui.model_loading import LoadedModel, ModelLoadError

WAIT_MS = 10_000


class PaintCounter(QObject):
    """Counts the paint events ``widget`` receives from now on."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        self.count += event.type() == QEvent.Type.Paint
        return False


class FakeCancelled(Exception):
    pass


class FakePredictor:
    """``Predictor``'s interface; probability = mean pixel value of each view."""

    def __init__(self, rule: VerdictRule, gate: threading.Event | None) -> None:
        self.device = "cpu"
        self.notes: list[str] = []
        self.rule = rule
        self.runtime = "fake on cpu"
        self.probing = False
        self.gate = gate
        self.started = threading.Event()
        self.calls: list[str] = []
        self.closed = False

    def predict_study(self, study, *, heatmaps=True, maps="cam", progress=None, should_cancel=None):
        self.calls.append(study.uid)
        self.started.set()
        cancelled = should_cancel or (lambda: False)
        while self.gate is not None and not self.gate.wait(0.002):
            if cancelled():
                raise FakeCancelled
        views, drawn, images = [], {}, {}
        for i, view in enumerate(study.views):
            if cancelled():
                raise FakeCancelled
            try:
                image = load_image(view.path)
            except ImageLoadError as exc:
                views.append(ViewResult(str(view.path), error=str(exc)))
                continue
            views.append(ViewResult(str(view.path), probability=float(image.pixels.mean())))
            if heatmaps:
                h, w = image.pixels.shape
                drawn[view.path] = np.tile(np.linspace(0, 1, w, dtype=np.float32), (h, 1))
            images[view.path] = image
            if progress:
                progress(i + 1, len(study.views))
        result = StudyResult.from_views(study, views, self.rule)
        return SimpleNamespace(result=result, heatmaps=drawn, images=images, map_kind=maps)

    def predict_many(self, studies, *, heatmaps=True, should_cancel=None):
        for study in studies:
            yield self.predict_study(study, heatmaps=heatmaps, should_cancel=should_cancel)

    def probe_step(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


class FakeFactory:
    """Model "files" are any paths: ``demo`` in the name makes a demo model, ``broken`` fails.
    ``gate`` (when set) holds every prediction until released."""

    def __init__(self) -> None:
        self.gate: threading.Event | None = None
        self.threshold_default = 0.5
        self.predictors: list[FakePredictor] = []
        self.thresholds: list[float | None] = []  # as asked for, per load

    def __call__(self, path: Path, device: str, threshold: float | None) -> LoadedModel:
        if "broken" in path.name:
            raise ModelLoadError(f"{path}: not a MURA Desktop model bundle")
        self.thresholds.append(threshold)
        rule = VerdictRule(threshold=self.threshold_default if threshold is None else threshold)
        predictor = FakePredictor(rule, self.gate)
        self.predictors.append(predictor)
        info = ModelInfo(
            path=path,
            record=ModelRecord(
                name=path.stem,
                content_hash=hashlib.sha256(path.name.encode()).hexdigest(),
                architecture="fake",
                input_size=64,
                demo="demo" in path.name,
                details={"device": device},
            ),
            device=device,
            rule=rule,
        )
        return LoadedModel(info, predictor)


# --- data -------------------------------------------------------------------------------


def write_png(path: Path, value: float, size: tuple[int, int] = (48, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = size
    ramp = np.linspace(0, 1, w)[None, :] * np.ones((h, 1))
    pixels = np.clip(value + 0.1 * (ramp - 0.5), 0, 1)
    Image.fromarray((pixels * 255).astype(np.uint8)).save(path)
    return path


def make_study(folder: Path, values: list[float], corrupt: int | None = None) -> Path:
    for i, value in enumerate(values, 1):
        path = folder / f"image{i}.png"
        if i - 1 == corrupt:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png body")
        else:
            write_png(path, value)
    return folder


def tree_snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def load_model(qtbot, window: MainWindow, name: str = "model.mura") -> None:
    with qtbot.waitSignal(window.modelChanged, timeout=WAIT_MS):
        window.load_model(Path("/models") / name)


def open_and_wait(qtbot, window: MainWindow, paths: list[Path]) -> None:
    with qtbot.waitSignal(window.scanFinished, timeout=WAIT_MS):
        window.open_paths(paths)


def wait_image(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.image_view.image is not None, timeout=WAIT_MS)


def make_dataset(tmp_path: Path) -> Path:
    """A small MURA-style tree: 2 body parts, 3 patients, 4 labelled studies."""
    root = tmp_path / "data" / "MURA-v1.1" / "valid"
    make_study(root / "XR_WRIST/patient00001/study1_positive", [0.8, 0.7, 0.9])
    make_study(root / "XR_WRIST/patient00001/study2_negative", [0.2, 0.3])
    make_study(root / "XR_WRIST/patient00002/study1_negative", [0.7, 0.6])  # model disagrees
    make_study(root / "XR_HAND/patient00003/study1_positive", [0.9, 0.8, 0.85, 0.6])
    return tmp_path / "data"


def many_studies(n: int) -> tuple[list[Study], dict[str, StudyResult]]:
    """``n`` studies of four body parts, three a patient, every other one scored (no files:
    for the study list, which never reads them)."""
    parts = ("ELBOW", "FINGER", "HAND", "WRIST")
    studies, results = [], {}
    rng = np.random.default_rng(1)
    rule = VerdictRule()
    for i in range(n):
        uid = f"/data/XR_{parts[i % 4]}/patient{i // 3:05d}/study{i % 3 + 1}"
        label = int(rng.random() < 0.4)
        study = Study(
            uid,
            uid[6:],
            [View(Path(uid) / "image1.png")],
            parts[i % 4],
            label,
            f"patient{i // 3:05d}",
            "valid",
            Path(uid),
        )
        studies.append(study)
        if i % 2 == 0:
            p = float(rng.random())
            results[uid] = StudyResult(
                uid,
                study.name,
                [ViewResult("x", p)],
                study.body_part,
                label,
                probability=p,
                verdict=rule.verdict(p),
                rule=rule,
            )
    return studies, results
