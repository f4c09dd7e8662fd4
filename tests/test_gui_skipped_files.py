"""File ▸ Skipped files…: what a scan skipped, shown to a GUI user (not only in the log)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from viewer_support import WAIT_MS, load_model, open_and_wait, write_png

from mura_desktop.core.results import ResultSet
from mura_desktop.gui.skipped_dialog import SkippedFilesDialog


def _junk_study(tmp_path):
    study = tmp_path / "XR_WRIST/patient1/study1_positive"
    write_png(study / "image1.png", 0.5)
    truncated = write_png(study / "image2.png", 0.5)
    truncated.write_bytes(truncated.read_bytes()[:40])
    (study / "image3.png").write_bytes(b"")
    (study / "README.txt").write_text("notes")
    (study / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return study


def _table(dialog: SkippedFilesDialog) -> list[tuple[str, str, str]]:
    t = dialog.table
    return [tuple(t.item(r, c).text() for c in range(3)) for r in range(t.rowCount())]


def test_skipped_files_are_listed_with_kind_and_reason(qtbot, window, tmp_path):
    study = _junk_study(tmp_path)
    open_and_wait(qtbot, window, [study])
    status = window.statusBar().currentMessage()
    assert "1 failed · 2 ignored" in status and "see the log" not in status
    qtbot.waitUntil(lambda: window.thumbnails.tiles[1].failure is not None, timeout=WAIT_MS)
    button = window.status.skipped_button
    assert button.isVisible()
    assert button.text() == "Skipped: 2 failed · 2 ignored…", "the undecodable view counts"

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = window.dialogs.skipped_dialog
    assert isinstance(dialog, SkippedFilesDialog) and dialog.isVisible()
    rows = {path.rsplit("/", 1)[-1]: (kind, reason) for kind, path, reason in _table(dialog)}
    assert set(rows) == {"README.txt", ".DS_Store", "image2.png", "image3.png"}
    assert rows["README.txt"][0] == rows[".DS_Store"][0] == "ignored"
    assert rows["image3.png"] == ("failed", "empty file (0 bytes)")
    assert rows["image2.png"][0] == "failed" and "could not be read" in rows["image2.png"][1]
    assert all(str(study) in path for _, path, _ in _table(dialog))

    dialog.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert [kind for kind, _, _ in _table(dialog)] == ["failed", "failed", "ignored", "ignored"]
    dialog.copy_button.click()
    copied = QApplication.clipboard().text().splitlines()
    assert copied[0] == "kind\tpath\treason"
    assert f"ignored\t{study / 'README.txt'}\tnot an image or DICOM file" in copied
    dialog.close()

    window.act_skipped.trigger()  # the menu way
    assert window.dialogs.skipped_dialog is not dialog and window.dialogs.skipped_dialog.isVisible()


def test_saved_results_keep_the_skipped_paths(qtbot, window, tmp_path):
    study = _junk_study(tmp_path / "data")
    load_model(qtbot, window)
    open_and_wait(qtbot, window, [study])
    qtbot.waitUntil(lambda: bool(window.session.results), timeout=WAIT_MS)  # scored on opening
    out = tmp_path / "out" / "results.json"
    out.parent.mkdir()
    assert window.exports.save_results(out)
    kinds = sorted(p.kind for p in ResultSet.from_json(out).problems)
    assert kinds == ["failed", "ignored", "ignored"]
    open_and_wait(qtbot, window, [out])
    assert window.status.skipped_button.text() == "Skipped: 1 failed · 2 ignored…"
