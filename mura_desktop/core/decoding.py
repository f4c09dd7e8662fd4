"""Decoding of untrusted files in worker processes with a memory cap.

``load_image`` checks what it can before decoding (pixel budget, codestream sizes, inflation),
but a decoder library with a bug of its own (a crash, a runaway allocation) would take the
whole viewer or batch down with it. So the viewer and ``predict`` decode in a small pool of
worker processes, each limited in address space: a file that kills its worker fails alone,
with a reason, and the pool is rebuilt. Measured here (bench/bench_decode_isolation.py):
1.0-1.3x the in-process time per image, with the workers started once per process.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
from concurrent.futures import Future, InvalidStateError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path

from mura_desktop.core.errors import ImageLoadError
from mura_desktop.core.pixels import LoadedImage, load_image

log = logging.getLogger(__name__)

MEMORY_LIMIT = 3 * 2**30  # address space per worker: the largest image the budget allows, x2
WORKERS = 2
Decoded = LoadedImage | str  # the image, or the reason it could not be loaded
DIED = (
    "the decoder crashed or ran out of its {limit:.1f} GB memory budget on this file "
    "(damaged or hostile); it was not read"
)


_worker_limit = MEMORY_LIMIT
ORPHAN_CHECK_S = 1.0


def _start_worker(memory_bytes: int | None, parent: int) -> None:
    global _worker_limit
    # pydicom is left to a worker's first DICOM (0.3 s): imported here by both workers it
    # made the viewer's window and first score 0.1-0.7 s later on two cores, for PNGs too.
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    if memory_bytes is not None:
        import resource

        # On top of what the worker already maps: a spawned worker first imports the
        # parent's main module, and a script that imports torch there maps gigabytes.
        limit = _address_space_in_use() + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        _worker_limit = memory_bytes


def _exit_when_orphaned(parent: int) -> None:
    """A worker outlives a parent killed without shutting the pool down (SIGTERM, SIGKILL):
    it waits on a queue whose writing end it holds itself. Where the system hands orphans
    to another parent (POSIX), it exits when that happens."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(0)


def _address_space_in_use() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def decode_or_reason(path: Path) -> Decoded:
    """``load_image``, with any failure turned into its reason (one bad file never stops a
    study). Runs in a worker process, or inline where no pool is used."""
    try:
        return load_image(path)
    except ImageLoadError as exc:
        return str(exc)
    except MemoryError:
        return f"{path}: {DIED.format(limit=_worker_limit / 2**30)}"
    except Exception as exc:
        log.exception("unexpected error decoding %s", path)
        return f"{path}: unexpected {type(exc).__name__}: {exc}"


class IsolatedDecoder:
    """``load_image`` in memory-capped worker processes; thread-safe.

    ``submit(path)`` returns a future of the image or the reason it failed; a worker that
    dies fails only the files it held, and the next call starts a fresh pool.
    """

    def __init__(self, workers: int = WORKERS, memory_bytes: int | None = MEMORY_LIMIT) -> None:
        self._workers = workers
        # RLIMIT_AS exists on Unix only; elsewhere the workers still isolate crashes.
        self._memory = memory_bytes if sys.platform != "win32" else None
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, path: str | os.PathLike[str]) -> Future[Decoded]:
        path = Path(path)
        outer: Future[Decoded] = Future()
        with self._lock:
            pool = self._pool_locked()
            inner = pool.submit(decode_or_reason, path)
        inner.add_done_callback(lambda done: self._settle(outer, done, pool, path))
        return outer

    def decode(self, path: str | os.PathLike[str]) -> LoadedImage:
        """Decode now; raises ``ImageLoadError`` with the reason on failure."""
        result = self.submit(path).result()
        if isinstance(result, str):
            reason = result.split(": ", 1)[1] if result.startswith(f"{path}: ") else result
            raise ImageLoadError(path, reason)
        return result

    def warm_up(self) -> None:
        """Start the workers now (they import the decoders), not at the first file."""
        with self._lock:
            pool = self._pool_locked()
        for _ in range(self._workers):
            pool.submit(int)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _pool_locked(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._workers,
                mp_context=get_context("spawn"),
                initializer=_start_worker,
                initargs=(self._memory, os.getpid()),
            )
        return self._pool

    def _settle(
        self, outer: Future[Decoded], done: Future[Decoded], pool: ProcessPoolExecutor, path: Path
    ) -> None:
        if done.cancelled():
            outer.cancel()
            return
        error = done.exception()
        if isinstance(error, BrokenProcessPool):
            with self._lock:
                if self._pool is pool:
                    self._pool = None  # the next submit starts a fresh pool
            result: Decoded = f"{path}: {DIED.format(limit=(self._memory or 0) / 2**30)}"
        elif error is not None:
            result = f"{path}: unexpected {type(error).__name__}: {error}"
        else:
            result = done.result()
        with contextlib.suppress(InvalidStateError):  # the caller cancelled it meanwhile
            outer.set_result(result)


_shared: IsolatedDecoder | None = None
_shared_lock = threading.Lock()


def shared_decoder() -> IsolatedDecoder:
    """The process-wide decoder (started on first use, closed at exit)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = IsolatedDecoder()
            atexit.register(_shared.close)
        return _shared
