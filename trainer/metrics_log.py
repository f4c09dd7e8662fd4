"""``RUN_DIR/metrics.jsonl``: one JSON object per line, flushed as it happens.

Every record has ``event`` (``start``, ``step``, ``epoch``, ``end`` or ``error``) and
``time`` (Unix seconds); the trainer's README section lists the fields of each. Non-finite
numbers are written as ``null``, so every line is strict JSON. A reader tailing the file
should ignore a last line without its newline (it is being written).

On ``--resume`` the log is rewritten (atomically) without the records of epochs that had
not been checkpointed, then a new ``start`` record with ``resumed_from`` follows: each
epoch appears once, in order.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from mura_desktop.core import strict_json
from mura_desktop.core.atomic_write import write_atomically
from mura_desktop.core.strict_json import plain

METRICS_FILE = "metrics.jsonl"
EVENTS = ("start", "step", "epoch", "end", "error")


class MetricsLog:
    """Appends records to ``path``; a disabled log (ranks other than 0) writes nothing."""

    def __init__(self, path: str | os.PathLike[str], enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled

    @staticmethod
    def record(event: str, **fields: Any) -> dict[str, Any]:
        """A record as ``write`` would write it (for a checkpoint to carry)."""
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}")
        return {"event": event, **plain(fields), "time": round(time.time(), 3)}

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        return self.append(self.record(event, **fields))

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        if self.enabled:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(strict_json.dumps(record) + "\n")
                fh.flush()
        return record

    def keep_until_epoch(self, epoch: int, checkpointed: dict[str, Any] | None = None) -> None:
        """Drop records of epochs after ``epoch`` (they were not checkpointed), and put back
        ``checkpointed``, the epoch record its checkpoint carries, if the log lost it (a
        run killed between writing the checkpoint and the record)."""
        if not self.enabled:
            return
        records = read_metrics(self.path) if self.path.exists() else []
        kept = [r for r in records if r.get("epoch") is None or r["epoch"] <= epoch]
        logged = {r["epoch"] for r in kept if r.get("event") == "epoch"}
        if checkpointed is not None and checkpointed.get("epoch") not in logged:
            kept.append(checkpointed)
        write_atomically(self.path, "".join(strict_json.dumps(r) + "\n" for r in kept))


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """All complete records in ``path`` (a partial last line is ignored)."""
    records = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records
