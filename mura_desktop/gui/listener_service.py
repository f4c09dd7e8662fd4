"""The DICOM listener inside the viewer: the same node as ``mura-desktop listen``, with its
events turned into Qt signals in the GUI thread.

The listener and its scorer run on their own threads and never touch a Qt object: they
put events in a queue, and a timer in the GUI thread emits them. Starting (the model
loads) and stopping (the study being scored finishes) run off the GUI thread too.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from mura_desktop.node.listener import Listener, NodeEvent
from mura_desktop.node.store import StudyStore

log = logging.getLogger(__name__)

POLL_MS = 50


class ListenerService(QObject):
    """``started(port)``, ``stored(study_uid, text)``, ``scored(ScoredStudy)``,
    ``problem(text)`` (refused associations and contexts, kept-but-unreadable instances,
    scoring failures), ``stopped()``; ``failed(text)`` when it could not start."""

    started = Signal(int)
    stored = Signal(str, str)
    scored = Signal(object)
    problem = Signal(str)
    stopped = Signal()
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._events: queue.Queue = queue.Queue()
        self._listener: Listener | None = None
        self._scorer = None
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._drain)
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._listener is not None

    def start(
        self,
        make_scorer: Callable[[], Callable[[Path], object]],
        out: str | Path,
        *,
        ae_title: str = "MURA",
        host: str = "0.0.0.0",
        port: int = 11112,
        quiet_seconds: float = 5.0,
        allow_ae: Sequence[str] = (),
    ) -> None:
        """Build the scorer (``make_scorer()``, e.g. a ``StudyScorer`` that loads the
        model) and start listening, in the background; ``started`` or ``failed`` follows."""
        if self.running or (self._thread is not None and self._thread.is_alive()):
            raise RuntimeError("the listener is already running")

        def begin() -> None:
            try:
                scorer = make_scorer()
                listener = Listener(
                    StudyStore(out), scorer, ae_title=ae_title, host=host, port=port,
                    quiet_seconds=quiet_seconds, allow_ae=allow_ae, on_event=self._events.put,
                )  # fmt: skip
                listener.start()
            except Exception as exc:
                log.exception("the DICOM listener did not start")
                self._events.put(("failed", f"{type(exc).__name__}: {exc}"))
                return
            self._events.put(("started", listener, scorer))

        self._poll.start()
        self._thread = threading.Thread(target=begin, name="mura-listener-start")
        self._thread.start()

    def stop(self) -> None:
        """Stop listening; ``stopped`` follows once the study being scored is done."""
        listener, scorer = self._listener, self._scorer
        self._listener = self._scorer = None
        if listener is None:
            return

        def end() -> None:
            listener.stop()
            close = getattr(scorer, "close", None)
            if close is not None:
                close()
            self._events.put(("stopped",))

        self._thread = threading.Thread(target=end, name="mura-listener-stop")
        self._thread.start()

    def shutdown(self) -> None:
        """Stop and wait (before the owner goes away); no more signals."""
        if self._thread is not None:
            self._thread.join()
        self.stop()
        if self._thread is not None:
            self._thread.join()
        self._poll.stop()

    def _drain(self) -> None:
        while True:
            try:
                item = self._events.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, NodeEvent):
                self._emit(item)
            elif item[0] == "started":
                self._listener, self._scorer = item[1], item[2]
                self.started.emit(self._listener.port)
            elif item[0] == "failed":
                self._poll.stop()
                self.failed.emit(item[1])
            else:
                self._poll.stop()
                self.stopped.emit()

    def _emit(self, event: NodeEvent) -> None:
        if event.kind == "stored":
            self.stored.emit(event.study_uid or "", event.text)
        elif event.kind == "scored":
            self.scored.emit(event.payload)
        else:
            self.problem.emit(event.text)
