"""Training checkpoints: whole-state dicts written atomically, and the best-k bookkeeping.

A checkpoint is ``torch.save`` of plain containers and tensors (model, optimizer, scheduler
and AMP-scaler state dicts, epoch, step, best metric, config, RNG states, the validation
predictions of that epoch) and is read back with ``weights_only=True``. Each file is
written to a temporary name, flushed to disk and renamed over the target, so a run killed
at any moment leaves either the previous or the new complete file. A checkpoint carries
its epoch's ``metrics.jsonl`` record, so a run killed between the two loses neither.

Layout in ``RUN_DIR/checkpoints``: ``last.pt`` after every epoch, and ``epoch-NNN.pt`` for
the best ``keep_best`` epochs by the selection metric. ``last.pt`` records which epoch files
are current; on resume, files it does not list (e.g. from an epoch that was redone) go.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mura_desktop.core.atomic_write import atomic_open

CHECKPOINT_FORMAT = "mura-train-checkpoint"
CHECKPOINT_VERSION = 1
LAST = "last.pt"


class CheckpointError(Exception):
    """A checkpoint that cannot be used, with the file and the reason."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path}: {reason}")


def epoch_file(epoch: int) -> str:
    return f"epoch-{epoch:03d}.pt"


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write ``state`` to ``path`` atomically (temp file, fsync, rename).

    A write that fails (a full disk makes torch's writer raise ``RuntimeError``) raises
    ``CheckpointError``; the file already at ``path`` is untouched and nothing is left over.
    """
    path = Path(path)
    payload = {"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION, **state}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "wb") as fh:
            torch.save(payload, fh)
    except (OSError, RuntimeError) as exc:
        reason = (getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0])[:200]
        raise CheckpointError(
            path,
            f"could not write the checkpoint ({reason}); the previous checkpoint is intact. "
            "Free some disk space, then continue with --resume",
        ) from exc


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint`` (tensors on the CPU)."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise CheckpointError(path, "not found") from exc
    except Exception as exc:  # torch raises many types for damaged or foreign files
        raise CheckpointError(path, f"unreadable checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(path, "not a mura-train checkpoint")
    if state.get("format_version", 0) > CHECKPOINT_VERSION:
        raise CheckpointError(path, "written by a newer trainer; update MURA Desktop")
    return state


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch (CPU and CUDA) generator states as plain data and tensors."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    random.setstate(_as_tuple(state["python"]))
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"])
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda_states)


def _as_tuple(value: Any) -> Any:
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


@dataclass(frozen=True)
class Kept:
    """One retained epoch file and its selection-metric value."""

    epoch: int
    value: float
    file: str

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "value": self.value, "file": self.file}


class BestK:
    """The best ``k`` epochs by a metric (lower is better when ``minimize``)."""

    def __init__(self, k: int, minimize: bool, kept: list[Kept] | None = None) -> None:
        self.k = k
        self.minimize = minimize
        self.kept = sorted(kept or [], key=self._key)

    def _key(self, item: Kept) -> tuple[float, int]:
        if not np.isfinite(item.value):
            return (float("inf"), item.epoch)  # NaN/inf rank last either way
        return (item.value if self.minimize else -item.value, item.epoch)

    def would_keep(self, value: float) -> bool:
        if not np.isfinite(value):
            return len(self.kept) < self.k
        if len(self.kept) < self.k:
            return True
        return self._key(Kept(0, value, "")) < self._key(self.kept[-1])

    def add(self, epoch: int, value: float) -> tuple[Kept, list[Kept]]:
        """Record ``epoch``; returns its entry and the entries that fell out of the top k."""
        entry = Kept(epoch, float(value), epoch_file(epoch))
        ranked = sorted([*(k for k in self.kept if k.epoch != epoch), entry], key=self._key)
        self.kept, dropped = ranked[: self.k], ranked[self.k :]
        return entry, dropped

    @property
    def best(self) -> Kept | None:
        return self.kept[0] if self.kept else None

    def ranks_first(self, epoch: int, value: float) -> bool:
        """Whether ``add(epoch, value)`` would make ``epoch`` the best."""
        best = self.best
        return best is None or self._key(Kept(epoch, float(value), "")) < self._key(best)

    def to_list(self) -> list[dict[str, Any]]:
        return [k.to_dict() for k in self.kept]

    @classmethod
    def from_list(cls, k: int, minimize: bool, items: list[dict[str, Any]]) -> BestK:
        kept = [Kept(int(i["epoch"]), float(i["value"]), str(i["file"])) for i in items]
        return cls(k, minimize, kept)


def prune(directory: Path, keep: set[str]) -> None:
    """Remove epoch files and stale temporaries in ``directory`` that are not in ``keep``."""
    for path in directory.glob("epoch-*.pt"):
        if path.name not in keep:
            path.unlink(missing_ok=True)
    for path in directory.glob(".*.part"):
        path.unlink(missing_ok=True)


class CheckpointSaver:
    """Owns ``RUN_DIR/checkpoints``: ``last.pt`` after every epoch, the best ``keep_best``
    epoch files by the selection metric, and pruning of the rest (timm's CheckpointSaver).

    A disabled saver (ranks other than 0) keeps the bookkeeping and writes nothing.
    """

    def __init__(self, directory: Path, keep_best: int, minimize: bool, enabled: bool = True):
        self.directory = Path(directory)
        self.enabled = enabled
        self.best_k = BestK(keep_best, minimize)
        self.since_best = 0  # epochs since the best one

    @property
    def last_path(self) -> Path:
        return self.directory / LAST

    @property
    def best(self) -> Kept | None:
        return self.best_k.best

    def last_epoch(self) -> int:
        """The epoch ``last.pt`` holds (0 when there is none)."""
        return int(load_checkpoint(self.last_path)["epoch"]) if self.last_path.exists() else 0

    def restore(self, state: dict[str, Any]) -> None:
        """Take up the ranking ``state`` (a ``last.pt``) recorded; drop files it does not list."""
        self.best_k = BestK.from_list(self.best_k.k, self.best_k.minimize, state["kept"])
        self.since_best = int(state["since_best"])
        if self.enabled:
            prune(self.directory, {k.file for k in self.best_k.kept})

    def save(self, epoch: int, value: float, state: dict[str, Any]) -> bool:
        """Rank ``epoch`` by ``value``, write its checkpoint(s); True if it is the best so far.

        ``state`` is everything but the ranking, which is added here.
        """
        kept = self.best_k.would_keep(value)
        entry, dropped = self.best_k.add(epoch, value) if kept else (None, [])
        is_best = self.best is not None and self.best.epoch == epoch
        self.since_best = 0 if is_best else self.since_best + 1
        if self.enabled:
            full = {
                **state,
                "epoch": epoch,
                "value": value,
                "kept": self.best_k.to_list(),
                "since_best": self.since_best,
            }
            if entry is not None:
                save_checkpoint(full, self.directory / entry.file)
            save_checkpoint(full, self.last_path)
            for old in dropped:
                (self.directory / old.file).unlink(missing_ok=True)
        return is_best
