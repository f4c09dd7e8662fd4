"""The study list in the real window: keys reach it when it has focus; rows tell studies apart."""

from __future__ import annotations

from PySide6.QtCore import Qt
from viewer_support import WAIT_MS, open_and_wait, wait_image

from mura_desktop.gui.study_browser import UID_ROLE


def test_arrow_keys_move_the_focused_tree_and_the_shown_study_follows(qtbot, window, dataset):
    open_and_wait(qtbot, window, [dataset])
    wait_image(qtbot, window)
    root = dataset / "MURA-v1.1/valid/XR_WRIST/patient00001"
    first, second = (str((root / n).resolve()) for n in ("study1_positive", "study2_negative"))
    with qtbot.waitSignal(window.studyShown, timeout=WAIT_MS):
        window.browser.select(first)
    tree = window.browser.tree
    tree.setFocus()
    qtbot.waitUntil(tree.hasFocus)
    view_before = window._current.view
    with qtbot.waitSignal(window.studyShown, timeout=WAIT_MS) as shown:
        qtbot.keyClick(tree, Qt.Key.Key_Down)
    assert shown.args == [second]
    assert tree.currentIndex().data(UID_ROLE) == second
    assert window._current.study.uid == second
    assert window._current.view == view_before == 0
    with qtbot.waitSignal(window.studyShown, timeout=WAIT_MS):
        qtbot.keyClick(tree, Qt.Key.Key_Up)
    assert tree.currentIndex().data(UID_ROLE) == window._current.study.uid == first


def test_typing_in_the_filter_field_does_not_trigger_viewer_keys(qtbot, window, dataset):
    study = dataset / "MURA-v1.1/valid/XR_WRIST/patient00001/study1_positive"
    open_and_wait(qtbot, window, [study])
    wait_image(qtbot, window)
    search = window.browser._search
    search.setFocus()
    qtbot.waitUntil(search.hasFocus)
    qtbot.keyClicks(search, "rivh")
    qtbot.keyClick(search, Qt.Key.Key_Home)
    qtbot.keyClick(search, Qt.Key.Key_Down)
    assert search.text() == "rivh"
    assert not window.image_view.inverted
    assert window._current.view == 0


def test_image_view_keys_work_once_the_image_has_focus(qtbot, window, dataset):
    study = dataset / "MURA-v1.1/valid/XR_WRIST/patient00001/study1_positive"
    open_and_wait(qtbot, window, [study])
    wait_image(qtbot, window)
    window.browser.tree.setFocus()
    qtbot.mouseClick(window.image_view, Qt.MouseButton.LeftButton)
    assert window.image_view.hasFocus()
    with qtbot.waitSignal(window.imageShown, timeout=WAIT_MS):
        qtbot.keyClick(window.image_view, Qt.Key.Key_Down)
    assert window._current.view == 1
