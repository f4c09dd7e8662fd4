"""Viewer flows on the offscreen platform, with a fast fake predictor in the real worker
(``viewer_support``; the ``window``, ``factory``, ``settings`` and ``dataset`` fixtures are in
``conftest.py``)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from viewer_support import (
    WAIT_MS,
    FakeFactory,
    load_model,
    make_study,
    open_and_wait,
    tree_snapshot,
    wait_image,
    write_png,
)

from mura_desktop.core.results import ResultSet
from mura_desktop.gui.main_window import MainWindow
from mura_desktop.gui.settings import Settings

# --- opening ----------------------------------------------------------------------------


def test_opening_a_study_folder_shows_images_before_any_model(qtbot, window, dataset):
    study = dataset / "MURA-v1.1/valid/XR_WRIST/patient00001/study1_positive"
    open_and_wait(qtbot, window, [study])
    wait_image(qtbot, window)
    assert window.model is None
    assert window.no_model_banner.isVisible()
    assert "NO MODEL" in window.verdict.verdict_text
    tiles = window.thumbnails.tiles
    assert len(tiles) == 3
    qtbot.waitUntil(
        lambda: all(
            t._picture.pixmap() is not None and not t._picture.pixmap().isNull() for t in tiles
        )
    )
    assert window.image_view.image.path.name == "image1.png"
    assert "Ground truth: <b>abnormal</b>" in window.verdict.details_text
    assert "WRIST" in window.verdict.details_text


def test_dataset_tree_groups_filters_and_navigates(qtbot, window, dataset):
    open_and_wait(qtbot, window, [dataset])
    browser = window.browser
    assert browser.model.n_studies == 4
    uids = browser.visible_uids()
    assert len(uids) == 4
    wait_image(qtbot, window)
    first = window.viewer.current.study.uid
    assert first == uids[0]
    with qtbot.waitSignal(window.studyShown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert window.viewer.current.study.uid == uids[1]
    with qtbot.waitSignal(window.studyShown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert window.viewer.current.study.uid == first
    browser.set_filter(body_part="HAND")
    assert len(browser.visible_uids()) == 1
    browser.set_filter(body_part="Any", truth="normal")
    assert len(browser.visible_uids()) == 2
    browser.set_filter(truth="Any", text="study2")
    assert len(browser.visible_uids()) == 1


def test_open_loose_files_and_dicom(qtbot, window, tmp_path, shared_dicom_dir):
    a = write_png(tmp_path / "loose" / "a.png", 0.4)
    dcm = shared_dicom_dir / "RG2_JLSL.dcm"
    open_and_wait(qtbot, window, [a, dcm])
    uids = window.browser.visible_uids()
    assert len(uids) == 2
    dicom_uid = next(u for u in uids if u.startswith("dicom:"))
    with qtbot.waitSignal(window.imageShown, timeout=WAIT_MS):
        window.browser.select(dicom_uid)
    assert window.tags.row_count > 0
    assert window.image_view.image.pixels.ndim == 2


def test_command_line_style_start_and_drag_and_drop(qtbot, window, dataset):
    study = dataset / "MURA-v1.1/valid/XR_HAND/patient00003/study1_positive"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(study))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.scanFinished, timeout=WAIT_MS):
        window.dropEvent(event)
    wait_image(qtbot, window)
    assert len(window.thumbnails.tiles) == 4
    assert str(study.resolve()) in window.settings.recent_items


def test_start_with_paths_loads_the_model_after_the_first_image(qtbot, window, dataset):
    events: list[str] = []
    window.imageShown.connect(lambda *_: events.append("image"))
    window.modelChanged.connect(lambda *_: events.append("model"))
    study = dataset / "MURA-v1.1/valid/XR_HAND/patient00003/study1_positive"
    assert window.settings.model_path == ""
    with qtbot.waitSignal(window.resultShown, timeout=WAIT_MS):
        window.start([study], "/models/startup.mura")
        assert "LOADING MODEL" in window.verdict.verdict_text or not window.viewer.current
    assert events[:2] == ["image", "model"]
    assert window.model.name == "startup"


# --- looking ----------------------------------------------------------------------------


def test_keys_change_view_window_and_orientation(qtbot, window, dataset):
    study = dataset / "MURA-v1.1/valid/XR_WRIST/patient00001/study1_positive"
    open_and_wait(qtbot, window, [study])
    wait_image(qtbot, window)
    view = window.image_view
    h, w = view.image.pixels.shape
    with qtbot.waitSignal(window.imageShown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_Down)
    assert window.viewer.current.view == 1
    qtbot.keyClick(window, Qt.Key.Key_Up)
    assert window.viewer.current.view == 0
    qtbot.keyClick(window, Qt.Key.Key_I)
    assert view.inverted
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert view.rendered_rgb().shape[:2] == (w, h)
    qtbot.keyClick(window, Qt.Key.Key_H)
    qtbot.keyClick(window, Qt.Key.Key_V)
    qtbot.keyClick(window, Qt.Key.Key_L)
    assert np.array_equal(view.orientation, -np.eye(2, dtype=int))  # h+v = 180°
    view.set_window(0.3, 0.2)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not view.inverted
    assert np.array_equal(view.orientation, np.eye(2, dtype=int))
    assert view.window.width == pytest.approx(view.image.window_width)
    qtbot.keyClick(window, Qt.Key.Key_3)
    assert view.window.center == pytest.approx(0.5)


# --- scoring ----------------------------------------------------------------------------


def test_scores_follow_images_with_heatmap_toggle(qtbot, window, dataset):
    load_model(qtbot, window)
    assert not window.no_model_banner.isVisible()
    study = dataset / "MURA-v1.1/valid/XR_WRIST/patient00001/study1_positive"
    with qtbot.waitSignal(window.resultShown, timeout=WAIT_MS):
        window.open_paths([study])
    wait_image(qtbot, window)
    assert window.verdict.verdict_text == "ABNORMAL"
    assert "mean of 3 views ≥ 0.50" in window.verdict.details_text
    assert "model agrees" in window.verdict.details_text
    assert all(t.badge_text.startswith("p = ") for t in window.thumbnails.tiles)
    assert window.image_view.heatmap is not None
    assert window.image_view.caption("top_right").startswith("p(abnormal) = ")
    qtbot.keyClick(window, Qt.Key.Key_M)
    assert not window.image_view.heatmap_visible
    gray = window.image_view.rendered_rgb()
    assert np.all(gray[..., 0] == gray[..., 1])
    qtbot.keyClick(window, Qt.Key.Key_M)
    colored = window.image_view.rendered_rgb()
    assert not np.all(colored[..., 0] == colored[..., 1])


def test_corrupt_view_fails_alone_and_the_rest_scores(qtbot, window, tmp_path):
    study = make_study(tmp_path / "XR_ELBOW/patient1/study1_negative", [0.3, 0.3, 0.3], corrupt=1)
    load_model(qtbot, window)
    with qtbot.waitSignal(window.resultShown, timeout=WAIT_MS):
        window.open_paths([study])
    tile = window.thumbnails.tiles[1]
    qtbot.waitUntil(lambda: tile.failure is not None, timeout=WAIT_MS)
    assert "image2.png" in tile.toolTip()
    assert window.thumbnails.tiles[0].badge_text.startswith("p = ")
    assert window.verdict.verdict_text == "NORMAL"
    assert "1 could not be read" in window.verdict.details_text
    assert "mean of 2 views" in window.verdict.details_text
    with qtbot.waitSignal(window.imageShown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_Down)  # the failed view shows its reason, not an image
        qtbot.keyClick(window, Qt.Key.Key_Down)
    window.show_view(1)
    assert window.image_view.image is None
    assert "Cannot show this view" in window.image_view.message


def test_results_for_a_study_left_behind_never_appear(qtbot, window, factory, dataset):
    factory.gate = threading.Event()
    load_model(qtbot, window)
    open_and_wait(qtbot, window, [dataset])
    first = window.viewer.current.study.uid
    qtbot.waitUntil(lambda: factory.predictors[-1].started.is_set(), timeout=WAIT_MS)
    shown: list[str] = []
    window.resultShown.connect(shown.append)
    with qtbot.waitSignal(window.studyShown, timeout=WAIT_MS):
        window.browser.step(1)
    second = window.viewer.current.study.uid
    with qtbot.waitSignal(window.resultShown, timeout=WAIT_MS):
        factory.gate.set()
    assert shown == [second]
    assert first not in window.session.results
    assert window.session.results[second].uid == second


def test_load_new_model_during_inference(qtbot, window, factory, dataset):
    factory.gate = threading.Event()
    load_model(qtbot, window, "first.mura")
    open_and_wait(qtbot, window, [dataset])
    old = factory.predictors[-1]
    qtbot.waitUntil(old.started.is_set, timeout=WAIT_MS)
    factory.gate = None  # the new model runs at once
    with qtbot.waitSignal(window.resultShown, timeout=WAIT_MS):
        window.load_model(Path("/models/second.mura"))
    assert window.model.name == "second"
    assert old.closed
    assert window.session.model.name == "second"
    old.gate.set()


def test_close_during_inference_joins_every_thread(qtbot, settings, factory, dataset):
    before = threading.active_count()
    factory.gate = threading.Event()
    win = MainWindow(settings, model_factory=factory)
    qtbot.addWidget(win)
    win.show()
    load_model(qtbot, win)
    open_and_wait(qtbot, win, [dataset])
    qtbot.waitUntil(factory.predictors[-1].started.is_set, timeout=WAIT_MS)
    win.close()
    assert win.service.thread.isFinished()
    assert win.loader.active_threads == 0
    assert factory.predictors[-1].closed
    assert threading.active_count() <= before + 1  # Qt's pool threads may linger idle


def test_broken_model_reports_what_to_do(qtbot, window):
    with qtbot.waitSignal(window.messageShown, timeout=WAIT_MS) as blocker:
        window.load_model(Path("/models/broken.mura"))
    assert "Could not load the model" in blocker.args[0]
    assert "Load bundle" in blocker.args[0]
    assert window.model is None


def test_demo_model_shows_a_permanent_warning(qtbot, window, dataset):
    load_model(qtbot, window, "tiny-demo.mura")
    assert window.demo_banner.isVisible()
    assert "DEMO MODEL" in window.demo_banner.text()
    open_and_wait(qtbot, window, [dataset])
    qtbot.waitUntil(lambda: bool(window.session.results), timeout=WAIT_MS)
    assert window.demo_banner.isVisible()


def test_dataset_scoring_pause_resume(qtbot, window, factory, dataset):
    load_model(qtbot, window)
    open_and_wait(qtbot, window, [dataset])
    qtbot.waitUntil(lambda: len(window.session.results) == 1, timeout=WAIT_MS)
    predictor = factory.predictors[-1]
    predictor.gate = gate = threading.Event()
    window.score_all()
    assert window.progress.isVisible()
    qtbot.waitUntil(lambda: len(predictor.calls) == 2, timeout=WAIT_MS)
    window.progress.pause_button.setChecked(True)
    gate.set()
    # The worker handles requests in order: once this study's result is back, the pause has
    # been seen, and only the study that was already running has been scored.
    window.session.results.pop(window.viewer.current.study.uid)
    with qtbot.waitSignal(window.resultShown, timeout=WAIT_MS):
        window.viewer.score_current_study()
    assert window.progress.clock.done == 1
    assert len(predictor.calls) == 3
    assert "paused" in window.progress.label.text()
    with qtbot.waitSignal(window.datasetFinished, timeout=WAIT_MS) as blocker:
        window.progress.pause_button.setChecked(False)
    assert blocker.args == [False]
    assert len(window.session.results) == 4
    assert not window.progress.isVisible()
    assert window.metrics_dock.isVisible()
    window.browser.set_filter(disagreement_only=True)
    assert len(window.browser.visible_uids()) == 1


def test_the_metrics_are_built_when_first_shown_with_the_scores_so_far(
    qtbot, window, factory, dataset
):
    """Built with the window, the hidden metrics panel took 0.15-0.37 s of its start."""
    load_model(qtbot, window)
    open_and_wait(qtbot, window, [dataset])
    qtbot.waitUntil(lambda: len(window.session.results) == 1, timeout=WAIT_MS)
    assert window.metrics_dock.widget() is None
    window.metrics_dock.toggleViewAction().trigger()  # View ▸ Metrics
    assert window.metrics_dock.widget() is window.metrics.panel
    assert window.metrics.panel.metrics()["ALL"].n == 1


def test_dataset_scoring_cancel_stops_early(qtbot, window, factory, dataset):
    load_model(qtbot, window)
    open_and_wait(qtbot, window, [dataset])
    qtbot.waitUntil(lambda: len(window.session.results) == 1, timeout=WAIT_MS)
    factory.predictors[-1].gate = gate = threading.Event()
    window.score_all()
    qtbot.waitUntil(lambda: len(factory.predictors[-1].calls) >= 2, timeout=WAIT_MS)
    with qtbot.waitSignal(window.datasetFinished, timeout=WAIT_MS) as blocker:
        window.cancel_scoring()
    assert blocker.args == [True]
    assert len(window.session.results) == 1
    gate.set()


# --- results files, settings, data safety -----------------------------------------------


def test_save_and_reopen_results_without_a_model(qtbot, settings, factory, dataset, tmp_path):
    before = tree_snapshot(dataset)
    win = MainWindow(settings, model_factory=factory)
    qtbot.addWidget(win)
    win.show()
    load_model(qtbot, win)
    open_and_wait(qtbot, win, [dataset])
    with qtbot.waitSignal(win.datasetFinished, timeout=WAIT_MS):
        win.score_all()
    out = tmp_path / "out" / "results.json"
    out.parent.mkdir()
    assert win.exports.save_results(out)
    assert win.exports.save_results(out.with_suffix(".csv"))
    assert not win.exports.save_results(dataset / "inside.json")  # refused: inside the data
    link = tmp_path / "looks-outside"
    link.symlink_to(dataset)
    assert not win.exports.save_results(link / "inside.json")  # a link into the data is the data
    wait_image(qtbot, win)  # the first view is decoded in the worker processes
    assert win.exports.export_png(tmp_path / "out" / "view.png")
    assert not win.exports.export_png(dataset / "view.png")
    with qtbot.waitSignal(win.messageShown, timeout=WAIT_MS) as failed:
        assert not win.exports.export_png(tmp_path / "out")  # a folder: the write fails
    assert failed.args[0].startswith(f"Could not write {tmp_path / 'out'}")
    assert win.settings.last_save_dir == str(tmp_path / "out")  # a failed write is not a save
    assert win.exports.export_report(tmp_path / "out" / "report.pdf")
    assert (tmp_path / "out" / "report.pdf").read_bytes().startswith(b"%PDF")
    assert not win.exports.export_metrics_report(dataset / "metrics.pdf")  # the same guard
    win.close()
    assert tree_snapshot(dataset) == before

    fresh = MainWindow(Settings(tmp_path / "other.ini"), model_factory=FakeFactory())
    qtbot.addWidget(fresh)
    fresh.show()
    with qtbot.waitSignal(fresh.scanFinished, timeout=WAIT_MS):
        fresh.open_paths([out])
    assert fresh.model is None
    assert len(fresh.session.results) == 4
    saved = ResultSet.from_json(out)
    uid = saved.studies[0].uid
    fresh.browser.select(uid)
    wait_image(qtbot, fresh)
    assert fresh.verdict.verdict_text in ("ABNORMAL", "NORMAL")
    assert "Scored by model" in fresh.verdict.details_text
    fresh.close()


def test_scores_from_another_model_are_kept_until_asked(qtbot, window, factory, dataset, tmp_path):
    load_model(qtbot, window, "a.mura")
    open_and_wait(qtbot, window, [dataset])
    with qtbot.waitSignal(window.datasetFinished, timeout=WAIT_MS):
        window.score_all()
    saved = tmp_path / "a.json"
    assert window.exports.save_results(saved)
    with qtbot.waitSignal(window.resultShown, timeout=WAIT_MS):  # the open study, by b
        window.load_model(Path("/models/b.mura"))
    assert window.session.model.name == "b"  # scores of a (not from a file) are replaced
    b = factory.predictors[-1]
    calls = list(b.calls)
    open_and_wait(qtbot, window, [saved])
    for _ in range(2):
        with qtbot.waitSignal(window.studyShown, timeout=WAIT_MS):
            window.browser.step(1)
    assert b.calls == calls  # a's scores are shown, not recomputed with b
    assert len(window.session.results) == 4
    assert "Scored by a" in window.verdict.details_text
    with qtbot.waitSignal(window.resultShown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_F5)
    assert window.session.model.name == "b"
    assert list(window.session.results) == [window.viewer.current.study.uid]


def test_settings_persist_between_runs(qtbot, tmp_path, factory, dataset):
    path = tmp_path / "persist.ini"
    first = MainWindow(Settings(path), model_factory=factory)
    qtbot.addWidget(first)
    first.show()
    first.heatmap_bar.set_state(False, 0.3)
    first.act_grouped.trigger()  # flat list
    load_model(qtbot, first, "kept.mura")
    open_and_wait(qtbot, first, [dataset])
    first.close()

    again = Settings(path)
    assert again.heatmap_visible is False
    assert again.heatmap_opacity == pytest.approx(0.3)
    assert again.group_studies is False
    assert again.model_path.endswith("kept.mura")
    assert again.recent_items[0] == str(dataset.resolve())
    second = MainWindow(again, model_factory=factory)
    qtbot.addWidget(second)
    assert not second.image_view.heatmap_visible
    assert not second.browser.model.grouped
    second.close()


def test_new_threshold_redecides_scores_without_recomputing(qtbot, window, factory, dataset):
    load_model(qtbot, window)
    open_and_wait(qtbot, window, [dataset])
    with qtbot.waitSignal(window.datasetFinished, timeout=WAIT_MS):
        window.score_all()
    before = {uid: r.probability for uid, r in window.session.results.items()}
    with qtbot.waitSignal(window.modelChanged, timeout=WAIT_MS):
        window.dialogs.settings_chosen("/models/model.mura", "cpu", 0.95)
    assert factory.predictors[-1].calls == []  # nothing was scored again
    results = window.session.results
    assert {uid: r.probability for uid, r in results.items()} == before
    assert all(r.rule.threshold == 0.95 and r.verdict == "normal" for r in results.values())
    assert window.settings.threshold_for("/models/model.mura") == pytest.approx(0.95)
    assert window.settings.device == "cpu"
    assert window.verdict.verdict_text == "NORMAL"


def test_a_threshold_chosen_for_one_bundle_does_not_follow_to_the_next(
    qtbot, window, factory, tmp_path
):
    first, second = tmp_path / "a.mura", tmp_path / "b.mura"
    first.write_bytes(b"a")
    second.write_bytes(b"b")
    with qtbot.waitSignal(window.modelChanged, timeout=WAIT_MS):
        window.dialogs.settings_chosen(str(first), "cpu", 0.9)
    assert factory.thresholds[-1] == pytest.approx(0.9)
    with qtbot.waitSignal(window.modelChanged, timeout=WAIT_MS):
        window.load_model(second)
    assert factory.thresholds[-1] is None  # the second bundle's own operating point
    with qtbot.waitSignal(window.modelChanged, timeout=WAIT_MS):
        window.load_model(first)
    assert factory.thresholds[-1] == pytest.approx(0.9)  # the first keeps its own choice
    first.write_bytes(b"a changed file")
    with qtbot.waitSignal(window.modelChanged, timeout=WAIT_MS):
        window.load_model(first)
    assert factory.thresholds[-1] is None  # a different file at the same path starts afresh


def test_train_window_hands_its_model_to_the_viewer(qtbot, window, dataset):
    open_and_wait(qtbot, window, [dataset])
    window.act_train.trigger()
    train = window.dialogs.train_window
    assert train is not None and train.isVisible()
    with qtbot.waitSignal(window.modelChanged, timeout=WAIT_MS):
        train.openModel.emit("/runs/r1/model.mura")
    assert window.model.name == "model"


def test_keyboard_shortcut_list_matches_actions(qtbot, window):
    from mura_desktop.gui.shortcuts import shortcut_rows

    rows = dict(shortcut_rows(window.actions()))
    for k in ("I", "R", "L", "H", "V", "Space", "M", "Up", "Down", "PgUp", "PgDown", "Home", "End"):
        assert k in rows, k
    window.dialogs.show_shortcuts()


def test_no_model_banner_explains_how_to_get_one(window):
    assert window.no_model_banner.isVisible()
    text = window.no_model_banner.text()
    assert "load a model bundle" in text and "mura-train" in text
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"


def test_only_opens_that_found_studies_become_recent(qtbot, window, dataset, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "README.txt").write_text("not an image")
    for folder in (empty, junk):
        with qtbot.waitSignal(window.scanFinished, timeout=WAIT_MS) as scanned:
            window.open_paths([folder])
        assert scanned.args == [0]
    window.open_paths([tmp_path / "nowhere"])
    assert window.settings.recent_items == []
    open_and_wait(qtbot, window, [dataset])
    assert window.settings.recent_items == [str(dataset.resolve())]


def test_png_export_is_named_after_the_study_and_view(qtbot, window, dataset, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    study = dataset / "MURA-v1.1/valid/XR_WRIST/patient00001/study1_positive"
    open_and_wait(qtbot, window, [study])
    wait_image(qtbot, window)
    offered: list[str] = []

    def cancel_dialog(_parent, _title, path, _filter):
        offered.append(path)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", cancel_dialog)
    window.exports.choose_png_target()
    assert Path(offered[0]).name == "XR_WRIST_patient00001_study1_positive_image1.png"


def test_window_title_names_the_app_once(qtbot, window, dataset):
    from PySide6.QtGui import QGuiApplication

    from mura_desktop.gui.app import create_application

    create_application()
    name = QGuiApplication.applicationDisplayName()
    assert name == "MURA Desktop"
    assert window.windowTitle() == "", "Qt shows the display name alone"
    study = dataset / "MURA-v1.1/valid/XR_WRIST/patient00001/study1_positive"
    open_and_wait(qtbot, window, [study])
    title = window.windowTitle()
    assert "study1_positive" in title
    assert name not in title, "Qt appends the display name to the title itself"


def test_a_dicom_view_reads_its_window_in_file_values_and_shows_every_element(
    qtbot, window, shared_dicom_dir
):
    dcm = shared_dicom_dir / "966_fixed.dcm"  # header window C 2048 W 4096, MONOCHROME1
    broken = shared_dicom_dir / "966.dcm"  # same header, undecodable JPEG 2000 stream
    open_and_wait(qtbot, window, [dcm])
    qtbot.waitUntil(lambda: window.image_view.image is not None, timeout=WAIT_MS)
    assert window.image_view.caption("bottom_left").startswith("W 4096 L 2048")
    window.tags.tabs.setCurrentIndex(1)
    assert window.tags.element_count > 20
    window.tags.search("spacing")
    assert "Pixel Spacing" in window.tags.visible_elements()
    assert "Patient ID" not in window.tags.visible_elements()
    window.tags.search("")
    from mura_desktop.gui.actions import fill_header_windows

    fill_header_windows(window)
    texts = [a.text() for a in window.header_windows_menu.actions()]
    assert texts == ["Header window 1  (W 4096 L 2048)"]
    window.header_windows_menu.actions()[0].trigger()
    assert window.image_view.caption("bottom_left").startswith("W 4096 L 2048")
    open_and_wait(qtbot, window, [broken])
    qtbot.waitUntil(lambda: "pixels could not be read" in window.tags.title, timeout=WAIT_MS)
    assert window.tags.row_count > 5  # the curated summary, read from the header alone
    assert window.tags.element_count > 20


def test_measurements_in_mm_follow_the_view_and_are_saved(
    qtbot, window, shared_dicom_dir, tmp_path
):
    dcm = (shared_dicom_dir / "966_fixed.dcm").resolve()  # Pixel Spacing 0.16 mm
    open_and_wait(qtbot, window, [dcm])
    qtbot.waitUntil(lambda: window.image_view.image is not None, timeout=WAIT_MS)
    tool, panel = window.measure.tool, window.measure.panel
    window.act_measure_distance.trigger()
    assert tool.mode == "distance"
    tool.click(100.0, 200.0)
    tool.click(100.0, 300.0)  # 100 rows
    assert panel.items() == ["1. Distance: 16.0 mm"]
    assert "Pixel Spacing" in panel.calibration.text()
    window.act_measure_cobb.trigger()
    for point in ((0, 0), (100, 0), (0, 50), (100, 150)):
        tool.click(*point)
    assert panel.items()[1] == "2. Cobb angle: 45.0°"
    window.act_stop_measuring.trigger()
    assert tool.mode == ""
    window.act_rotate_right.trigger()  # the overlay turns with the image
    assert window.image_view.overlay.transform() == window.image_view._gray.transform()
    panel.list.setCurrentRow(1)
    panel.deleteRequested.emit(1)
    assert panel.items() == ["1. Distance: 16.0 mm"]
    out = tmp_path / "out" / "results.json"
    out.parent.mkdir()
    window.viewer.session.results.clear()  # measurements are saved with or without scores
    assert window.exports.save_results(out)
    saved = json.loads(out.read_text())["measurements"]
    assert list(saved) == [str(dcm)]
    (distance,) = saved[str(dcm)]
    assert distance["points"] == [[100.0, 200.0], [100.0, 300.0]]
    assert (distance["value"], distance["unit"]) == (pytest.approx(16.0), "mm")
    assert distance["calibration"]["source"] == "Pixel Spacing (as the file states it)"
    assert ResultSet.from_json(out).measurements[str(dcm)][0].label() == "16.0 mm"


def test_side_by_side_views_loupe_and_linked_zoom(qtbot, window, dataset):
    study = dataset / "MURA-v1.1/valid/XR_HAND/patient00003/study1_positive"
    load_model(qtbot, window)
    open_and_wait(qtbot, window, [study])
    current = window.viewer.current
    qtbot.waitUntil(lambda: len(current.images) == len(current.paths), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: current.study.uid in window.session.results, timeout=WAIT_MS)
    assert len(current.paths) >= 2
    window.act_layout_1x2.trigger()
    (other,) = [v for v in window.grid.others if v.isVisibleTo(window.grid)]
    assert other.image is current.images[current.paths[1]].image
    assert other.caption("top_left").startswith("view 2/")
    p = window.session.results[current.study.uid].views[1].probability
    assert other.caption("top_right") == f"p(abnormal) = {p:.3f}"  # each cell names its score
    window.grid.cellClicked.emit(1)  # clicking the second cell makes it current
    assert window.viewer.current.view == 1
    assert window.image_view.image is current.images[current.paths[1]].image
    window.act_link_views.trigger()
    window.image_view.zoom_by(2.0)
    qtbot.wait(50)
    main_rect, other_rect = window.image_view.view_rect(), other.view_rect()
    assert other_rect.center().x() == pytest.approx(main_rect.center().x(), abs=1.0)
    assert other.zoom == pytest.approx(window.image_view.zoom, rel=0.05)
    window.act_link_views.trigger()  # unlinked: each on its own again
    window.image_view.zoom_by(2.0)
    assert other.zoom != pytest.approx(window.image_view.zoom, rel=0.05)
    window.act_layout_1x1.trigger()
    assert not any(v.isVisibleTo(window.grid) for v in window.grid.others)
    # the loupe shows the region under the cursor, magnified, as displayed
    window.act_loupe.trigger()
    window.loupe.show_at(10, 10, QPointF(40, 40))
    assert not window.loupe.label.isHidden()
    assert window.loupe.label.pixmap().width() == 224
    region = window.image_view.rendered_region(3, 3, 8)
    assert region.shape == (16, 16, 3) and region[:5, :5].max() == 0  # outside: black
    assert region[8:, 8:].max() > 0
    window.act_loupe.trigger()
    assert window.loupe.label.isHidden()
