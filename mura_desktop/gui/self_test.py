"""``mura-desktop --self-test``: open the samples with the demo model, off-screen, and check.

The smoke test of a build (frozen or from source). It drives the real viewer the way a
first launch does: main window shown, ``resources/samples`` opened, the bundled demo model
loaded by the inference worker, every sample study shown and scored there (with heatmaps).
It then checks what a broken bundle gets wrong first: Qt platform plugins, pydicom's
decoders (pylibjpeg finds its plugins through package metadata), the DICOM samples
(JPEG 2000, RLE, uncompressed), the demo flag and banner. Extra paths given on the command
line are decoded too (e.g. JPEG-LS / JPEG lossless files). Prints a report; exit 0 when
every check passed, 1 otherwise.

The user's settings and caches are not touched: the window uses a settings file and a
runtime cache in a temporary folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mura_desktop.core.locations import RUNTIME_CACHE_VARIABLE

# Decoders a frozen build must keep: pylibjpeg-libjpeg (JPEG, JPEG-LS), -openjpeg (J2K), -rle.
REQUIRED_DECODERS = (
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51",  # JPEG Extended
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Near-Lossless
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.5",  # RLE Lossless
)
IMAGE_SUFFIXES = frozenset({".dcm", ".dicom", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})
MODEL_TIMEOUT_S = 300.0
STUDY_TIMEOUT_S = 120.0


@dataclass
class SelfTestReport:
    """Checks in the order they ran: (passed, text)."""

    checks: list[tuple[bool, str]] = field(default_factory=list)
    window_shown_unix: float | None = None

    def check(self, passed: bool, text: str) -> bool:
        self.checks.append((bool(passed), text))
        return bool(passed)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(ok for ok, _ in self.checks)

    def lines(self) -> list[str]:
        out = [f"[{'ok' if ok else 'FAIL'}] {text}" for ok, text in self.checks]
        failed = sum(not ok for ok, _ in self.checks)
        verdict = "PASSED" if self.passed else f"FAILED ({failed} of {len(self.checks)})"
        out.append(f"self-test {verdict}")
        return out


def run_self_test(extra_paths: Sequence[str | os.PathLike[str]] = ()) -> int:
    """Run the smoke test, print the report, return the exit code (0 pass, 1 fail)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    report = SelfTestReport()
    try:
        _run(report, [Path(p) for p in extra_paths])
    except Exception as exc:  # a crash is a failed self-test, reported like the rest
        import traceback

        traceback.print_exc()
        report.check(False, f"unexpected {type(exc).__name__}: {exc}")
    for line in report.lines():
        print(line, flush=True)
    if report.window_shown_unix is not None:
        print(f"window_shown_unix={report.window_shown_unix:.3f}", flush=True)
    return 0 if report.passed else 1


def _run(report: SelfTestReport, extra_paths: list[Path]) -> None:
    from mura_desktop import __version__
    from mura_desktop.core.resources import (
        default_model_path,
        is_frozen,
        resources_dir,
        sample_paths,
    )

    started = time.perf_counter()
    where = "frozen bundle" if is_frozen() else "source tree"
    report.check(True, f"mura-desktop {__version__}, {where}, Python {sys.version.split()[0]}")
    samples = sample_paths()
    model_path = default_model_path()
    report.check(bool(samples), f"samples in {resources_dir() / 'samples'}: {len(samples)} folders")
    report.check(model_path is not None, f"default model: {model_path}")
    _check_platform_plugins(report)
    if not samples or model_path is None:
        _check_decoders(report)
        return

    from PySide6.QtWidgets import QApplication

    from mura_desktop.gui.app import create_application
    from mura_desktop.gui.main_window import MainWindow
    from mura_desktop.gui.settings import Settings

    app = create_application()
    report.check(not app.windowIcon().isNull(), "window icon loaded")
    with tempfile.TemporaryDirectory(prefix="mura-self-test-") as tmp:
        # The runtime cache too (converted graphs, backend probes): the probe runs here.
        os.environ[RUNTIME_CACHE_VARIABLE] = str(Path(tmp) / "runtime-cache")
        window = MainWindow(Settings(Path(tmp) / "settings.ini"))
        try:
            window.show()
            QApplication.processEvents()
            report.window_shown_unix = time.time()
            report.check(
                window.isVisible(),
                f"main window shown on '{app.platformName()}' "
                f"{time.perf_counter() - started:.2f} s into the self-test",
            )
            # After the window: the viewer imports pydicom only at its first DICOM, so a
            # check before the window would time the decoders into the start-up.
            _check_decoders(report)
            _score_samples(report, window, samples, model_path)
        finally:
            window.close()
    _decode_extra(report, extra_paths)
    report.check(True, f"total {time.perf_counter() - started:.1f} s")


def _check_platform_plugins(report: SelfTestReport) -> None:
    from PySide6.QtCore import QCoreApplication

    folders = [Path(p) / "platforms" for p in QCoreApplication.libraryPaths()]
    names = sorted(
        {
            p.stem.removeprefix("lib").removeprefix("q")
            for f in folders
            if f.is_dir()
            for p in f.iterdir()
        }
    )
    native = {"linux": "xcb", "win32": "windows", "darwin": "cocoa"}.get(sys.platform)
    needed = {"offscreen"} | ({native} if native else set())
    report.check(
        needed <= set(names),
        f"Qt platform plugins: {', '.join(names) or 'none'} (in {', '.join(map(str, folders))})",
    )


def _check_decoders(report: SelfTestReport) -> None:
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID

    missing = [UID(u).name for u in REQUIRED_DECODERS if not get_decoder(UID(u)).is_available]
    report.check(
        not missing,
        f"pydicom decoders for {len(REQUIRED_DECODERS)} compressed transfer syntaxes"
        + (f"; missing: {', '.join(missing)}" if missing else " available"),
    )


def _score_samples(report: SelfTestReport, window, samples: list[Path], model: Path) -> None:
    """First-launch path: open the samples, load the model, show and score every study."""
    scanned: list[int] = []
    window.scanFinished.connect(scanned.append)
    window.start(samples, model)
    if not report.check(
        _wait_until(lambda: bool(scanned), STUDY_TIMEOUT_S), "sample folders scanned"
    ):
        return
    studies = window.session.studies
    labelled = sum(s.label is not None for s in studies)
    parts = sorted({s.body_part for s in studies if s.body_part})
    dicom = [s for s in studies if s.views and all(v.is_dicom for v in s.views)]
    report.check(
        len(studies) >= 2 and bool(dicom) and labelled > 0 and len(parts) >= 2,
        f"{len(studies)} sample studies ({len(dicom)} DICOM, {labelled} labelled), "
        f"body parts {', '.join(parts)}",
    )
    failures: list[str] = []
    window.service.modelFailed.connect(lambda _job, message: failures.append(message))
    window.service.crashed.connect(lambda _job, details: failures.append(details))
    loaded = _wait_until(lambda: window.model is not None or bool(failures), MODEL_TIMEOUT_S)
    problem = f": {failures[0].strip().splitlines()[-1]}" if failures else ""
    if not report.check(
        loaded and not failures, f"model loaded by the worker: {model.name}{problem}"
    ):
        return
    info = window.model
    report.check(info.demo, f"model '{info.name}' is marked demo, on {info.device}")
    torch_note = "PyTorch loaded" if "torch" in sys.modules else "PyTorch not loaded"
    report.check(bool(info.runtime), f"runtime: {info.runtime} ({torch_note})")
    report.check(window.demo_banner.isVisible(), "demo warning banner visible")

    t0 = time.perf_counter()
    for study in studies:
        _check_study(report, window, study)
    _report_dicom_codecs(report, dicom)
    _check_heatmap_modes(report, window.image_view)
    n = sum(len(s.views) for s in studies)
    report.check(
        window.session.n_scored == len(studies),
        f"{window.session.n_scored}/{len(studies)} studies scored, {n} views, "
        f"{time.perf_counter() - t0:.1f} s",
    )


def _check_study(report: SelfTestReport, window, study) -> None:
    """Show ``study`` (the viewer scores it, with heatmaps) and check every view."""
    uid = study.uid
    window.show_study(uid)
    session = window.session
    done = _wait_until(
        lambda: uid in session.results and session.heatmaps(uid) is not None, STUDY_TIMEOUT_S
    )
    result = session.results.get(uid)
    kind = "DICOM" if study.views and study.views[0].is_dicom else "PNG"
    label = {None: "label unknown", 0: "normal", 1: "abnormal"}.get(study.label, "?")
    what = f"{study.body_part or '?'} {kind} study ({label}, {len(study.views)} views)"
    if not done or result is None:
        report.check(False, f"{what}: not scored within {STUDY_TIMEOUT_S:.0f} s ({study.name})")
        return
    heatmaps = session.heatmaps(uid) or {}
    with_maps = sum(1 for v in study.views if v.path in heatmaps and heatmaps[v.path].size)
    errors = [v.error for v in result.views if v.error]
    text = f"{what}: p={result.probability:.3f} {result.verdict}, {with_maps} heatmaps"
    if errors:
        text += f"; errors: {'; '.join(errors)}"
    report.check(
        result.probability is not None and not errors and with_maps == len(study.views), text
    )


def _check_heatmap_modes(report: SelfTestReport, view) -> None:
    """Every display mode draws the view on screen (and nothing when off), and a view
    scored below the operating point shows no map by default."""

    from mura_desktop.core.display import HEATMAP_MODES, HeatmapStyle

    heatmap, style = view.heatmap, view.heatmap_style
    if heatmap is None:
        report.check(False, "heatmap modes: no heatmap on screen")
        return
    view.set_heatmap_style(HeatmapStyle("off"))
    plain = view.rendered_rgb()
    changed = {}
    for mode in HEATMAP_MODES:
        view.set_heatmap_style(HeatmapStyle(mode, all_views=True))
        changed[mode] = int((view.rendered_rgb() != plain).any(axis=-1).sum())
    view.set_heatmap_style(HeatmapStyle())
    view.set_heatmap(heatmap, probability=0.0, floor=0.5)
    hidden = not view.heatmap_drawn
    view.set_heatmap(heatmap)
    view.set_heatmap_style(style)
    report.check(
        changed["off"] == 0 and changed["wash"] > changed["region"] > changed["box"] > 0 and hidden,
        "heatmap modes drawn: " + ", ".join(f"{m} {n} px" for m, n in changed.items())
        + f"; below the operating point: {'no map' if hidden else 'MAP SHOWN'}",
    )  # fmt: skip


def _report_dicom_codecs(report: SelfTestReport, studies: list) -> None:
    """Name the transfer syntaxes the DICOM samples exercised (they all scored above)."""
    import pydicom

    counts: dict[str, int] = {}
    for study in studies:
        for view in study.views:
            syntax = pydicom.dcmread(view.path, stop_before_pixels=True).file_meta.TransferSyntaxUID
            counts[syntax.name] = counts.get(syntax.name, 0) + 1
    text = ", ".join(f"{name} ×{n}" for name, n in sorted(counts.items()))
    report.check(bool(counts), f"DICOM samples read through: {text or 'none'}")


def _decode_extra(report: SelfTestReport, paths: list[Path]) -> None:
    from mura_desktop.core.errors import ImageLoadError
    from mura_desktop.core.pixels import load_image

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            files.append(path)
    for path in files:
        try:
            image = load_image(path)
        except ImageLoadError as exc:
            report.check(False, f"decode {path.name}: {exc.reason}")
            continue
        h, w = image.pixels.shape
        report.check(True, f"decode {path.name}: {image.description or 'image'}, {w}×{h}")


def _wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Run the Qt event loop until ``condition()`` holds (checked every 20 ms) or time runs
    out; returns whether it held."""
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return True
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(20)
    poll.timeout.connect(lambda: condition() and loop.quit())
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    poll.start()
    deadline.start(int(timeout_s * 1000))
    loop.exec()
    poll.stop()
    deadline.stop()
    return condition()
