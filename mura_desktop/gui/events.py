"""Plain-Python events for the Qt-free parts of the viewer: named events with callbacks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any


class EventSource:
    """Something that announces named events; the window subscribes and redraws."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable[..., None]]] = defaultdict(list)

    def subscribe(self, event: str, callback: Callable[..., None]) -> None:
        self._listeners[event].append(callback)

    def _emit(self, event: str, *args: Any) -> None:
        for callback in self._listeners[event]:
            callback(*args)
