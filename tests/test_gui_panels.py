"""Metrics panel, PDF study report and model dialog, on the offscreen platform."""

from __future__ import annotations

import shutil
import subprocess
import time
import unicodedata
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QLabel, QPushButton
from viewer_support import PaintCounter

from mura_desktop.core.display import HeatmapStyle
from mura_desktop.core.metrics import roc_curve, study_metrics
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.pixels import LoadedImage
from mura_desktop.core.results import StudyResult, ViewResult
from mura_desktop.core.stats.summary import study_statistics
from mura_desktop.core.study import BODY_PARTS
from mura_desktop.core.verdict import VerdictRule
from mura_desktop.gui.metrics_panel import MetricsPanel
from mura_desktop.gui.metrics_table import COLUMNS
from mura_desktop.gui.model_dialog import ModelDialog
from mura_desktop.gui.pdf_page import DISCLAIMER
from mura_desktop.gui.report import write_study_report

RULE = VerdictRule(threshold=0.5, band=(0.3, 0.7))


def make_results(
    n: int, seed: int = 0, parts: tuple[str, ...] = BODY_PARTS, labelled: bool = True
) -> list[StudyResult]:
    """Scored studies whose probabilities separate the classes imperfectly."""
    rng = np.random.default_rng(seed)
    results = []
    for i in range(n):
        label = int(rng.random() < 0.4)
        logits = rng.normal(1.0 if label else -1.0, 1.2, size=int(rng.integers(1, 5)))
        probs = 1.0 / (1.0 + np.exp(-logits))
        p = RULE.aggregate(probs)
        results.append(
            StudyResult(
                uid=f"s{i}",
                name=f"patient{i:05d}/study1",
                views=[ViewResult(f"/data/image{j}.png", float(q)) for j, q in enumerate(probs)],
                body_part=parts[i % len(parts)],
                label=label if labelled else None,
                probability=p,
                verdict=RULE.verdict(p),
                rule=RULE,
            )
        )
    return results


# --- metrics panel ------------------------------------------------------------------------


@pytest.fixture
def panel(qtbot):
    widget = MetricsPanel()
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    return widget


def charts_drawn(qtbot, panel):
    assert panel.charts_pending()  # drawn in later turns of the event loop, not at once
    qtbot.waitUntil(lambda: not panel.charts_pending(), timeout=5_000)


def test_metrics_panel_shows_the_core_metrics(qtbot, panel):
    results = make_results(400)
    panel.set_results(results)
    charts_drawn(qtbot, panel)
    expected = study_metrics(results)
    assert list(panel.metrics()) == list(expected)
    for group in ("ALL", "WRIST"):
        m = expected[group]
        assert panel.table_text(group, "n") == f"{m.n:,}"
        assert panel.table_text(group, "κ") == m.text("kappa")
        assert panel.table_text(group, "AUROC") == m.text("auroc")
        assert panel.table_text(group, "Sensitivity") == m.text("sensitivity")
        assert panel.table_text(group, "F1") == m.text("f1")
    np.testing.assert_array_equal(panel.confusion_counts(), expected["ALL"].confusion)
    labels = [r.label for r in results]
    scores = [r.probability for r in results]
    fpr, tpr, _ = roc_curve(labels, scores)
    x, y = panel._roc._curve.getData()
    np.testing.assert_allclose(x, fpr)
    np.testing.assert_allclose(y, tpr)
    px, py = panel._roc._point.getData()
    assert (px[0], py[0]) == pytest.approx(
        (1 - expected["ALL"].specificity, expected["ALL"].sensitivity)
    )
    assert panel.message() == ""


def test_metrics_panel_group_selection_and_threshold(qtbot, panel):
    results = make_results(300)
    panel.set_results(results)
    panel.select_group("HAND")
    assert panel.selected_group() == "HAND"
    hand = study_metrics(results, 0.8)["HAND"]
    panel.set_results(results, threshold=0.8)
    assert panel.selected_group() == "HAND", "the selected group survives an update"
    charts_drawn(qtbot, panel)
    np.testing.assert_array_equal(panel.confusion_counts(), hand.confusion)
    with pytest.raises(KeyError):
        panel.select_group("KNEE")


def test_metrics_panel_without_labels_says_why(panel):
    panel.set_results([])
    assert "No scored studies" in panel.message()
    unscored = make_results(5)
    for r in unscored:
        r.probability = None
    panel.set_results(unscored)
    assert "Scoring 5 studies" in panel.message()
    panel.set_results(make_results(20, labelled=False))
    assert "need ground truth labels" in panel.message()
    assert panel.metrics() == {}


def test_metrics_panel_one_class_shows_na_with_the_reason(qtbot, panel):
    results = make_results(30, parts=("FINGER",))
    for r in results:
        r.label = 1
    panel.set_results(results)
    assert panel.table_text("ALL", "AUROC") == "n/a"
    assert panel.table_text("FINGER", "Specificity") == "n/a"
    assert panel.table_text("FINGER", "κ") == "n/a"  # was 1.000 or 0.000
    row = [panel._table.item(r, 0).text() for r in range(panel._table.rowCount())].index("FINGER")
    kappa = panel._table.item(row, COLUMNS.index("κ"))
    assert "only abnormal studies" in kappa.toolTip()
    charts_drawn(qtbot, panel)
    x, _ = panel._roc._curve.getData()
    assert x is None or len(x) == 0
    assert "both normal and" in panel._roc._note.toPlainText()


def test_metrics_panel_follows_streaming_results_quickly(panel):
    results = make_results(3000, seed=3)
    for r in results[2000:]:
        r.probability = None
    for r in results[1500:1700]:
        r.label = None
    panel.set_results(results[:10])
    assert panel.metrics()["ALL"].n == 10
    start = time.perf_counter()
    for end in range(500, 3001, 500):
        panel.set_results(results[:end])
    per_call = (time.perf_counter() - start) / 6
    assert panel.metrics()["ALL"].n == 2000 - 200
    assert "1,000 not scored yet" in panel._summary.text()
    assert "200 without a label" in panel._summary.text()
    assert per_call < 0.25, f"set_results took {per_call * 1000:.0f} ms"


def test_metrics_panel_charts_stay_put_while_results_stream(qtbot, panel):
    """The notes above and beside the charts change length as results stream in and the
    intervals arrive between them; each move of the charts re-laid and repainted their
    axes (20-40 ms a chart on the GUI thread)."""
    results = make_results(90, seed=8)  # about 13 studies a part: some without intervals
    panel.resize(600, 800)
    panel.show()
    panel.set_results(results[:60], threshold=0.5)
    _intervals(qtbot, panel)  # each note has been shown once: the tallest is known
    panel.set_results(results[:65], threshold=0.5)
    qtbot.waitUntil(lambda: not panel.charts_pending(), timeout=5_000)
    charts = (panel._roc, panel._reliability, panel._confusion)  # the top row
    placed = [_top(c, panel) for c in charts]  # (its height may shift with the error bars')
    for end in (70, 80, 90):
        _intervals(qtbot, panel)  # the method, with what has no interval: a longer note
        qtbot.wait(50)  # the layout follows in a later turn of the event loop
        assert [_top(c, panel) for c in charts] == placed
        panel.set_results(results[:end], threshold=0.5)  # pending again: a short note
        qtbot.waitUntil(lambda: not panel.charts_pending(), timeout=5_000)
        assert panel.intervals_pending()
        assert [_top(c, panel) for c in charts] == placed


def test_metrics_panel_paints_each_chart_on_its_own_turn(qtbot, panel):
    """Painted together (the panel's first showing, a table row that moves them all) the
    charts held the GUI thread for 0.2-0.3 s while a dataset was scored beside them."""
    charts = (panel._roc, panel._reliability, panel._errors)
    counters = [PaintCounter(chart.viewport()) for chart in charts]
    results = make_results(200, seed=9)
    panel.show()
    panel.set_results([r for r in results if r.body_part != "HAND"], threshold=0.5)
    panel.repaint()  # the whole panel, now: as at its first showing
    assert [c.count for c in counters] == [0, 0, 0]
    qtbot.waitUntil(lambda: not panel.charts_pending(), timeout=5_000)
    assert all(c.count for c in counters)
    before = [c.count for c in counters]
    panel.set_results(results, threshold=0.5)  # a new row (HAND): every chart moves
    panel.repaint()
    assert [c.count for c in counters] == before
    qtbot.waitUntil(lambda: not panel.charts_pending(), timeout=5_000)
    assert all(c.count > b for c, b in zip(counters, before, strict=True))


def test_metrics_panel_builds_its_charts_in_turns_of_their_own(qtbot):
    """Built with the panel, the three pyqtgraph charts held the GUI thread for 0.1 s on the
    click that starts a dataset's scoring."""
    charts_built: list[int] = []
    panel = MetricsPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.findChildren(pg.PlotWidget) == []
    panel.set_results(make_results(60, seed=3), threshold=0.5)
    assert panel.findChildren(pg.PlotWidget) == []
    while panel.charts_pending():
        qtbot.wait(1)
        charts_built.append(len(panel.findChildren(pg.PlotWidget)))
    assert {1, 2, 3} <= set(charts_built)  # one more at a time, never all at once
    assert len(panel.reliability_plot().points()[0]) > 0


def _top(widget, panel) -> int:
    return widget.mapTo(panel, QPoint(0, 0)).y()


def _intervals(qtbot, panel) -> None:
    with qtbot.waitSignal(panel.intervalsReady, timeout=30_000):
        panel.compute_intervals_now()


def test_metrics_panel_shows_the_core_intervals(qtbot, panel):
    results = make_results(400, seed=4)
    panel.set_results(results, threshold=0.5)
    assert panel.intervals_pending()
    assert panel.interval_text("ALL", "κ") == "…"
    _intervals(qtbot, panel)
    expected = study_statistics(results, threshold=0.5)
    assert not panel.intervals_pending()
    for group in ("ALL", "WRIST", "HAND"):
        g = expected.groups[group]
        for column, key in (("κ", "kappa"), ("AUROC", "auroc"), ("Sensitivity", "sensitivity"),
                            ("Specificity", "specificity"), ("Accuracy", "accuracy"),
                            ("F1", "f1")):  # fmt: skip
            assert panel.interval_text(group, column) == g.intervals[key].text()
            assert panel.table_text(group, column) == g.metrics.text(key)
    assert panel.interval_text("ALL", "κ").startswith("[")
    assert "DeLong" in panel._table.item(0, COLUMNS.index("AUROC")).toolTip()
    assert "patient bootstrap (2000 resamples" in panel._method.text()
    # the error bars are the intervals, one per group in table order
    for key in ("kappa", "auroc"):
        drawn = panel.interval_plot().bars(key)
        wanted = [(g.intervals[key].low, g.intervals[key].high) for g in expected.groups.values()]
        np.testing.assert_allclose(drawn, wanted)
    # the reliability diagram of the selected group is core.stats.calibration's
    panel.select_group("WRIST")
    c = expected.groups["WRIST"].calibration
    x, y = panel.reliability_plot().points()
    filled = [b for b in c.bins if b.count]
    np.testing.assert_allclose(x, [b.mean_predicted for b in filled])
    np.testing.assert_allclose(y, [b.observed for b in filled])
    assert f"ECE {c.ece:.3f}, Brier {c.brier:.3f}" in panel.reliability_plot().title


def test_metrics_panel_says_why_an_interval_is_missing(qtbot, panel):
    results = make_results(200, seed=5, parts=("WRIST", "HAND"))
    hand = [r for r in results if r.body_part == "HAND"]
    kept = [r for r in results if r.body_part == "WRIST"] + hand[:6]
    panel.set_results(kept)
    _intervals(qtbot, panel)
    assert panel.interval_text("HAND", "κ") == "n/a: 6 studies (an interval needs 10)"
    assert panel.interval_text("WRIST", "κ").startswith("[")
    low, high = panel.interval_plot().bars("kappa")[list(panel.metrics()).index("HAND")]
    assert low == high, "no error bar where there is no interval"


def test_metrics_panel_keeps_only_the_latest_intervals(qtbot, panel):
    results = make_results(600, seed=6)
    panel.set_results(results[:300])
    panel.compute_intervals_now()
    with qtbot.waitSignal(panel.intervalsReady, timeout=30_000):
        panel.set_results(results)  # arrives while the first job runs: its answer is dropped
        panel.compute_intervals_now()
    assert panel.statistics().groups["ALL"].metrics.n == 600
    panel.set_results(results)  # the same results: nothing to recompute
    assert not panel.intervals_pending()
    qtbot.wait(50)
    assert panel.statistics().groups["ALL"].metrics.n == 600


# --- PDF report ---------------------------------------------------------------------------


def _radiograph(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.linspace(-1, 1, w)[None, :]
    return np.clip(0.2 + 0.6 * np.exp(-((x / 0.25) ** 2)) + 0.05 * rng.random((h, w)), 0, 1).astype(
        np.float32
    )


def _blob(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.exp(-(((y - h / 2) / (h / 5)) ** 2 + ((x - w / 3) / (w / 5)) ** 2)).astype(np.float32)


@pytest.fixture
def report_study():
    paths = [Path(f"/data/XR_WRIST/patient11185/study1_positive/image{i}.png") for i in (1, 2, 3)]
    views = [
        ViewResult(str(paths[0]), 0.91),
        ViewResult(str(paths[1]), 0.62),
        ViewResult(str(paths[2]), error="image3.png: truncated PNG file"),
    ]
    result = StudyResult(
        uid="u1",
        name="XR_WRIST/patient11185/study1_positive",
        views=views,
        body_part="WRIST",
        label=1,
        patient_id="patient11185",
        probability=0.765,
        verdict="abnormal",
        rule=RULE,
    )
    images = {
        paths[0]: LoadedImage(paths[0], _radiograph(512, 400, 1)),
        paths[1]: LoadedImage(paths[1], _radiograph(300, 420, 2)),
    }
    heatmaps = {paths[0]: _blob(10, 10), paths[1]: _blob(300, 420)}
    return result, images, heatmaps


def _pdf_text(path: Path) -> str:
    """The PDF's text with ligatures (ﬁ) unfolded."""
    run = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return unicodedata.normalize("NFKC", run.stdout)


MODEL = ModelRecord.from_dict(
    {
        "name": "phantom-densenet121",
        "architecture": "densenet121",
        "content_hash": "0123456789abcdef0123",
        "demo": True,
    }
)


def test_report_is_a_one_page_pdf_with_everything_on_it(qapp, tmp_path, report_study):
    result, images, heatmaps = report_study
    out = tmp_path / "report.pdf"
    write_study_report(out, result, images, heatmaps, MODEL)
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(data) > 20_000, "the two views should be embedded as images"
    assert list(tmp_path.iterdir()) == [out], "no temporary file left behind"
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed: text and raster checks skipped")
    text = _pdf_text(out)
    flat = " ".join(text.split())
    for expected in (
        DISCLAIMER,
        "XR_WRIST/patient11185/study1_positive",
        "Wrist",
        "patient11185",
        "phantom-densenet121",
        "densenet121",
        "0123456789ab",
        "DEMO MODEL",
        "ABNORMAL",
        "0.765",
        "mean of 2 views ≥ 0.50",
        "agrees with",
        "p = 0.910",
        "p = 0.620",
        "truncated PNG file",
    ):
        assert expected in flat, f"{expected!r} missing from the report"
    assert "0123456789abc" not in flat, "the hash is shown to 12 characters"
    assert text.count("\f") <= 1, "one page"
    png = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(out), str(png)], check=True)
    from PIL import Image

    page = np.asarray(Image.open(tmp_path / "page-1.png").convert("RGB")).astype(int)
    assert page.shape[0] / page.shape[1] == pytest.approx(297 / 210, rel=0.02)
    colourful = (page.max(axis=2) - page.min(axis=2)) > 80
    assert colourful.mean() > 0.005, "the heatmap overlays should be visible"


def _page_colour(pdf: Path, tmp_path: Path) -> float:
    """Share of strongly coloured pixels on the PDF's page rendered at 40 dpi."""
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / pdf.stem)], check=True)
    page = np.asarray(Image.open(tmp_path / f"{pdf.stem}-1.png").convert("RGB")).astype(int)
    return float(((page.max(axis=2) - page.min(axis=2)) > 80).mean())


def test_report_draws_maps_only_at_the_operating_point_unless_asked(qapp, tmp_path, report_study):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    result, images, heatmaps = report_study
    result.rule = VerdictRule(threshold=0.95)  # both views (0.91, 0.62) fall below it
    hidden, asked = tmp_path / "hidden.pdf", tmp_path / "asked.pdf"
    write_study_report(hidden, result, images, heatmaps, MODEL)
    write_study_report(
        asked, result, images, heatmaps, MODEL, style=HeatmapStyle("wash", all_views=True)
    )
    assert "shown without a map" in " ".join(_pdf_text(hidden).split())
    assert "relative to this image's own peak" in " ".join(_pdf_text(asked).split())
    assert _page_colour(asked, tmp_path) > _page_colour(hidden, tmp_path) + 0.002


def test_report_without_demo_or_labels(qapp, tmp_path, report_study):
    result, images, _ = report_study
    result.label = None
    out = tmp_path / "plain.pdf"
    write_study_report(
        out, result, images, {}, ModelRecord.from_dict({"name": "m", "hash": "feedbeef" * 4})
    )
    assert out.read_bytes().startswith(b"%PDF-")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    flat = " ".join(_pdf_text(out).split())
    assert "DEMO" not in flat
    assert "Ground truth: unknown" in flat
    assert "feedbeeffeed" in flat


def test_report_to_an_unwritable_place_raises_and_leaves_nothing(qapp, tmp_path, report_study):
    result, images, heatmaps = report_study
    with pytest.raises(OSError):
        write_study_report(tmp_path / "missing" / "r.pdf", result, images, heatmaps, MODEL)
    assert list(tmp_path.iterdir()) == []


# --- model dialog -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    """A real (random, densenet121) demo bundle saved to disk, plus its plain checkpoint."""
    torch = pytest.importorskip("torch")
    from mura_desktop.inference.bundle import ModelBundle, save_bundle
    from mura_desktop.inference.network import build_network

    state = build_network("densenet121").state_dict()
    bundle = ModelBundle(
        architecture="densenet121",
        members=[state],
        input_size=224,
        operating_points={"default": 0.47, "high_sensitivity": 0.21, "high_specificity": 0.78},
        provenance={
            "name": "phantom-densenet121",
            "data": "synthetic phantoms",
            "split": "patient-grouped 80/20",
            "metrics": {"ALL": {"kappa": 0.81, "auroc": 0.97}},
            "created": "2026-01-01T00:00:00+00:00",
            "trainer_version": "0.1.0",
            "demo": True,
        },
    )
    folder = tmp_path_factory.mktemp("models")
    path = folder / "phantom.mura"
    save_bundle(bundle, path)
    checkpoint = folder / "plain.pth"
    torch.save(state, checkpoint)
    return bundle, path, checkpoint


def _ok_button(dialog: ModelDialog) -> QPushButton:
    return dialog._buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_model_dialog_without_a_model_explains_how_to_get_one(qtbot, tmp_path):
    dialog = ModelDialog(cuda_available=False, models_dir=tmp_path)
    qtbot.addWidget(dialog)
    assert dialog._model_box._no_model.isVisibleTo(dialog)
    assert "mura-train fit" in dialog._model_box._no_model.text()
    assert "Import checkpoint" in dialog._model_box._no_model.text()
    assert not dialog._model_box._demo.isVisibleTo(dialog)
    with qtbot.waitSignal(dialog.settingsChosen) as signal:
        qtbot.mouseClick(_ok_button(dialog), Qt.MouseButton.LeftButton)
    assert signal.args == ["", "auto", 0.5]


def test_model_dialog_shows_provenance_demo_warning_and_operating_points(
    qtbot, tmp_path, tiny_bundle
):
    bundle, path, _ = tiny_bundle
    dialog = ModelDialog(bundle, path, "cpu", None, cuda_available=False, models_dir=tmp_path)
    qtbot.addWidget(dialog)
    assert dialog._model_box._demo.isVisibleTo(dialog)
    assert "DEMO MODEL" in dialog._model_box._demo.text()
    shown = " ".join(
        dialog._model_box._facts.itemAt(i).widget().text()
        for i in range(dialog._model_box._facts.count())
        if hasattr(dialog._model_box._facts.itemAt(i).widget(), "text")
    )
    for expected in (
        "densenet121, input 224×224",
        "abnormality",
        "synthetic phantoms",
        "patient-grouped",
        "κ 0.810",
        "AUROC 0.970",
        "0.1.0",
        bundle.content_hash[:12],
        str(path),
        "indeterminate in [0.210, 0.780)",
    ):
        assert expected in shown, expected
    assert dialog.threshold() == pytest.approx(0.47)
    sensitive = next(
        b for b in dialog.findChildren(QPushButton) if b.text().startswith("high sensitivity")
    )
    qtbot.mouseClick(sensitive, Qt.MouseButton.LeftButton)
    assert dialog.threshold() == pytest.approx(0.21)
    assert dialog.device() == "cpu"
    with qtbot.waitSignal(dialog.settingsChosen) as signal:
        qtbot.mouseClick(_ok_button(dialog), Qt.MouseButton.LeftButton)
    assert signal.args == [str(path), "cpu", pytest.approx(0.21)]


def test_model_dialog_rows_are_not_clipped(qtbot, tmp_path, tiny_bundle):
    from mura_desktop.inference.bundle import ModelBundle

    bundle, path, _ = tiny_bundle
    wordy = ModelBundle(
        architecture=bundle.architecture,
        members=bundle.members,
        input_size=bundle.input_size,
        provenance={
            **bundle.provenance,
            "metrics": {k: 0.5 for k in ("kappa", "auroc", "accuracy", "sensitivity", "f1")},
            "notes": "a long note that has to wrap onto a second line in a dialog this wide " * 2,
        },
    )
    dialog = ModelDialog(wordy, path, cuda_available=False, models_dir=tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    labels = [
        dialog._model_box._facts.itemAt(i).widget()
        for i in range(dialog._model_box._facts.count())
        if isinstance(dialog._model_box._facts.itemAt(i).widget(), QLabel)
    ]
    assert any(
        label.heightForWidth(label.width()) > label.fontMetrics().height() * 1.5 for label in labels
    ), "the note should need two lines"
    for label in labels:
        assert label.height() >= label.heightForWidth(label.width()), label.text()


def test_model_dialog_cuda_choice_follows_availability(qtbot, tmp_path):
    off = ModelDialog(device="cuda", cuda_available=False, models_dir=tmp_path)
    qtbot.addWidget(off)
    row = off._device.findData("cuda")
    assert not off._device.model().item(row).isEnabled()
    assert "No CUDA" in off._device.itemData(row, Qt.ItemDataRole.ToolTipRole)
    assert off.device() == "auto"
    on = ModelDialog(device="cuda:1", cuda_available=True, models_dir=tmp_path)
    qtbot.addWidget(on)
    assert on.device() == "cuda"
    asked = ModelDialog(device="cpu", models_dir=tmp_path)  # asks torch
    qtbot.addWidget(asked)
    assert asked.device() == "cpu"


def test_model_dialog_loads_a_bundle_in_the_background(qtbot, tmp_path, tiny_bundle):
    bundle, path, _ = tiny_bundle
    dialog = ModelDialog(cuda_available=False, models_dir=tmp_path)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.bundleChanged, timeout=20_000) as signal:
        dialog.load_bundle_file(path)
        assert dialog.is_busy()
        assert not _ok_button(dialog).isEnabled()
    assert signal.args == [str(path)]
    qtbot.waitUntil(lambda: not dialog.is_busy())
    assert dialog.bundle().content_hash == bundle.content_hash
    assert dialog.model_path() == str(path)
    assert dialog._model_box._demo.isVisibleTo(dialog)
    assert dialog.threshold() == pytest.approx(0.47)
    assert _ok_button(dialog).isEnabled()


def test_model_dialog_reports_a_bad_file_and_stays_usable(qtbot, tmp_path):
    junk = tmp_path / "notes.mura"
    junk.write_text("not a model")
    dialog = ModelDialog(cuda_available=False, models_dir=tmp_path)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.errorShown, timeout=20_000) as signal:
        dialog.load_bundle_file(junk)
    assert "notes.mura" in signal.args[0]
    qtbot.waitUntil(lambda: not dialog.is_busy())
    assert "not a PyTorch file" in dialog.status_text()
    assert dialog.bundle() is None
    assert dialog._load_button.isEnabled()


def test_model_dialog_imports_a_checkpoint_and_asks_where_to_save(
    qtbot, tmp_path, tiny_bundle, monkeypatch
):
    from mura_desktop.inference.bundle import load_bundle

    _, _, checkpoint = tiny_bundle
    models = tmp_path / "models"
    offered = []

    def save_as(parent, caption, suggested, filter_):
        offered.append(Path(suggested))
        return str(tmp_path / "chosen"), filter_

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_as))
    dialog = ModelDialog(cuda_available=False, models_dir=models)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.bundleChanged, timeout=20_000) as signal:
        dialog.import_checkpoint_file(checkpoint)
    target = tmp_path / "chosen.mura"
    assert signal.args == [str(target)]
    assert offered == [models / "plain.mura"], "offered in the models folder, not the checkpoint's"
    assert load_bundle(target).architecture == "densenet121"
    assert not (checkpoint.parent / "plain.mura").exists()
    qtbot.waitUntil(lambda: not dialog.is_busy())
    assert "Imported plain.pth" in dialog.status_text()
    assert dialog.bundle().architecture == "densenet121"


def test_model_dialog_import_cancelled_saves_nothing(qtbot, tmp_path, tiny_bundle, monkeypatch):
    _, _, checkpoint = tiny_bundle
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a: ("", "")))
    dialog = ModelDialog(cuda_available=False, models_dir=tmp_path / "models")
    qtbot.addWidget(dialog)
    dialog.import_checkpoint_file(checkpoint)
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=20_000)
    assert "cancelled" in dialog.status_text()
    assert list((tmp_path / "models").iterdir()) == []
    assert dialog.bundle() is None


def test_model_dialog_import_to_a_given_destination(qtbot, tmp_path, tiny_bundle):
    _, _, checkpoint = tiny_bundle
    dialog = ModelDialog(cuda_available=False, models_dir=tmp_path)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.bundleChanged, timeout=20_000):
        dialog.import_checkpoint_file(checkpoint, tmp_path / "given.mura")
    assert (tmp_path / "given.mura").is_file()
    dialog.reject()
    assert not dialog.is_busy()


def test_metrics_report_pdf_carries_the_intervals(qtbot, panel, tmp_path):
    results = make_results(300, seed=7)
    panel.set_results(results, model=ModelRecord(name="report model", architecture="densenet169"))
    assert not panel.export_button.isEnabled()
    with pytest.raises(RuntimeError, match="not ready"):
        panel.write_report(tmp_path / "early.pdf")
    _intervals(qtbot, panel)
    assert panel.export_button.isEnabled()
    path = tmp_path / "metrics.pdf"
    panel.write_report(path)
    assert path.read_bytes().startswith(b"%PDF")
    assert not list(tmp_path.glob(".*.part"))
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed")
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    overall = panel.statistics().groups["ALL"]
    for key in ("kappa", "auroc", "specificity"):
        assert overall.intervals[key].text() in text
    assert f"ECE {overall.calibration.ece:.3f}, Brier {overall.calibration.brier:.3f}" in text
    assert "report model" in text and "patient bootstrap" in text
