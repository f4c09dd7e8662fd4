"""The "Train a model…" window, driven with a fake trainer process (a real child process)."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from mura_desktop.core.output_guard import is_inside
from mura_desktop.gui.train_window import TrainWindow
from mura_desktop.gui.training_metrics import JsonlTail, TrainingCurves

FAKE_TRAINER = r'''
"""Stands in for `mura-train`: log lines (with \r progress), metrics.jsonl, model.mura."""
import argparse, json, signal, sys, time
from pathlib import Path

p = argparse.ArgumentParser()
p.add_argument("command")
p.add_argument("data")
p.add_argument("--out", required=True)
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--hang", action="store_true")
p.add_argument("--ignore-term", action="store_true")
p.add_argument("--fail", action="store_true")
args, _ = p.parse_known_args()
if args.ignore_term:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)  # the viewer puts console.log there first
log = (out / "metrics.jsonl").open("a")


def record(fields, split=False):
    text = json.dumps(fields) + "\n"
    if split:  # the reader must wait for the end of a half-written line
        log.write(text[:15])
        log.flush()
        time.sleep(0.1)
        text = text[15:]
    log.write(text)
    log.flush()


print(f"training on {args.data} for {args.epochs} epochs", flush=True)
record({"event": "start", "epochs": args.epochs})
for e in range(1, args.epochs + 1):
    for s in range(1, 5):
        sys.stdout.write(f"\repoch {e} step {s}/4")
        sys.stdout.flush()
        record({"event": "step", "epoch": e, "step": 4 * (e - 1) + s, "batch": s, "batches": 4,
                "train_loss": 1.0 / (e + s)})
    print(flush=True)
    fields = {"event": "epoch", "epoch": e, "train_loss": 1.0 / e, "valid_loss": 1.2 / e,
              "kappa": 0.2 * e, "auroc": 0.5 + 0.1 * e}
    if e == 2:
        del fields["auroc"]
    record(fields, split=True)
    print(f"epoch {e} done", flush=True)
if args.fail:
    record({"event": "error", "message": "loss became NaN"})
    print("error: loss became NaN", file=sys.stderr, flush=True)
    sys.exit(3)
if args.hang:
    print("waiting for ever", flush=True)
    while True:
        time.sleep(0.05)
(out / "model.mura").write_bytes(b"stand-in bundle")
record({"event": "end", "bundle": "model.mura"})
print("exported model.mura", flush=True)
'''


@pytest.fixture
def dataset(tmp_path) -> Path:
    folder = tmp_path / "MURA-v1.1"
    (folder / "train" / "XR_WRIST").mkdir(parents=True)
    return folder


@pytest.fixture
def window(qtbot, tmp_path, dataset):
    script = tmp_path / "fake_trainer.py"
    script.write_text(FAKE_TRAINER, encoding="utf-8")
    win = TrainWindow(
        command=[sys.executable, str(script)],
        runs_dir=tmp_path / "runs",
        poll_ms=50,
        stop_grace_ms=5_000,
    )
    qtbot.addWidget(win)
    win.set_dataset(dataset)
    win.set_recipe(epochs=3, architecture="densenet121", size=64, batch=4, device="cpu")
    yield win
    if win.has_running_job():
        win.stop_training(wait=True)


# --- pure parts ---------------------------------------------------------------------------


def test_jsonl_tail_returns_complete_records_only(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = JsonlTail(path)
    assert tail.read() == [], "a missing file is not an error"
    with path.open("a") as fh:
        fh.write('{"event": "start"}\n{"event": "ep')
    assert tail.read() == [{"event": "start"}]
    assert tail.read() == []
    with path.open("a") as fh:
        fh.write('och", "epoch": 1}\nnot json\n[1, 2]\n\n{"event": "end"}\n')
    assert tail.read() == [{"event": "epoch", "epoch": 1}, {"event": "end"}]
    assert tail.skipped == 2
    assert not tail.restarted


def test_jsonl_tail_starts_again_when_the_file_is_rewritten(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"event": "epoch", "epoch": 1}\n{"event": "epoch", "epoch": 2}\n')
    tail = JsonlTail(path)
    assert len(tail.read()) == 2
    replacement = tmp_path / "metrics.jsonl.part"
    replacement.write_text('{"event": "epoch", "epoch": 1}\n')
    os.replace(replacement, path)  # what the trainer does on --resume
    assert tail.read() == [{"event": "epoch", "epoch": 1}]
    assert tail.restarted


def test_training_curves_tolerate_missing_and_null_values():
    curves = TrainingCurves()
    for record in (
        {"event": "start", "epochs": 5},
        {"event": "step", "step": 2, "batch": 2, "batches": 4, "train_loss": 0.9},
        {"event": "step", "step": 3, "train_loss": 0.8},  # no batch of batches: not plotted
        {"event": "epoch", "epoch": 0, "train_loss": 0.7, "kappa": None},
        {"event": "epoch", "epoch": 1, "valid_loss": 0.6, "kappa": 0.4, "auroc": "n/a"},
        {"event": "mystery"},
        {"no event": True},
    ):
        curves.add(record)
    assert curves.total_epochs == 5
    assert curves.epochs == [1.0, 2.0], "placed by epochs completed, whatever the numbering"
    assert curves.steps == [0.5] and curves.step_loss == [0.9]
    assert curves.train_loss[0] == 0.7 and math.isnan(curves.train_loss[1])
    assert math.isnan(curves.kappa[0]) and curves.kappa[1] == 0.4
    assert all(math.isnan(v) for v in curves.auroc)


def test_the_window_reads_a_real_runs_log(tmp_path):
    """The trainer's own log, not a hand-written one, through the window's reader."""
    import torch

    from mura_desktop.core.run_log import FIELDS, METRICS_FILE, read_records
    from mura_desktop.phantoms import generate_dataset
    from trainer.config import TrainConfig
    from trainer.fit import COMPLETED, fit

    generate_dataset(tmp_path / "data", 12, seed=4, size=64)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = TrainConfig(
            data=str(tmp_path / "data"), out=str(tmp_path / "run"), epochs=2, arch="densenet121",
            size=64, init="random", batch_size=4, workers=0, cache_dir=str(tmp_path / "cache"),
        )  # fmt: skip
        assert fit(config).status == COMPLETED
    finally:
        torch.set_num_threads(threads)
    log = tmp_path / "run" / METRICS_FILE
    records = read_records(log)
    assert all(set(r) - {"event", "time"} <= FIELDS[r["event"]] for r in records)
    curves = TrainingCurves()
    for record in JsonlTail(log).read():
        curves.add(record)
    epochs = [r for r in records if r["event"] == "epoch"]
    assert curves.total_epochs == 2 and curves.epochs == [1.0, 2.0]
    assert curves.train_loss == [r["train_loss"] for r in epochs]
    assert curves.step_loss and len(curves.steps) == len(
        [r for r in records if r["event"] == "step"]
    )


def test_is_inside(tmp_path):
    assert is_inside(tmp_path / "a" / "b", tmp_path / "a")
    assert is_inside(tmp_path / "a", tmp_path / "a")
    assert not is_inside(tmp_path / "ab", tmp_path / "a")


# --- the window ---------------------------------------------------------------------------


def test_command_line_carries_the_recipe(window, dataset):
    window.set_run_dir("/elsewhere/run1")
    window.set_recipe(init="random", extra="--parts wrist,hand --name 'my model'")
    args = window.command_line()
    assert args[2:5] == ["fit", str(dataset), "--out"]
    flags = args[5:]
    for flag, value in (
        ("--out", "/elsewhere/run1"),
        ("--arch", "densenet121"),
        ("--init", "random"),
        ("--size", "64"),
        ("--epochs", "3"),
        ("--batch-size", "4"),
        ("--device", "cpu"),
        ("--parts", "wrist,hand"),
        ("--name", "my model"),
    ):
        assert args[args.index(flag) + 1] == value, flag
    assert flags
    with pytest.raises(ValueError):
        window.set_recipe(architecture="vgg16")


def test_default_run_folder_is_new_and_outside_the_dataset(window, tmp_path, dataset):
    proposed = Path(window.command_line()[window.command_line().index("--out") + 1])
    assert proposed.parent == tmp_path / "runs"
    assert proposed.name.endswith("-densenet121"), "named after the chosen network"
    assert not proposed.exists()
    assert not is_inside(proposed, dataset)
    window.set_run_dir(tmp_path / "mine")
    window.set_recipe(architecture="resnet50")
    assert window.command_line()[window.command_line().index("--out") + 1] == str(
        tmp_path / "mine"
    ), "a folder the user chose is kept"


@pytest.mark.parametrize(
    ("dataset_text", "run_text", "complaint"),
    [
        ("", "{tmp}/runs/r", "Choose the dataset"),
        ("{tmp}/nowhere", "{tmp}/runs/r", "does not exist"),
        ("{data}", "{data}/train/run", "inside the dataset"),
        ("{data}", "{tmp}/full", "already has files"),
    ],
)
def test_start_refuses_a_bad_form(window, tmp_path, dataset, dataset_text, run_text, complaint):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    window.set_dataset(dataset_text.format(tmp=tmp_path, data=dataset))
    window.set_run_dir(run_text.format(tmp=tmp_path, data=dataset))
    assert window.start_training() is False
    assert complaint in window.status_text()
    assert not window.has_running_job()
    assert not (dataset / "train" / "run").exists()


def test_a_full_run_shows_log_curves_and_offers_the_model(qtbot, window, tmp_path):
    run_dir = tmp_path / "runs" / "run1"
    window.set_run_dir(run_dir)
    with qtbot.waitSignal(window.runFinished, timeout=20_000) as finished:
        with qtbot.waitSignal(window.runStarted) as started:
            assert window.start_training()
        assert started.args == [str(run_dir)]
        assert window.has_running_job()
        assert not window._start_button.isEnabled()
    assert finished.args == [0, str(run_dir)]
    assert not window.has_running_job()
    log = window.log_text()
    assert "training on" in log
    assert "epoch 3 step 4/4" in log and "\r" not in log
    assert "step 1/4" not in log, "progress rewrites stay on one line"
    assert "exported model.mura" in log
    curves = window.curves()
    assert curves.epochs == [1.0, 2.0, 3.0]
    assert curves.kappa == pytest.approx([0.2, 0.4, 0.6])
    assert math.isnan(curves.auroc[1])
    assert len(curves.steps) == 12
    x, y = window._plots._kappa_curve.getData()
    assert list(x) == [1.0, 2.0, 3.0] and list(y) == pytest.approx([0.2, 0.4, 0.6])
    assert window.bundle_path() == run_dir / "model.mura"
    assert "Finished" in window.status_text()
    assert window._open_button.isEnabled()
    with qtbot.waitSignal(window.openModel) as opened:
        qtbot.mouseClick(window._open_button, Qt.MouseButton.LeftButton)
    assert opened.args == [str(run_dir / "model.mura")]
    assert window._form.run_dir_text() != str(run_dir), "the next run gets a new folder"


def test_the_proposed_run_folder_is_always_new(qtbot, window):
    first = Path(window.command_line()[window.command_line().index("--out") + 1])
    with qtbot.waitSignal(window.runFinished, timeout=20_000):
        assert window.start_training()
    second = Path(window.command_line()[window.command_line().index("--out") + 1])
    assert first.is_dir() and second != first and not second.exists()


def test_curves_update_while_running_and_stop_ends_the_process(qtbot, window):
    window.set_recipe(extra="--hang")
    assert window.start_training()
    qtbot.waitUntil(lambda: len(window.curves().epochs) == 3, timeout=20_000)
    assert window.has_running_job(), "the curves were read live, not at the end"
    assert "Epoch 3 of 3 done" in window.status_text()
    assert window._stop_button.isEnabled()
    with qtbot.waitSignal(window.runFinished, timeout=10_000):
        qtbot.mouseClick(window._stop_button, Qt.MouseButton.LeftButton)
    assert not window.has_running_job()
    assert "Stopped" in window.status_text()
    assert window.bundle_path() is None
    assert not window._open_button.isEnabled()


def test_stop_kills_a_trainer_that_ignores_terminate(qtbot, window):
    window._stop_grace_ms = 200
    window.set_recipe(extra="--hang --ignore-term")
    assert window.start_training()
    qtbot.waitUntil(lambda: "waiting for ever" in window.log_text(), timeout=20_000)
    with qtbot.waitSignal(window.runFinished, timeout=10_000):
        window.stop_training()
    assert not window.has_running_job()
    assert "killing it" in window.log_text()


def test_a_failing_trainer_reports_why(qtbot, window):
    window.set_recipe(extra="--fail")
    with qtbot.waitSignal(window.runFinished, timeout=20_000) as finished:
        assert window.start_training()
    assert finished.args[0] == 3
    assert "failed (exit code 3): loss became NaN" in window.status_text()
    assert "error: loss became NaN" in window.log_text()
    assert not window._open_button.isEnabled()


def test_a_missing_trainer_program_is_reported(qtbot, tmp_path, dataset):
    win = TrainWindow(command=[str(tmp_path / "no-such-python")], runs_dir=tmp_path / "runs")
    qtbot.addWidget(win)
    win.set_dataset(dataset)
    with qtbot.waitSignal(win.runFinished, timeout=10_000) as finished:
        win.start_training()
    assert finished.args[0] == -1
    assert "Could not start the trainer" in win.status_text()
    assert not win.has_running_job()
    assert win._start_button.isEnabled()


def _answer_next_question(button_text: str) -> None:
    def click() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox), box
        box.setProperty("answered", button_text)
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(0, click)


def test_closing_asks_before_stopping_a_run(qtbot, window):
    window.show()
    window.set_recipe(extra="--hang")
    assert window.start_training()
    qtbot.waitUntil(lambda: "waiting for ever" in window.log_text(), timeout=20_000)
    _answer_next_question("Cancel")
    assert window.close() is False
    assert window.isVisible() and window.has_running_job()
    _answer_next_question("Keep running")
    assert window.close() is True
    assert window.has_running_job(), "kept running in the background"
    window.show()
    _answer_next_question("Stop training")
    assert window.close() is True
    assert not window.has_running_job()


def test_closing_without_a_run_does_not_ask(qtbot, window):
    window.show()
    assert window.close() is True
