"""Writing ``RUN_DIR/metrics.jsonl`` (its schema: ``mura_desktop.core.run_log``).

On ``--resume`` the log is rewritten (atomically) without the records of epochs that had
not been checkpointed, then a new ``start`` record with ``resumed_from`` follows: each
epoch appears once, in order.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from mura_desktop.core import strict_json
from mura_desktop.core.atomic_write import write_atomically
from mura_desktop.core.run_log import check_fields, read_records
from mura_desktop.core.strict_json import plain


class MetricsLog:
    """Appends records to ``path``; a disabled log (ranks other than 0) writes nothing."""

    def __init__(self, path: str | os.PathLike[str], enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled

    @staticmethod
    def record(event: str, **fields: Any) -> dict[str, Any]:
        """A record as ``write`` would write it (for a checkpoint to carry)."""
        check_fields(event, fields)
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
        records = read_records(self.path) if self.path.exists() else []
        kept = [r for r in records if r.get("epoch") is None or r["epoch"] <= epoch]
        logged = {r["epoch"] for r in kept if r.get("event") == "epoch"}
        if checkpointed is not None and checkpointed.get("epoch") not in logged:
            kept.append(checkpointed)
        write_atomically(self.path, "".join(strict_json.dumps(r) + "\n" for r in kept))
