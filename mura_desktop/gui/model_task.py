"""A call run off the GUI thread for the model dialog (loading, importing, saving a bundle).

``ModelTask`` runs one call in a ``QThread`` and reports its value or its failure through
signals only, telling expected failures (a ``BundleError`` or similar) from bugs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal

log = logging.getLogger(__name__)


class ModelTask(QThread):
    """Runs one call off the GUI thread; reports through signals only."""

    succeeded = Signal(object)
    failed = Signal(str, bool)  # message, expected (a BundleError or similar)

    def __init__(self, call: Callable[[], Any], expected: tuple[type[BaseException], ...]):
        super().__init__()
        self._call = call
        self._expected = expected

    def run(self) -> None:
        try:
            value = self._call()
        except self._expected as exc:
            self.failed.emit(str(exc), True)
        except Exception as exc:
            log.exception("model dialog task failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}", False)
        else:
            self.succeeded.emit(value)
