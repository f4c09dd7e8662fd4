"""Python's cyclic garbage collector runs on the GUI thread only.

A Qt object must be destroyed on the thread that owns it. When Python's automatic
collector runs, it runs in whichever thread happens to allocate, so a window or dialog
held in a reference cycle can be torn down from the inference or loader thread, and Qt
crashes (seen: a closed window collected while OpenVINO converted a model in the worker
thread). So the automatic collector is switched off and a timer on the GUI thread collects
with the same generational thresholds; reference counting frees everything else at once.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 250


class GuiThreadCollector(QObject):
    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.long_lived = len(gc.get_objects(generation=2))
        self.pending = 0  # objects moved into the oldest generation since its last collection
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.collect_if_due)
        self._timer.start()

    def collect_if_due(self) -> int | None:
        """Collect the oldest generation whose count is over its threshold; the generation
        collected, or None.

        The oldest generation also waits, as in CPython's own collector, until what moved
        into it since its last collection is a quarter of what it held then: a full
        collection walks every object (a quarter of a second with torch loaded), and
        without that rule it would run every few seconds while studies are scored.
        """
        counts = gc.get_count()
        if counts[0] <= self.thresholds[0]:
            return None
        if counts[1] <= self.thresholds[1]:
            gc.collect(0)
            return 0
        if counts[2] > self.thresholds[2] and self.pending > self.long_lived / 4:
            gc.collect(2)
            self.long_lived, self.pending = len(gc.get_objects(generation=2)), 0
            return 2
        young = len(gc.get_objects(generation=0)) + len(gc.get_objects(generation=1))
        self.pending += max(young - gc.collect(1), 0)  # the survivors move up
        return 1


def collect_on_gui_thread(app: QCoreApplication) -> GuiThreadCollector:
    """Install the collector on ``app`` (once)."""
    existing = app.findChild(GuiThreadCollector)
    return existing if existing is not None else GuiThreadCollector(app)
