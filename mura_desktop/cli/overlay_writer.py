"""Heatmap overlays written beside the scoring, not in its way.

Colouring and PNG encoding run in a few threads (numpy and ISA-L release the GIL) while
the next batch is scored. At most ``limit`` studies wait at a time, so a slow disk holds
back scoring instead of memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor


class OverlayWriter:
    """Runs ``write()`` calls in background threads; ``on_error(name, exc)`` hears of each
    ``OSError`` in the thread that submits or closes (never in a worker)."""

    def __init__(
        self, on_error: Callable[[str, OSError], None], *, threads: int = 2, limit: int = 8
    ) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="mura-overlays")
        self._waiting: deque[tuple[str, Future[None]]] = deque()
        self._on_error = on_error
        self._limit = limit

    def submit(self, name: str, write: Callable[[], None]) -> None:
        while len(self._waiting) >= self._limit:
            self._collect(*self._waiting.popleft())
        self._waiting.append((name, self._pool.submit(write)))

    def close(self) -> None:
        """Wait for every write and report its error, if any."""
        while self._waiting:
            self._collect(*self._waiting.popleft())
        self._pool.shutdown()

    def _collect(self, name: str, future: Future[None]) -> None:
        try:
            future.result()
        except OSError as exc:
            self._on_error(name, exc)
