"""What the viewer knows about the model it has loaded (plain data, no Qt)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.verdict import VerdictRule


@dataclass
class ModelInfo:
    """What the GUI shows about the loaded model: its ``record`` (identity, as results
    files keep it), where it runs and with which rule. ``bundle`` is the ModelBundle itself
    (immutable after construction), for the model dialog."""

    path: Path
    record: ModelRecord
    device: str
    rule: VerdictRule
    description: str = ""
    notes: list[str] = field(default_factory=list)
    bundle: Any = None
    runtime: str = ""  # what runs the model, e.g. "openvino bfloat16 on cpu"

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def demo(self) -> bool:
        return self.record.demo

    @property
    def content_hash(self) -> str:
        return self.record.content_hash

    def running_on(self, runtime: str) -> ModelInfo:
        """This model's info once ``runtime`` runs it (its record names the runtime too)."""
        return replace(self, runtime=runtime, record=self.record.with_details(runtime=runtime))
