"""The schema of a training run's ``RUN_DIR/metrics.jsonl``: one home for the trainer that
writes it and the viewer's Train window that reads it.

One JSON object per line, flushed as it happens; every record has ``event`` and ``time``
(Unix seconds). Non-finite numbers are ``null``, so every line is strict JSON. A reader
tailing the file ignores a last line without its newline (it is being written). The
fields of each event are below; the writer refuses any other, so the two sides and the
trainer's README cannot drift apart.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.jsonl"
BUNDLE_FILE = "model.mura"  # the model a finished run exports, beside its log

START, STEP, EPOCH, END, ERROR = "start", "step", "epoch", "end", "error"
_COMMON = ("event", "time")
FIELDS: dict[str, frozenset[str]] = {
    START: frozenset({
        "epoch", "epochs", "resumed_from", "run_dir", "config", "device", "world_size", "amp",
        "train_studies", "valid_studies", "train_views", "valid_views", "split",
        "class_weights", "trainer_version",
    }),
    STEP: frozenset({"epoch", "step", "batch", "batches", "train_loss", "lr", "images_per_s"}),
    EPOCH: frozenset({
        "epoch", "epochs", "step", "lr", "train_loss", "valid_loss", "n", "kappa", "auroc",
        "accuracy", "sensitivity", "specificity", "precision", "f1", "tn", "fp", "fn", "tp",
        "undefined", "parts", "train_images", "train_skipped", "valid_skipped",
        "images_per_s", "epoch_seconds", "best", "select_value",
    }),
    ERROR: frozenset({"kind", "epoch", "step", "message", "checkpoint"}),
    END: frozenset({
        "status", "message", "epoch", "best_epoch", "best_value", "select_metric", "bundle",
        "test",
    }),
}  # fmt: skip
EVENTS: tuple[str, ...] = tuple(FIELDS)


def check_fields(event: str, fields: dict[str, Any]) -> None:
    """Raise ``ValueError`` for an unknown event or a field its schema does not list."""
    if event not in FIELDS:
        raise ValueError(f"unknown event {event!r}; expected one of {EVENTS}")
    unknown = set(fields) - FIELDS[event] - set(_COMMON)
    if unknown:
        raise ValueError(f"{event} records have no field(s) {sorted(unknown)}")


def parse_line(line: str) -> dict[str, Any] | None:
    """The record on one complete line, or ``None`` for a line that is not one."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and record.get("event") in FIELDS else None


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """All complete records in ``path`` (a partial last line is left for later)."""
    records = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            record = parse_line(line)
            if record is not None:
                records.append(record)
    return records


def number(record: dict[str, Any], key: str) -> float | None:
    """A finite number the record holds under ``key``, else ``None`` (``null``, missing)."""
    value = record.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = float(value)
        return value if value == value and abs(value) != float("inf") else None
    return None
