"""The viewer's parts on their own: settings, image view, study list, thumbnails, progress."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QByteArray, QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QHelpEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QToolTip
from viewer_support import PaintCounter, many_studies

from mura_desktop.core.display import (
    DEFAULT_HEATMAP_MODE,
    DISAGREE_COLOUR,
    HEATMAP_MODES,
    VERDICT_COLOURS,
    HeatmapStyle,
    blend_heatmap,
    draw_heatmap,
    gray_rgb,
    make_thumbnail,
    orient,
    overlay_rgba,
)
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.pixels import LoadedImage
from mura_desktop.core.results import StudyResult, ViewResult
from mura_desktop.core.study import Scan, Study, View
from mura_desktop.core.verdict import VerdictRule
from mura_desktop.gui.heatmap_bar import HeatmapBar
from mura_desktop.gui.heatmap_layer import DISPLAY_SIDE
from mura_desktop.gui.image_view import ImageView
from mura_desktop.gui.scoring_progress import EtaClock, ScoringProgress
from mura_desktop.gui.session import Session
from mura_desktop.gui.settings import MAX_RECENT, Settings
from mura_desktop.gui.study_browser import StudyBrowser
from mura_desktop.gui.study_tree_model import COL_SCORE, COL_TRUTH, COL_VERDICT, UID_ROLE
from mura_desktop.gui.thumbnails import ThumbnailStrip
from mura_desktop.gui.verdict_panel import VerdictPanel

# --- settings ---------------------------------------------------------------------------


def test_settings_defaults_and_round_trip(qapp, tmp_path):
    path = tmp_path / "s.ini"
    s = Settings(path)
    bundle = tmp_path / "m.mura"
    bundle.write_bytes(b"m")
    assert (s.heatmap_visible, s.heatmap_opacity, s.device, s.threshold_for(bundle)) == (
        True,
        0.5,
        "auto",
        None,
    )
    assert s.recent_items == [] and s.model_path == ""
    for i in range(MAX_RECENT + 3):
        s.add_recent(tmp_path / f"d{i}")
    s.add_recent(tmp_path / "d5")
    s.set_threshold_for(bundle, 0.42)
    s.device = "cpu"
    s.sync()
    again = Settings(path)
    assert len(again.recent_items) == MAX_RECENT
    assert again.recent_items[0] == str((tmp_path / "d5").resolve())
    assert again.threshold_for(bundle) == pytest.approx(0.42)
    assert again.threshold_for(tmp_path / "other.mura") is None
    assert again.device == "cpu"
    again.set_threshold_for(bundle, None)
    assert again.threshold_for(bundle) is None


def test_settings_ignore_nonsense_values(qapp, tmp_path):
    path = tmp_path / "s.ini"
    s = Settings(path)
    s.set_threshold_for(tmp_path / "m.mura", 7)
    s.sync()
    text = path.read_text().replace("heatmap_opacity", "x")
    path.write_text(text + "[model]\ndevice=quantum\n[display]\nheatmap_opacity=abc\n")
    s = Settings(path)
    assert s.threshold_for(tmp_path / "m.mura") is None
    assert s.device == "auto" and s.heatmap_opacity == 0.5


def test_every_typed_setting_reads_back_and_falls_back_to_its_default(qapp, tmp_path):
    path = tmp_path / "s.ini"
    chosen = {
        "geometry": QByteArray(b"\x01\x02geometry"),
        "window_state": QByteArray(b"state"),
        "last_open_dir": str(tmp_path / "in, with a comma"),
        "last_save_dir": str(tmp_path / "out"),
        "heatmap_visible": False,
        "heatmap_opacity": 0.25,
        "heatmap_mode": next(m for m in HEATMAP_MODES if m not in ("off", DEFAULT_HEATMAP_MODE)),
        "heatmap_all_views": True,
        "heatmap_scale_opacity": True,
        "group_studies": False,
        "model_path": str(tmp_path / "m.mura"),
        "device": "cuda:1",
        "backend": "openvino",
        "local_ae_title": "VIEWER2",
        "listener_port": 104,
        "listener_folder": str(tmp_path / "arrived"),
    }
    fresh = Settings(path)
    defaults = {name: getattr(fresh, name) for name in chosen}
    assert all(defaults[name] != value for name, value in chosen.items())
    for name, value in chosen.items():
        setattr(fresh, name, value)
    fresh.local_ae_title = "  VIEWER2 "
    fresh.sync()
    assert {name: getattr(Settings(path), name) for name in chosen} == chosen

    invalid = {
        "geometry": "",
        "heatmap_opacity": "half",
        "heatmap_mode": "off",
        "device": "tpu",
        "backend": "onnx",
        "local_ae_title": "A" * 17,
        "listener_port": "0",
    }
    stored = Settings(path)
    for name, raw in invalid.items():
        stored._q.setValue(getattr(Settings, name).key, raw)
    stored.sync()
    again = Settings(path)
    assert {name: getattr(again, name) for name in invalid} == {n: defaults[n] for n in invalid}
    again.heatmap_opacity = 1.5
    assert again.heatmap_opacity == 1.0


# --- image view -------------------------------------------------------------------------


def loaded(h: int = 30, w: int = 50) -> LoadedImage:
    pixels = np.linspace(0, 1, h * w, dtype=np.float32).reshape(h, w)
    return LoadedImage(Path("x.png"), pixels, window_center=0.4, window_width=0.6)


def image_view(qtbot, image: LoadedImage) -> ImageView:
    """An image view (not shown) holding ``image``."""
    view = ImageView()
    qtbot.addWidget(view)
    view.set_image(image)
    return view


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ([("rotate", 1)], lambda a: np.rot90(a, -1)),
        ([("rotate", -1)], lambda a: np.rot90(a, 1)),
        ([("flip_horizontal",)], np.fliplr),
        ([("flip_vertical",)], np.flipud),
        ([("rotate", 1), ("flip_horizontal",)], lambda a: np.fliplr(np.rot90(a, -1))),
    ],
)
def test_orientation_acts_on_screen_axes(qtbot, ops, expected):
    image = loaded()
    view = image_view(qtbot, image)
    view.set_heatmap_visible(False)
    view.set_window(0.5, 1.0)
    for name, *args in ops:
        getattr(view, name)(*args)
    gray = (np.clip(image.pixels, 0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(view.rendered_rgb()[..., 0], expected(gray))
    assert np.array_equal(orient(gray, view.orientation), expected(gray))


def test_pixel_under_cursor_follows_rotation(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    view.set_image(loaded())
    view.rotate(1)
    item = view._gray
    scene = item.mapToScene(QPointF(7.5, 3.5))  # the centre of pixel (x 7, y 3)
    x, y, value = view.pixel_at(scene)
    assert (x, y) == (7, 3)
    assert value == pytest.approx(float(view.image.pixels[3, 7]))


def test_export_matches_core_overlay(qtbot):
    image = loaded()
    view = image_view(qtbot, image)
    heat = np.random.default_rng(0).random(image.pixels.shape).astype(np.float32)
    view.set_heatmap(heat)
    view.set_heatmap_style(HeatmapStyle("wash"))
    view.set_heatmap_opacity(0.7)
    view.toggle_invert()
    low, high = view.window.levels
    gray = 1.0 - np.clip((image.pixels - low) / (high - low), 0, 1)
    assert np.array_equal(view.rendered_rgb(), blend_heatmap(gray, heat, 0.7))
    with pytest.raises(ValueError):
        view.set_heatmap(np.zeros((3, 3), np.float32))


def test_a_large_images_overlay_is_drawn_coarser_but_covers_it_exactly(qtbot):
    image = loaded(1500, 2100)
    view = image_view(qtbot, image)
    heat = np.random.default_rng(1).random(image.pixels.shape).astype(np.float32)
    view.set_heatmap(heat)
    view.set_heatmap_style(HeatmapStyle("wash"))
    view.rotate(1)
    qtbot.waitUntil(lambda: not view.heatmap_pending)  # coloured in the background
    assert max(view._heat.image.shape[:2]) <= DISPLAY_SIDE
    covered = view._heat.mapRectToParent(view._heat.boundingRect())
    assert covered == view._gray.mapRectToParent(view._gray.boundingRect())
    low, high = view.window.levels
    gray = np.clip((image.pixels - low) / (high - low), 0, 1)
    expected = orient(draw_heatmap(gray, heat, HeatmapStyle("wash")), view.orientation)
    assert np.array_equal(view.rendered_rgb(), expected)  # exports stay at full size


def spot(shape: tuple[int, int], y: float, x: float) -> np.ndarray:
    """A smooth map peaking at (y, x), a tenth of the height wide."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w]
    return np.exp(-((ys - y) ** 2 + (xs - x) ** 2) / (2 * (h / 10) ** 2)).astype(np.float32)


def test_heatmap_modes_and_the_operating_point_decide_what_is_drawn(qtbot):
    image = loaded()
    view = image_view(qtbot, image)
    h, w = image.pixels.shape
    heat = spot(image.pixels.shape, h / 3, w / 3)
    gray = np.clip((image.pixels - view.window.levels[0]) / view.window.width, 0, 1)
    assert view.heatmap_style == HeatmapStyle()  # the default: the outlined hottest region
    view.set_heatmap(heat, probability=0.9, floor=0.3)
    assert view.heatmap_drawn
    region = HeatmapStyle("region")
    assert np.array_equal(view.rendered_rgb(), draw_heatmap(gray, heat, region, 0.9))
    qtbot.waitUntil(lambda: not view.heatmap_pending)
    assert np.array_equal(view._heat.image, overlay_rgba(heat, region, 0.9))  # on screen too
    view.set_heatmap(heat, probability=0.1, floor=0.3)  # a view the model calls normal
    assert not view.heatmap_drawn
    assert np.array_equal(view.rendered_rgb(), gray_rgb(gray))
    view.set_heatmap_style(HeatmapStyle("box", all_views=True))  # unless asked
    assert view.heatmap_drawn
    view.set_heatmap_style(HeatmapStyle("off", all_views=True))
    assert not view.heatmap_drawn


def test_the_overlay_is_coloured_in_the_background_and_never_shown_over_another_map(qtbot):
    image = loaded()
    view = image_view(qtbot, image)
    h, w = image.pixels.shape
    first, second = (spot((h, w), f * h, f * w) for f in (1 / 3, 2 / 3))
    region, box = HeatmapStyle("region"), HeatmapStyle("box")
    view.set_heatmap(first, probability=0.9, floor=0.3)
    assert view.heatmap_pending and view.heatmap_drawn  # the GUI thread did not colour it
    qtbot.waitUntil(lambda: not view.heatmap_pending)
    assert np.array_equal(view._heat.image, overlay_rgba(first, region, 0.9))

    view.set_heatmap(second, probability=0.9, floor=0.3)
    assert view._heat.image is None, "the first map must not stay over the second"
    qtbot.waitUntil(lambda: not view.heatmap_pending)
    assert np.array_equal(view._heat.image, overlay_rgba(second, region, 0.9))

    view.set_heatmap_style(box)  # the same map: its drawing stays until the new one is ready
    assert view.heatmap_pending
    assert np.array_equal(view._heat.image, overlay_rgba(second, region, 0.9))
    for opacity in (0.2, 0.4, 0.7):  # a slider dragged: only the last one counts
        view.set_heatmap_opacity(opacity)
    qtbot.waitUntil(lambda: not view.heatmap_pending)
    last = HeatmapStyle("box", opacity=0.7)
    assert np.array_equal(view._heat.image, overlay_rgba(second, last, 0.9))

    view.set_heatmap(second, probability=0.1, floor=0.3)  # now below the operating point
    assert not view.heatmap_pending and view._heat.image is None


def _send_mouse(
    widget, kind, pos: QPoint, button, buttons, modifiers=Qt.KeyboardModifier.NoModifier
):
    event = QMouseEvent(
        kind, QPointF(pos), widget.mapToGlobal(QPointF(pos)), button, buttons, modifiers
    )
    QApplication.sendEvent(widget, event)


def test_left_drag_sets_window_and_wheel_zooms_to_cursor(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    qtbot.waitExposed(view)
    view.set_image(loaded(200, 300))
    port = view._graphics.viewport()
    start = view.window
    left = Qt.MouseButton.LeftButton
    _send_mouse(port, QEvent.Type.MouseButtonPress, QPoint(200, 200), left, left)
    for step in range(1, 6):
        _send_mouse(
            port,
            QEvent.Type.MouseMove,
            QPoint(200 + 20 * step, 200 + 10 * step),
            Qt.MouseButton.NoButton,
            left,
        )
    _send_mouse(
        port, QEvent.Type.MouseButtonRelease, QPoint(300, 250), left, Qt.MouseButton.NoButton
    )
    assert view.window.width > start.width  # dragged right: wider window
    assert view.window.center > start.center  # dragged down: higher level
    zoom = view.zoom
    wheel = QWheelEvent(
        QPointF(250, 200),
        port.mapToGlobal(QPointF(250, 200)),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(port, wheel)
    assert view.zoom > zoom
    view.fit()
    assert view.zoom == pytest.approx(zoom, rel=0.05)
    view.actual_size()
    assert view.zoom == pytest.approx(1.0, rel=0.05)


def test_presets_and_reset(qtbot):
    image = loaded()
    view = image_view(qtbot, image)
    view.apply_preset("Full range")
    assert (view.window.center, view.window.width) == (0.5, 1.0)
    view.apply_preset("Auto contrast")
    assert view.window.width < 1.0
    view.reset()
    assert view.window.center == pytest.approx(0.4) and view.window.width == pytest.approx(0.6)


# --- study list -------------------------------------------------------------------------


def test_study_list_scales_and_filters(qtbot):
    studies, results = many_studies(6000)
    browser = StudyBrowser()
    qtbot.addWidget(browser)
    started = time.perf_counter()
    browser.set_collection([("MURA", studies)], results)
    assert time.perf_counter() - started < 2.0
    assert browser.model.n_studies == 6000
    browser.set_filter(body_part="HAND")
    assert len(browser.visible_uids()) == 1500
    browser.set_filter(body_part="Any", predicted="unscored")
    assert len(browser.visible_uids()) == 3000
    browser.set_filter(predicted="Any", disagreement_only=True)
    uids = browser.visible_uids()
    assert uids and all(results[u].predicted_label != results[u].label for u in uids)
    browser.set_filter(disagreement_only=False)
    browser.set_grouped(False)
    browser.tree.sortByColumn(COL_SCORE, Qt.SortOrder.DescendingOrder)
    top = [browser.proxy.index(r, 0).data(UID_ROLE) for r in range(5)]
    scores = [results[u].probability for u in top]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == max(r.probability for r in results.values())


def test_study_list_navigation_crosses_groups(qtbot):
    studies, results = many_studies(12)
    browser = StudyBrowser()
    qtbot.addWidget(browser)
    browser.set_collection([("A", studies[:6]), ("B", studies[6:])], results)
    order = browser.visible_uids()
    assert browser.select_first()
    seen = [browser.current_uid()]
    while browser.step(1):
        seen.append(browser.current_uid())
    assert seen == order
    while browser.step(-1):
        pass
    assert browser.current_uid() == order[0]


def shown_browser(qtbot, studies, results, height: int) -> StudyBrowser:
    """A study list on screen, as wide as the window's, holding ``studies``."""
    browser = StudyBrowser()
    qtbot.addWidget(browser)
    browser.resize(420, height)
    browser.show()
    qtbot.waitExposed(browser)
    browser.set_collection([("MURA", studies)], results)
    return browser


def test_painting_the_study_list_calls_no_python(qtbot):
    """Every cell's text, colour and alignment are Qt's own: a repaint of the expanded list
    must not call into Python (the old Python model made ~7,000 calls a paint)."""
    studies, results = many_studies(48)
    browser = shown_browser(qtbot, studies, results, height=900)
    browser.tree.expandAll()
    browser.tree.sortByColumn(COL_SCORE, Qt.SortOrder.DescendingOrder)
    QApplication.processEvents()
    called, here = [], sys._getframe()

    def record(frame, event, _arg) -> None:
        if event == "call" and frame.f_back is here:  # Qt calling Python inside repaint()
            called.append(frame.f_code.co_qualname)

    sys.setprofile(record)
    try:
        browser.tree.viewport().repaint()
    finally:
        sys.setprofile(None)
    assert called == []


def test_study_list_rows_sort_colour_and_explain_themselves(qtbot):
    studies, results = many_studies(12)
    browser = shown_browser(qtbot, studies, results, height=600)
    browser.set_grouped(False)
    tree, proxy = browser.tree, browser.proxy
    for order in (Qt.SortOrder.DescendingOrder, Qt.SortOrder.AscendingOrder):
        tree.sortByColumn(COL_SCORE, order)
        uids = [proxy.index(r, 0).data(UID_ROLE) for r in range(proxy.rowCount())]
        scores = [results[u].probability for u in uids if u in results]
        assert scores == sorted(scores, reverse=order == Qt.SortOrder.DescendingOrder)
        assert uids[: len(scores)] == [u for u in uids if u in results], "unscored last"
    tree.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
    assert [proxy.index(r, 0).data(UID_ROLE) for r in range(12)] == [s.uid for s in studies]

    uid = next(u for u in results if results[u].predicted_label != results[u].label)
    row = [proxy.index(r, 0).data(UID_ROLE) for r in range(12)].index(uid)
    truth = proxy.index(row, COL_TRUTH)
    assert truth.data().endswith("≠")
    assert truth.data(Qt.ItemDataRole.ForegroundRole).color() == QColor(DISAGREE_COLOUR)
    verdict = proxy.index(row, COL_VERDICT)
    colour = VERDICT_COLOURS[results[uid].verdict]
    assert verdict.data(Qt.ItemDataRole.ForegroundRole).color() == QColor(colour)

    score = proxy.index(row, COL_SCORE)
    tree.scrollTo(score)
    where = tree.visualRect(score).center()
    tip = QHelpEvent(QEvent.Type.ToolTip, where, tree.viewport().mapToGlobal(where))
    QApplication.sendEvent(tree.viewport(), tip)
    shown = QToolTip.text()
    assert shown == browser.tooltip(score) == browser.tooltip(proxy.index(row, 0))
    assert shown.splitlines()[0] == results[uid].name
    assert f"p = {results[uid].probability:.3f}" in shown and "≠" in shown


# --- thumbnails, progress, session ------------------------------------------------------


def test_thumbnail_strip_badges_and_failures(qtbot):
    strip = ThumbnailStrip()
    qtbot.addWidget(strip)
    strip.set_views(["a.png", "b.png"])
    strip.set_failed(1, "/data/b.png: truncated PNG file")
    strip.set_probability(0, 0.81, "abnormal")
    tiles = strip.tiles
    assert tiles[0].badge_text == "p = 0.81"
    assert tiles[1].badge_text == "failed"
    assert tiles[1].toolTip() == "/data/b.png: truncated PNG file"
    assert "truncated PNG file" in tiles[1]._picture.text()
    with qtbot.waitSignal(strip.viewSelected) as chosen:
        qtbot.mouseClick(tiles[1], Qt.MouseButton.LeftButton)
    assert chosen.args == [1]


def test_thumbnail_is_small_and_windowed():
    pixels = np.linspace(0, 1, 1000 * 600, dtype=np.float32).reshape(1000, 600)
    thumb = make_thumbnail(pixels, 0.25, 0.75, size=100)
    assert max(thumb.shape) <= 100 and thumb.dtype == np.uint8
    assert thumb[0, 0] == 0 and thumb[-1, -1] == 255


def test_progress_is_drawn_with_the_next_paint_not_at_once(qtbot):
    """QProgressBar.setValue repaints its window synchronously: once per scored study,
    with whatever else was waiting to be drawn, in the middle of the GUI thread's work."""
    progress = ScoringProgress()
    qtbot.addWidget(progress)
    progress.start(48)
    qtbot.waitExposed(progress)
    qtbot.wait(100)  # its first paint is done
    paints = PaintCounter(progress.bar)
    progress.update_progress(12)
    assert paints.count == 0 and progress.bar.value() == 12
    qtbot.waitUntil(lambda: paints.count > 0, timeout=2_000)


def test_eta_excludes_paused_time():
    now = [0.0]
    clock = EtaClock(100, clock=lambda: now[0])
    now[0] = 10.0
    clock.done = 20
    assert clock.rate == pytest.approx(2.0)
    assert clock.eta == pytest.approx(40.0)
    clock.pause(True)
    now[0] = 100.0
    clock.pause(False)
    assert clock.rate == pytest.approx(2.0)
    assert "ETA 0:40" in clock.text()


def test_session_groups_by_input_and_reapplies_threshold(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    s1 = Study("1", "s1", [View(a / "x/1.png")], folder=a / "x")
    s2 = Study("2", "s2", [View(b / "2.png")], folder=b)
    session = Session.from_scan(Scan([s1, s2]), [a, b])
    assert [name for name, _ in session.groups] == ["a", "b"]
    rule = VerdictRule(threshold=0.5)
    session.adopt_model(ModelRecord(name="m", content_hash="m1"))
    session.put_result(
        StudyResult(
            "1", "s1", [ViewResult("p", 0.6)], probability=0.6, verdict="abnormal", rule=rule
        )
    )
    session.apply_rule(VerdictRule(threshold=0.7))
    assert session.results["1"].verdict == "normal"
    assert not session.adopt_model(ModelRecord.from_dict({"hash": "m1"}))  # file before 0.2
    assert session.adopt_model(ModelRecord(content_hash="m2"))
    assert session.results == {}


# --- verdict panel ----------------------------------------------------------------------


def test_verdict_panel_shows_the_models_validation_figures_for_the_body_part(qtbot, tmp_path):
    from mura_desktop.core.stats.summary import validation_note

    panel = VerdictPanel()
    qtbot.addWidget(panel)
    interval = {"low": -0.32, "high": 0.79, "method": "patient bootstrap", "reason": None}
    metrics = {"per_part": {"HAND": {"n": 11, "kappa": 0.24, "intervals": {"kappa": interval}}}}
    record = ModelRecord(name="m", details={"metrics": metrics})
    hand = Study(uid="h", name="hand study", views=[View(tmp_path / "a.png")], body_part="HAND")
    wrist = Study(uid="w", name="wrist study", views=[View(tmp_path / "b.png")], body_part="WRIST")
    panel.show_state(hand, None, "NOT SCORED", model=record)
    assert panel.validation_text == "hand: κ 0.24 [-0.32, 0.79] on validation (11 studies)"
    assert panel.validation_text == validation_note(record.details, "HAND")
    panel.show_state(wrist, None, "NOT SCORED", model=record)
    assert panel.validation_text == ""
    panel.show_state(hand, None, "NOT SCORED", model=ModelRecord(name="imported"))
    assert panel.validation_text == ""
    panel.show_state(None, None, "", model=record)
    assert panel.validation_text == ""


# --- comparing two result sets -----------------------------------------------------------


def test_compare_dialog_shows_core_comparison_and_filters_the_disagreements(qtbot):
    import dataclasses

    from mura_desktop.core.results import ResultSet
    from mura_desktop.core.stats.comparison import compare_results
    from mura_desktop.gui.compare_dialog import GROUP_COLUMNS, CompareDialog
    from mura_desktop.gui.study_filter import A_AND_B

    studies, results = many_studies(400)
    a = list(results.values())
    rng = np.random.default_rng(3)
    rule = VerdictRule()
    b = []
    for r in a:
        p = float(np.clip(r.probability + rng.normal(0, 0.25), 0, 1))
        b.append(dataclasses.replace(r, probability=p, verdict=rule.verdict(p)))
    dialog = CompareDialog(a, ResultSet(studies=b), "A model", "B model")
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.comparisonReady, timeout=30_000) as blocker:
        pass
    shown = blocker.args[0]
    expected = compare_results(a, b, name_a="A model", name_b="B model")
    assert list(shown.groups) == list(expected.groups)
    assert [d.uid for d in shown.disagreements] == [d.uid for d in expected.disagreements]
    g = expected.groups["ALL"]
    row = [dialog.groups.item(r, 0).text() for r in range(dialog.groups.rowCount())].index("ALL")
    cell = dialog.groups.item(row, GROUP_COLUMNS.index("Δ κ [95% bootstrap]")).text()
    assert cell == f"{g.kappa_difference:+.3f} {g.kappa_interval.text()}"
    t = g.auroc
    cell = dialog.groups.item(row, GROUP_COLUMNS.index("Δ AUROC [95% DeLong]")).text()
    assert cell == f"{t.difference:+.3f} [{t.low:+.3f}, {t.high:+.3f}]"
    assert dialog.studies.rowCount() == len(expected.disagreements) > 0

    with qtbot.waitSignal(dialog.studyChosen) as chosen:
        dialog._on_double_click(0, 0)
    assert chosen.args == [expected.disagreements[0].uid]

    browser = StudyBrowser()
    qtbot.addWidget(browser)
    browser.set_collection([("MURA", studies)], results)
    browser.set_comparison([d.uid for d in shown.disagreements], shown.name_b)
    browser.set_filter(disagree=A_AND_B)
    assert sorted(browser.visible_uids()) == sorted(d.uid for d in expected.disagreements)
    browser.set_filter(disagreement_only=True)  # model against truth
    uids = browser.visible_uids()
    assert uids and all(results[u].predicted_label != results[u].label for u in uids)


def test_the_model_dialog_and_train_window_default_to_the_programs_own_folders(qtbot):
    from mura_desktop.core import locations
    from mura_desktop.gui.model_dialog import ModelDialog
    from mura_desktop.gui.train_window import TrainWindow

    dialog = ModelDialog(bundle=None, model_path="", device="auto", threshold=0.5,
                         cuda_available=False)  # fmt: skip
    qtbot.addWidget(dialog)
    train = TrainWindow()
    qtbot.addWidget(train)
    assert dialog._models_dir == locations.models_dir()
    assert train._runs_dir == locations.runs_dir()
    assert locations.runs_dir().parent == locations.data_dir()


def test_the_runtime_setting_reaches_the_model_loader(qtbot, tmp_path, tiny_bundle_path):
    from mura_desktop.gui.model_dialog import ModelDialog
    from mura_desktop.gui.model_loading import BundleLoader
    from mura_desktop.gui.settings import Settings

    settings = Settings(tmp_path / "s.ini")
    assert settings.backend == "auto"
    settings.backend = "nonsense"
    assert settings.backend == "auto"  # an unknown value falls back
    dialog = ModelDialog(bundle=None, model_path="", runtime="torch", cuda_available=False)
    qtbot.addWidget(dialog)
    assert dialog.runtime() == "torch"
    settings.backend = dialog.runtime()
    loaded = BundleLoader(backend=lambda: settings.backend)(tiny_bundle_path, "cpu", None)
    try:
        assert loaded.info.runtime.startswith("torch ")
        assert loaded.info.record.details["runtime"] == loaded.info.runtime
    finally:
        loaded.predictor.close()


def test_the_heatmap_bar_says_what_the_drawing_means(qtbot):
    bar = HeatmapBar()
    qtbot.addWidget(bar)
    bar.resize(516, 40)  # the image column's width in a first-launch window at 1366 × 768
    bar.show()
    bar.set_legend(HeatmapStyle("region", scale_by_probability=True))
    qtbot.wait(20)
    assert bar.note.text() == "Outlined: ≥ 50% of this image's peak · opacity × p"
    assert "normalised per image" in bar.note.toolTip()
    assert "opacity scales with the view's probability" in bar.note.toolTip()
    lines = bar.note.heightForWidth(bar.note.width()) / bar.note.fontMetrics().lineSpacing()
    assert lines < 2.5, "one or two lines, not a column of words"
    assert bar.colorbar.isVisible()
    bar.set_legend(HeatmapStyle("off"))
    assert bar.note.text().startswith("Heatmaps off") and not bar.colorbar.isVisible()
