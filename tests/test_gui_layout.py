"""The image keeps most of the window: after scoring a dataset, after restoring a saved
layout, and whatever the length of a study's name."""

from __future__ import annotations

from PySide6.QtCore import Qt
from viewer_support import WAIT_MS, FakeFactory, load_model, make_study, open_and_wait, wait_image

from mura_desktop.gui.layout_guard import image_has_room
from mura_desktop.gui.main_window import MainWindow


def _image_share(window: MainWindow) -> float:
    central, image = window.centralWidget().size(), window.image_view.size()
    return (image.width() * image.height()) / (central.width() * central.height())


def test_score_all_at_1366x768_leaves_the_image_its_room(qtbot, window, dataset):
    window.resize(1366, 768)
    load_model(qtbot, window)
    open_and_wait(qtbot, window, [dataset])
    with qtbot.waitSignal(window.datasetFinished, timeout=WAIT_MS):
        window.score_all()
    qtbot.waitUntil(window.metrics_dock.isVisible)
    qtbot.wait(50)
    assert window.metrics_dock.isFloating(), "the metrics open as a window of their own"
    assert window.size().width() == 1366 and window.size().height() == 768
    assert window.statusBar().geometry().bottom() < window.height(), "status bar on screen"
    assert image_has_room(window, window.image_view)
    assert _image_share(window) >= 0.5
    assert window.image_view.height() >= 300


def test_a_crushed_saved_layout_falls_back_to_the_default(qtbot, settings, tmp_path):
    first = MainWindow(settings, model_factory=FakeFactory())
    qtbot.addWidget(first)
    first.resize(1366, 768)
    first.show()
    dock = first.metrics_dock
    assert first.metrics.panel is dock.widget()  # built, as by a user who docked it
    first.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)  # as older versions did
    dock.setFloating(False)
    dock.show()
    first.resizeDocks([dock], [620], Qt.Orientation.Vertical)
    qtbot.waitUntil(lambda: not image_has_room(first, first.image_view))
    first.close()

    again = MainWindow(settings, model_factory=FakeFactory())
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(lambda: image_has_room(again, again.image_view), timeout=WAIT_MS)
    assert _image_share(again) >= 0.5
    again.close()


def test_a_long_study_name_does_not_widen_the_panels(qtbot, window, tmp_path):
    window.resize(1366, 768)
    short = make_study(tmp_path / "XR_WRIST/patient1/study1_positive", [0.4])
    long_name = "study1_positive_" + "VeryLongFolderNameWithoutSpaces" * 6
    long = make_study(tmp_path / "XR_WRIST/patient2" / long_name, [0.5])
    open_and_wait(qtbot, window, [short])
    wait_image(qtbot, window)
    qtbot.wait(50)
    widths = (window.verdict_dock.width(), window.browser_dock.width())
    caption_lines = window.heatmap_bar.note.height()
    open_and_wait(qtbot, window, [long])
    wait_image(qtbot, window)
    qtbot.wait(50)
    assert window.verdict_dock.width() <= widths[0] + 4
    assert window.browser_dock.width() <= widths[1] + 4
    assert window.heatmap_bar.note.height() <= caption_lines + 2, "the caption did not wrap more"
    window.close()
    assert window.settings.window_state is not None
