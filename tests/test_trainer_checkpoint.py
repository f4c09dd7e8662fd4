"""Checkpoint files: round trip of the whole training state, RNG restore, best-k bookkeeping."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from mura_desktop.inference.network import build_network
from trainer.checkpoint import (
    BestK,
    CheckpointError,
    load_checkpoint,
    prune,
    restore_rng_state,
    rng_state,
    save_checkpoint,
)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Two OpenMP threads on a busy 2-core machine spin against each other; one is faster."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_round_trip_of_model_optimizer_scheduler_and_rng(tmp_path):
    torch.manual_seed(0)
    net = build_network("densenet121")
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=0)
    loss = net(torch.rand(2, 3, 32, 32)).sum()
    loss.backward()
    optimizer.step()
    scheduler.step(1.0)
    scheduler.step(2.0)  # a plateau: lr ÷ 10
    state = {
        "epoch": 3,
        "model": net.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": rng_state(),
        "config": {"arch": "densenet121", "parts": ["WRIST"], "valid_fraction": None},
    }
    expected = _draws()
    save_checkpoint(state, tmp_path / "ck" / "last.pt")
    assert [p.name for p in (tmp_path / "ck").iterdir()] == ["last.pt"]  # no temp file left

    loaded = load_checkpoint(tmp_path / "ck" / "last.pt")
    other = build_network("densenet121")
    other.load_state_dict(loaded["model"])
    for name, tensor in net.state_dict().items():
        assert torch.equal(tensor, other.state_dict()[name]), name
    opt2 = torch.optim.Adam(other.parameters(), lr=1e-3)
    opt2.load_state_dict(loaded["optimizer"])
    sched2 = torch.optim.lr_scheduler.ReduceLROnPlateau(opt2)
    sched2.load_state_dict(loaded["scheduler"])
    assert opt2.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert torch.equal(
        opt2.state_dict()["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"]
    )
    assert loaded["config"] == state["config"] and loaded["epoch"] == 3
    restore_rng_state(loaded["rng"])
    assert _draws() == expected


def test_foreign_or_damaged_files_are_refused(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a mura-train checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    save_checkpoint({"epoch": 1}, tmp_path / "good.pt")
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint(tmp_path / "cut.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_best_k_keeps_the_best_and_reports_what_falls_out():
    best = BestK(2, minimize=True)
    assert best.add(1, 0.9)[1] == []
    assert best.add(2, 0.5)[1] == []
    assert not best.would_keep(0.95)
    entry, dropped = best.add(3, 0.7)
    assert entry.file == "epoch-003.pt" and [d.epoch for d in dropped] == [1]
    assert [k.epoch for k in best.kept] == [2, 3] and best.best.epoch == 2
    restored = BestK.from_list(2, True, best.to_list())
    assert restored.kept == best.kept
    kappa = BestK(3, minimize=False)
    kappa.add(1, float("nan"))
    kappa.add(2, 0.1)
    assert kappa.best.epoch == 2  # a NaN metric never ranks first


def test_prune_removes_orphans_and_temporaries(tmp_path):
    for name in ("epoch-001.pt", "epoch-002.pt", ".last.pt.123.part", "last.pt"):
        (tmp_path / name).write_bytes(b"x")
    prune(tmp_path, {"epoch-002.pt"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-002.pt", "last.pt"]
