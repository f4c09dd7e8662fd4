"""Reading a training run's ``metrics.jsonl`` while the trainer appends to it (Qt-free).

``JsonlTail`` reads the records another process has completed since the last read, and
starts again when the file is rewritten; ``TrainingCurves`` turns those records into the
points of the train window's loss and κ/AUROC plots.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mura_desktop.core.run_log import number, parse_line


class JsonlTail:
    """Incremental reader of a JSON-lines file that another process appends to.

    ``read()`` returns the records completed since the last call. A last line without its
    newline is kept until it is finished; lines that are not JSON objects are skipped and
    counted. When the file is replaced or shrinks (the trainer rewrites it on ``--resume``),
    reading starts again from the top and ``restarted`` is set.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.skipped = 0
        self.restarted = False
        self._offset = 0
        self._partial = b""
        self._identity: tuple[int, int] | None = None

    def read(self) -> list[dict[str, Any]]:
        self.restarted = False
        try:
            stat = self.path.stat()
        except OSError:
            return []
        identity = (stat.st_dev, stat.st_ino)
        if self._identity is not None and (
            identity != self._identity or stat.st_size < self._offset
        ):
            self._offset, self._partial, self.restarted = 0, b"", True
        self._identity = identity
        if stat.st_size == self._offset:
            return []
        try:
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except OSError:
            return []
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        records = []
        for line in lines:
            if not line.strip():
                continue
            record = parse_line(line.decode("utf-8", "replace"))
            if record is None:
                self.skipped += 1
            else:
                records.append(record)
        return records


@dataclass
class TrainingCurves:
    """Points of the live plots, built from metrics records.

    Epoch points are placed at the count of epochs completed (1, 2, …), whatever the
    trainer's own epoch numbering; step losses between them when the step record says how
    many steps an epoch has.
    """

    epochs: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    kappa: list[float] = field(default_factory=list)
    auroc: list[float] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    total_epochs: int | None = None

    def add(self, record: dict[str, Any]) -> None:
        event = record.get("event")
        if event == "start":
            total = number(record, "epochs")
            self.total_epochs = int(total) if total else self.total_epochs
        elif event == "epoch":
            self.epochs.append(float(len(self.epochs) + 1))
            self.train_loss.append(_value_or_nan(number(record, "train_loss")))
            self.valid_loss.append(_value_or_nan(number(record, "valid_loss")))
            self.kappa.append(_value_or_nan(number(record, "kappa")))
            self.auroc.append(_value_or_nan(number(record, "auroc")))
        elif event == "step":
            loss = number(record, "train_loss")
            # `batch` of `batches` within the epoch; `step` is the run's global step counter
            batch = number(record, "batch")
            per_epoch = number(record, "batches")
            if loss is not None and batch is not None and per_epoch:
                self.steps.append(len(self.epochs) + min(batch / per_epoch, 1.0))
                self.step_loss.append(loss)


def _value_or_nan(value: float | None) -> float:
    return float("nan") if value is None else value
