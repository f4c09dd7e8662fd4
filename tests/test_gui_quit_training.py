"""Quitting the viewer while a training it launched is running: a real ``mura-train`` run.

The viewer asks: stop the run (it stays resumable), let it run on without the viewer, or
cancel the quit. The question is a real dialog, answered by clicking its button.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from mura_desktop.core.run_log import METRICS_FILE
from mura_desktop.gui.trainer_process import CONSOLE_FILE

START_MS = 120_000  # importing torch on a busy two-core machine


def _answer_next_question(button_text: str) -> None:
    def click() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox), box
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(0, click)


def _start_real_run(qtbot, window, dataset: Path, run_dir: Path):
    window.dialogs.show_train_window()
    train = window.dialogs.train_window
    train.set_dataset(dataset)
    train.set_run_dir(run_dir)
    train.set_recipe(
        architecture="densenet121",
        init="random",
        size=64,
        epochs=500,
        batch=4,
        device="cpu",
        extra="--workers 0 --threads 1",
    )
    assert train.start_training()
    metrics = run_dir / METRICS_FILE
    qtbot.waitUntil(
        lambda: metrics.is_file() and '"start"' in metrics.read_text(), timeout=START_MS
    )
    assert train.has_running_job()
    return train


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a child that ended but was not reaped yet counts as ended)."""
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == 0


def _end(pid: int) -> None:
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.mark.slow
def test_cancel_keeps_the_viewer_and_stop_ends_the_run_resumably(
    qtbot, settings, factory, phantom_dataset, tmp_path
):
    from mura_desktop.gui.main_window import MainWindow

    window = MainWindow(settings, model_factory=factory)
    qtbot.addWidget(window)
    window.show()
    run_dir = tmp_path / "runs" / "stopped"
    train = _start_real_run(qtbot, window, phantom_dataset, run_dir)
    pid = train.pid()
    try:
        _answer_next_question("Cancel")
        assert window.close() is False
        assert window.isVisible() and train.has_running_job()
        with qtbot.waitSignal(train.runFinished, timeout=30_000) as finished:
            _answer_next_question("Stop the training")
            assert window.close() is True
        assert finished.args[0] == 130, "interrupted: mura-train fit --resume continues it"
        assert not _alive(pid)
        assert (run_dir / "config.json").is_file()
        assert not window.isVisible() and not train.isVisible()
    finally:
        _end(pid)


@pytest.mark.slow
def test_a_detached_run_outlives_the_viewer(qtbot, settings, factory, phantom_dataset, tmp_path):
    from mura_desktop.gui.main_window import MainWindow

    window = MainWindow(settings, model_factory=factory)
    qtbot.addWidget(window)
    window.show()
    run_dir = tmp_path / "runs" / "detached"
    train = _start_real_run(qtbot, window, phantom_dataset, run_dir)
    pid = train.pid()
    try:
        _answer_next_question("Let it run on (detached)")
        assert window.close() is True
        assert not train.isVisible()
        train.deleteLater()
        window.deleteLater()
        qtbot.wait(100)
        del window  # the window and its parts refer to each other: collect them now
        gc.collect()
        assert _alive(pid), "the viewer is gone, the run goes on"
        metrics = run_dir / METRICS_FILE
        steps = metrics.read_text().count('"step"')
        qtbot.waitUntil(lambda: metrics.read_text().count('"step"') > steps, timeout=START_MS)
        assert _alive(pid)
        last = json.loads(metrics.read_text().splitlines()[-1])
        assert last["event"] in ("step", "epoch"), "still training, not ended"
        assert (run_dir / CONSOLE_FILE).stat().st_size > 0
    finally:
        _end(pid)
