"""Application plumbing: the command line, lazy Qt/torch imports, logging, exception hooks."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from mura_desktop.gui import app as gui_app

ROOT = Path(__file__).resolve().parents[1]


def _loaded_after(code: str) -> set[str]:
    probe = (
        f"import sys\n{code}\n"
        "print(','.join(m for m in ('PySide6', 'pyqtgraph', 'torch') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(filter(None, out.stdout.strip().splitlines()[-1].split(",")))


def test_subcommands_never_import_qt():
    loaded = _loaded_after(
        "from mura_desktop.__main__ import main\n"
        "try:\n    main(['predict', '--help'])\nexcept SystemExit:\n    pass"
    )
    assert not loaded & {"PySide6", "pyqtgraph"}


def test_the_main_window_module_does_not_import_torch():
    loaded = _loaded_after("import mura_desktop.gui.main_window")
    assert "PySide6" in loaded
    assert "torch" not in loaded


def test_viewer_command_line_help():
    out = subprocess.run(
        [sys.executable, "-m", "mura_desktop", "view", "--help"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "--model" in out.stdout and "PATH" in out.stdout


def test_main_help_lists_every_command_it_mentions_in_plain_text():
    out = subprocess.run(
        [sys.executable, "-m", "mura_desktop", "--help"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    listed = out.stdout.split("positional arguments:")[1].split("options:")[0]
    for command in ("view", "predict", "import-weights", "model-info"):
        assert f"\n    {command} " in listed, command
    assert "`" not in out.stdout, "no reST/markdown markup in a terminal help"


@pytest.fixture
def hooks(monkeypatch, tmp_path):
    """Install the real hooks and log file, restoring everything afterwards."""
    log_path = tmp_path / "logs" / "viewer.log"
    monkeypatch.setattr(gui_app, "log_file", lambda: log_path)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    assert gui_app.configure_logging() == log_path
    gui_app.install_exception_hooks()
    yield log_path
    for handler in root.handlers[len(handlers) :]:
        handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def _error_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]


def test_the_viewer_hands_the_gui_thread_the_interpreter_lock_within_a_millisecond(qapp):
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)  # Python's default
        assert gui_app.create_application() is qapp
        assert sys.getswitchinterval() == pytest.approx(0.001)
    finally:
        sys.setswitchinterval(before)


def test_uncaught_exception_is_logged_and_shown(qtbot, hooks):
    try:
        raise ValueError("boom in a slot")
    except ValueError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    qtbot.waitUntil(lambda: any("boom in a slot" in b.text() for b in _error_boxes()))
    box = next(b for b in _error_boxes() if "boom in a slot" in b.text())
    assert "Traceback" in box.detailedText()
    assert str(hooks) in box.informativeText()
    assert "ValueError: boom in a slot" in hooks.read_text()
    box.close()


def test_exception_in_another_thread_reaches_the_user(qtbot, hooks):
    def fail() -> None:
        raise RuntimeError("worker fell over")

    thread = threading.Thread(target=fail, name="helper")
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: any("worker fell over" in b.text() for b in _error_boxes()))
    assert "uncaught exception in helper" in hooks.read_text()
    for box in _error_boxes():
        box.close()
