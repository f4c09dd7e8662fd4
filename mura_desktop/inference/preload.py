"""Start what the first score needs while the window is still being built.

``preload(path, ...)`` returns at once; a daemon thread reads the bundle, starts its
backend (``backends.choice.start_backend``: OpenVINO runs without importing torch, and a
machine's first launch starts on the probe's reference, leaving the probe for later) and,
on a GPU, runs one warm-up forward pass. Whoever loads the model later asks ``take()`` for
it: the same file and settings get the preloaded bundle, backend and pending probe (waiting
for them if need be), anything else gets None and loads as usual. A failed preload also
gives None, so the usual load reports the error.

This module imports nothing heavy itself: calling it on the GUI thread costs nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# A typical study. Only a GPU's first pass is much slower than the next (CUDA context,
# kernels): on the CPU a warm-up saved 0.03-0.05 s of the first study's pass and cost
# 0.3-0.5 s, on the first score's path on two cores.
WARM_UP_VIEWS = 4


def _file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)


class Preloaded:
    """A model being loaded in the background; see ``preload``."""

    def __init__(
        self, path: Path, device: str, backend: str, precision: str, leave_a_core: bool
    ) -> None:
        self._settings = (device, backend, precision)
        self._leave_a_core = leave_a_core
        self._taken = False
        self._future: Future[tuple[Any, Any, Any]] = Future()
        try:
            self._key: tuple[str, int, int] | None = _file_key(path)
        except OSError:
            self._key = None
            self._future.set_exception(FileNotFoundError(path))
            return
        thread = threading.Thread(target=self._load, args=(path,), name="mura-preload", daemon=True)
        thread.start()

    def _load(self, path: Path) -> None:
        try:
            import numpy as np

            from mura_desktop.inference.backends.choice import start_backend
            from mura_desktop.inference.bundle import load_bundle
            from mura_desktop.inference.threads import leave_a_core_free

            if self._leave_a_core:
                leave_a_core_free()
            device, backend, precision = self._settings
            bundle = load_bundle(path)
            runner, pending = start_backend(bundle, backend, device, precision=precision)
            if runner.device.startswith("cuda"):
                size = bundle.input_size
                runner.forward(np.zeros((WARM_UP_VIEWS, 3, size, size), np.float32), maps=True)
            self._future.set_result((bundle, runner, pending))
        except Exception as exc:
            log.info("preloading %s failed (the load will say why): %s", path, exc)
            self._future.set_exception(exc)

    def when_done(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` in the preload's thread once it has finished (at once, in this
        thread, if it has): work that must not compete with the load but can share the
        cores with the first forward pass, which leaves the interpreter free."""
        self._future.add_done_callback(lambda _: callback())

    def take(
        self,
        path: str | os.PathLike[str],
        device: str = "auto",
        backend: str = "auto",
        precision: str = "auto",
        timeout: float | None = None,
    ) -> tuple[Any, Any, Any] | None:
        """``(ModelBundle, Backend, PendingProbe | None)`` when ``path`` and the settings
        are the preloaded ones and the file has not changed since; else None. Waits up to
        ``timeout`` seconds. Hands them over once: a later load of the same model builds
        its own."""
        if self._taken:
            return None
        try:
            same = self._key == _file_key(Path(path)) and self._settings == (
                device,
                backend,
                precision,
            )
        except OSError:
            return None
        if not same:
            return None
        try:
            ready = self._future.result(timeout)
        except Exception:
            return None
        self._taken = True
        return ready


def preload(
    path: str | os.PathLike[str],
    *,
    device: str = "auto",
    backend: str = "auto",
    precision: str = "auto",
    leave_a_core: bool = False,
) -> Preloaded:
    """Begin loading the model at ``path`` in a background thread; returns at once.
    ``leave_a_core``: run inference on all cores but one (the viewer's choice)."""
    return Preloaded(Path(path), device, backend, precision, leave_a_core)
