"""Pixel decoding and folder scanning off the GUI thread (a private QThreadPool).

Requests carry an id; a queued task whose request is older than the caller's
``min_request`` is skipped before it starts, so flicking through studies does not leave a
backlog of decodes for studies already left behind. Results come back through signals,
delivered in the GUI thread.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, Signal

from mura_desktop.core.decoding import shared_decoder
from mura_desktop.core.display import make_thumbnail
from mura_desktop.core.errors import ImageLoadError
from mura_desktop.core.pixels import LoadedImage

log = logging.getLogger(__name__)

CACHE_BYTES = 768 * 2**20


@dataclass
class DisplayImage:
    """A decoded view plus its thumbnail (uint8, windowed with the file's defaults)."""

    image: LoadedImage
    thumbnail: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.image.pixels.nbytes + self.thumbnail.nbytes)


def decode_for_display(path: Path) -> DisplayImage:
    """Decode ``path`` (in the memory-capped decoder processes) and make its thumbnail.
    Raises ``ImageLoadError``."""
    image = shared_decoder().decode(path)
    low = image.window_center - image.window_width / 2.0
    high = image.window_center + image.window_width / 2.0
    return DisplayImage(image, make_thumbnail(image.pixels, low, high))


class ImageCache:
    """Least-recently-used decoded views, bounded by bytes. GUI thread only."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self._items: OrderedDict[Path, DisplayImage] = OrderedDict()
        self._bytes = 0
        self.max_bytes = max_bytes

    def get(self, path: Path) -> DisplayImage | None:
        item = self._items.get(path)
        if item is not None:
            self._items.move_to_end(path)
        return item

    def put(self, path: Path, item: DisplayImage) -> None:
        old = self._items.pop(path, None)
        if old is not None:
            self._bytes -= old.nbytes
        self._items[path] = item
        self._bytes += item.nbytes
        while self._bytes > self.max_bytes and len(self._items) > 1:
            _, evicted = self._items.popitem(last=False)
            self._bytes -= evicted.nbytes

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0


class BackgroundLoader(QObject):
    """Decodes views and scans paths in a thread pool; answers through signals."""

    imageLoaded = Signal(int, object, object)  # request id, Path, DisplayImage
    imageFailed = Signal(int, object, str)  # request id, Path, reason
    scanFinished = Signal(int, object)  # request id, Scan
    scanFailed = Signal(int, str)

    def __init__(self, max_threads: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads or max(2, min(4, os.cpu_count() or 2)))
        self.min_request = 0
        # The decoder processes start while the window is built, not at the first image.
        shared_decoder().warm_up()

    def load_images(self, request_id: int, paths: Sequence[Path]) -> None:
        """Decode ``paths`` in order of priority (the first one first)."""
        for rank, path in enumerate(paths):
            self._pool.start(lambda p=path: self._decode(request_id, p), -rank)

    def scan(self, request_id: int, paths: Sequence[Path]) -> None:
        self._pool.start(lambda: self._scan(request_id, list(paths)), 10)

    def shutdown(self) -> None:
        """Drop queued tasks and wait for running ones."""
        self.min_request = 2**62
        self._pool.clear()
        self._pool.waitForDone()

    @property
    def active_threads(self) -> int:
        return self._pool.activeThreadCount()

    def _decode(self, request_id: int, path: Path) -> None:
        if request_id < self.min_request:
            return
        try:
            item = decode_for_display(path)
        except ImageLoadError as exc:
            self.imageFailed.emit(request_id, path, str(exc))
            return
        except Exception as exc:  # one bad file never stops a study; the reason is shown
            log.exception("unexpected error decoding %s", path)
            self.imageFailed.emit(
                request_id, path, f"{path}: unexpected {type(exc).__name__}: {exc}"
            )
            return
        self.imageLoaded.emit(request_id, path, item)

    def _scan(self, request_id: int, paths: list[Path]) -> None:
        from mura_desktop.core.discovery import discover

        try:
            scan = discover(paths)
        except Exception as exc:
            log.exception("scanning %s failed", paths)
            self.scanFailed.emit(request_id, f"{type(exc).__name__}: {exc}")
            return
        self.scanFinished.emit(request_id, scan)
