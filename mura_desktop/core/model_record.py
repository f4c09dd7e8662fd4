"""The identity of the model that made a set of scores (``ResultSet.model``).

One frozen record everywhere a model is named: results files, the viewer's session, the
reports. Its file form is the plain dict writers have always written; ``hash`` is read as
``content_hash`` for viewer results files from before 0.2.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

_FIELDS = ("name", "content_hash", "architecture", "input_size", "demo")


@dataclass(frozen=True)
class ModelRecord:
    """``details`` holds everything else a writer recorded (operating points, validation
    ``metrics``, the device, where the bundle was), read-only."""

    name: str = ""
    content_hash: str = ""
    architecture: str = ""
    input_size: int | None = None
    demo: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def __bool__(self) -> bool:
        return bool(self.content_hash or self.name)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ModelRecord:
        data = dict(data or {})
        legacy_hash = data.pop("hash", "")
        size = data.pop("input_size", None)
        return cls(
            name=str(data.pop("name", "") or ""),
            content_hash=str(data.pop("content_hash", "") or legacy_hash or ""),
            architecture=str(data.pop("architecture", "") or ""),
            input_size=None if size is None else int(size),
            demo=bool(data.pop("demo", False)),
            details=data,
        )

    def to_dict(self) -> dict[str, Any]:
        own = {name: getattr(self, name) for name in _FIELDS}
        return {**self.details, **{k: v for k, v in own.items() if v not in ("", None)}}

    def with_details(self, **more: Any) -> ModelRecord:
        return replace(self, details={**self.details, **more})

    def describe(self) -> str:
        """``name (hash12)``, e.g. for a "scored by" line."""
        name = self.name or "unknown model"
        return f"{name} ({self.content_hash[:12]})" if self.content_hash else name
