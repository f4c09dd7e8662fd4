"""Work off the GUI thread whose latest answer is all that counts: statistics (bootstrap
intervals, paired comparisons), PACS queries, a heatmap's overlay.

One background thread (a ``ThreadPoolExecutor``) runs one job at a time; each job carries
an id. The worker thread never touches a Qt object: a timer in the GUI thread collects
finished jobs and emits their answers, so a widget deleted while a job runs is safe. A job
still queued when a newer one arrives is cancelled before it starts.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)

POLL_MS = 40


class BackgroundWorker(QObject):
    """Runs ``fn()`` in the background; emits ``finished(job, value)`` or ``failed(job, text)``
    in the GUI thread, at most ``poll_ms`` after the job ends."""

    finished = Signal(int, object)
    failed = Signal(int, str)

    _ids = itertools.count(1)

    def __init__(
        self, parent: QObject | None = None, poll_ms: int = POLL_MS, name: str = "mura-background"
    ) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pending: dict[int, Future] = {}
        self._poll = QTimer(self)
        self._poll.setInterval(poll_ms)
        self._poll.timeout.connect(self._collect)

    def submit(self, fn: Callable[[], Any]) -> int:
        """Queue ``fn`` and return its job id; older jobs not yet started are cancelled."""
        for future in self._pending.values():
            future.cancel()
        job = next(self._ids)
        self._pending[job] = self._executor.submit(fn)
        self._poll.start()
        return job

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def shutdown(self) -> None:
        """Cancel queued jobs and wait for the running one (before the owner goes away)."""
        self._poll.stop()
        self._pending.clear()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _collect(self) -> None:
        for job, future in list(self._pending.items()):
            if not future.done():
                continue
            del self._pending[job]
            if future.cancelled():
                continue
            error = future.exception()
            if error is not None:  # the owner shows it to the user; logged here
                log.error("background job %d failed", job, exc_info=error)
                self.failed.emit(job, f"{type(error).__name__}: {error}")
            else:
                self.finished.emit(job, future.result())
        if not self._pending:
            self._poll.stop()
