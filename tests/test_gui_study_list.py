"""The study list in the real window: keys reach it when it has focus; rows tell studies apart."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt
from viewer_support import WAIT_MS, load_model, open_and_wait, wait_image

from mura_desktop.gui.study_tree_model import UID_ROLE


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
    view_before = window.viewer.current.view
    with qtbot.waitSignal(window.studyShown, timeout=WAIT_MS) as shown:
        qtbot.keyClick(tree, Qt.Key.Key_Down)
    assert shown.args == [second]
    assert tree.currentIndex().data(UID_ROLE) == second
    assert window.viewer.current.study.uid == second
    assert window.viewer.current.view == view_before == 0
    with qtbot.waitSignal(window.studyShown, timeout=WAIT_MS):
        qtbot.keyClick(tree, Qt.Key.Key_Up)
    assert tree.currentIndex().data(UID_ROLE) == window.viewer.current.study.uid == first


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
    assert window.viewer.current.view == 0


def test_image_view_keys_work_once_the_image_has_focus(qtbot, window, dataset):
    study = dataset / "MURA-v1.1/valid/XR_WRIST/patient00001/study1_positive"
    open_and_wait(qtbot, window, [study])
    wait_image(qtbot, window)
    window.browser.tree.setFocus()
    qtbot.mouseClick(window.image_view, Qt.MouseButton.LeftButton)
    assert window.image_view.hasFocus()
    with qtbot.waitSignal(window.imageShown, timeout=WAIT_MS):
        qtbot.keyClick(window.image_view, Qt.Key.Key_Down)
    assert window.viewer.current.view == 1


def _rows(tree) -> list:
    """Every row index of the tree (column 0), expanded, in display order."""
    tree.expandAll()
    model, out, stack = tree.model(), [], [QModelIndex()]
    while stack:
        parent = stack.pop()
        rows = [model.index(r, 0, parent) for r in range(model.rowCount(parent))]
        out.extend(rows)
        stack.extend(reversed(rows))
    return out


def _shown_text(tree, index) -> str:
    """The text the tree draws for ``index``: elided (in the middle) to its cell."""
    width = tree.visualRect(index).width() - 8  # the cell's margins
    text = index.data()
    return tree.fontMetrics().elidedText(text, tree.textElideMode(), width)


def test_study_rows_are_readable_at_the_default_width(qtbot, window, dataset):
    window.resize(1253, 690)  # the first-launch window on a 1366×768 screen
    window.window_layout.size_docks()  # what the first show does
    open_and_wait(qtbot, window, [dataset])
    tree = window.browser.tree
    qtbot.waitUntil(lambda: tree.visualRect(_rows(tree)[0]).width() > 0)
    for index in _rows(tree):
        assert _shown_text(tree, index) == index.data(), "not elided"
    load_model(qtbot, window)
    with qtbot.waitSignal(window.datasetFinished, timeout=WAIT_MS):
        window.score_all()  # the Score and Verdict columns appear: names must still fit
    for index in _rows(tree):
        assert _shown_text(tree, index) == index.data(), "not elided once scored"
    window.act_grouped.trigger()  # the flat list: patient/study, elided on the left
    window.window_layout.size_docks()
    shown = [_shown_text(tree, i) for i in _rows(tree)]
    assert len(set(shown)) == len(shown) == 4, shown
    assert all(text.endswith(("_positive", "_negative")) for text in shown), shown
    assert all(window.browser.tooltip(i).startswith("XR_") for i in _rows(tree))


def test_dicom_studies_are_named_from_their_header(qtbot, window, tmp_path):
    from test_discovery_dicom import write_dicom

    same = {"patient_id": "PAT-7", "description": "XR WRIST 3 VIEWS"}
    folder = tmp_path / "dicom"
    write_dicom(folder / "a.dcm", study_uid="1.2.826.0.1.3680043.8.498.71", **same)
    write_dicom(folder / "b.dcm", study_uid="1.2.826.0.1.3680043.8.498.72", **same)
    samples = Path(__file__).resolve().parents[1] / "resources/samples/dicom"
    open_and_wait(qtbot, window, [folder, samples])
    tree = window.browser.tree
    studies = [i for i in _rows(tree) if i.data(UID_ROLE)]
    labels = [i.data() for i in studies]
    assert sorted(labels) == [
        "XR FOREARM (synthetic, normal) 2020-11-20",
        "XR SHOULDER (synthetic, abnormal) 2020-11-21",
        "XR WRIST 3 VIEWS 2024-01-31",
        "XR WRIST 3 VIEWS 2024-01-31",
    ], "header names, never the folder (dicom, study1_negative)"
    uids = {i.data(UID_ROLE) for i in studies}
    assert len(uids) == 4, "two studies with one name are two rows"
    tips = [window.browser.tooltip(i) for i in studies]
    assert any("1.2.826.0.1.3680043.8.498.71" in t for t in tips)
    assert any("1.2.826.0.1.3680043.8.498.72" in t for t in tips)
    groups = [i.data() for i in _rows(tree) if i.parent() == QModelIndex()]
    assert groups == ["dicom (2)", "samples/dicom (2)"] or len(set(groups)) == len(groups)
