"""Training runs that are killed, fill the disk, blow up or are stopped while starting."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from mura_desktop.core.run_log import read_records
from mura_desktop.phantoms import generate_dataset
from trainer.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.engine import DivergedError, DivergenceGuard
from trainer.fit import COMPLETED, DIVERGED, fit

ROOT = Path(__file__).resolve().parents[1]
TINY = {"arch": "densenet121", "size": 64, "init": "random", "batch_size": 8, "workers": 0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("faults") / "phantoms"
    generate_dataset(out, 16, seed=3, size=80)
    return out


@pytest.fixture(scope="module")
def run(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "run"
    cache = tmp_path_factory.mktemp("cache")
    config = TrainConfig(data=str(dataset), out=str(out), epochs=2, cache_dir=str(cache), **TINY)
    assert fit(config).status == COMPLETED
    return out


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def _fit_command(dataset: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "trainer", "fit", str(dataset), "--out", str(out),
        "--arch", "densenet121", "--size", "64", "--init", "random", "--batch-size", "4",
        "--workers", "0", "--cache-dir", str(out.parent / "cache"), *extra,
    ]  # fmt: skip


@pytest.mark.slow
def test_a_run_killed_in_epoch_1_resumes_from_the_start(dataset, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        _fit_command(dataset, out, "--epochs", "1"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(),
    )  # fmt: skip
    try:
        for line in proc.stdout:
            if line.startswith("epoch 1/1"):
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait()
    assert not (out / "checkpoints" / "last.pt").exists() and (out / "config.json").exists()
    resumed = subprocess.run(
        [sys.executable, "-m", "trainer", "fit", "--resume", str(out)],
        capture_output=True, text=True, env=_env(), timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "starting it again from epoch 1" in resumed.stdout
    records = read_records(out / "metrics.jsonl")
    assert [r["event"] for r in records if r["event"] in ("start", "end")] == ["start", "end"]
    assert [r["epoch"] for r in records if r["event"] == "epoch"] == [1]


def test_an_epoch_record_lost_to_a_kill_comes_back_from_its_checkpoint(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    log = copy / "metrics.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    kept = [line for line in lines if '"event": "end"' not in line]
    epoch_2 = next(
        i for i, line in enumerate(kept) if '"event": "epoch"' in line and '"epoch": 2' in line
    )
    log.write_text("".join(kept[:epoch_2]))  # killed after last.pt was replaced
    assert load_checkpoint(copy / "checkpoints" / "last.pt")["epoch_record"]["epoch"] == 2
    config = replace(TrainConfig.load(copy), out=str(copy))
    assert fit(config, resume=True).status == COMPLETED
    epochs = [r for r in read_records(log) if r["event"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2]
    original = next(
        r
        for r in read_records(run / "metrics.jsonl")
        if r.get("epoch") == 2 and r["event"] == "epoch"
    )
    assert epochs[1] == original


def test_a_loss_that_explodes_without_nan_stops_the_run(run, tmp_path):
    guard = DivergenceGuard()
    guard.check(1, 1, 0.7)
    guard.check(1, 9, 60.0)  # high, but under 100× the start
    with pytest.raises(DivergedError, match="more than 100× where it started"):
        guard.check(1, 10, 3e13)

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    config = replace(TrainConfig.load(copy), out=str(copy))
    result = fit(config.with_overrides({"epochs": 3, "lr": 1e6}), resume=True)
    assert result.status == DIVERGED and result.bundle is None
    error = next(r for r in read_records(copy / "metrics.jsonl") if r["event"] == "error")
    assert error["kind"] == "diverged", error


@pytest.fixture
def small_disk(tmp_path) -> Path:
    disk = tmp_path / "disk"
    disk.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True
        ).returncode
    ):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield disk
    subprocess.run(["umount", str(disk)], check=False)


def test_a_full_disk_fails_the_checkpoint_cleanly_and_keeps_the_previous(small_disk):
    path = small_disk / "last.pt"
    save_checkpoint({"epoch": 1, "w": torch.zeros(1000)}, path)
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match="previous checkpoint is intact"):
        save_checkpoint({"epoch": 2, "w": torch.zeros(2_000_000)}, path)  # 8 MB on 4 MB
    assert path.read_bytes() == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["last.pt"]  # no .part left


def test_a_killed_writer_leaves_no_part_file_for_good(run, tmp_path):
    from trainer.export import export_run

    stale = tmp_path / ".model.mura.dead.part"
    stale.write_bytes(b"")  # what a kill -9 during export leaves
    export_run(run, tmp_path / "model.mura")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.mura"]


@pytest.mark.slow
def test_ctrl_c_while_starting_up_prints_no_traceback(dataset, tmp_path):
    proc = subprocess.Popen(
        _fit_command(dataset, tmp_path / "run", "--epochs", "1"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    time.sleep(0.8)  # inside the imports or the scan, before training starts
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    # 130 from our handler; -SIGINT if it landed before Python's own was installed
    assert proc.returncode in (130, -signal.SIGINT), out + err
    assert "Traceback" not in err and "terminate called" not in err
