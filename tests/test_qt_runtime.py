"""Guards against Qt bindings with known-fatal bugs (e.g. PySide6 6.12.0's Signal.emit leak)."""

import subprocess
import sys

import pytest

SCRIPT = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal
app = QCoreApplication([])
class Emitter(QObject):
    value = Signal(int)
    flag = Signal(bool)
e = Emitter()
e.value.connect(lambda v: None)
e.flag.connect(lambda v: None)
before = sys.getrefcount(True)
for i in range(3000):
    e.value.emit(i)
    e.flag.emit(True)
print(sys.getrefcount(True) - before)
"""


def test_signal_emission_does_not_leak_or_abort():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"Qt bindings crashed on signal emission:\n{out.stderr[-2000:]}"
    assert abs(int(out.stdout.strip())) < 50, "Signal.emit changes the refcount of True"


def test_cycles_are_collected_on_the_gui_thread_only(qapp):
    """The automatic collector is off once the viewer's collector is installed; the timer
    on the GUI thread collects what cycles leave (gui/gui_gc.py)."""
    import gc
    import weakref

    from mura_desktop.gui.gui_gc import collect_on_gui_thread

    collector = collect_on_gui_thread(qapp)
    assert collect_on_gui_thread(qapp) is collector and not gc.isenabled()

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    for _ in range(collector.thresholds[0] + 1):  # allocations past the first threshold
        Node()
    kept = [Node() for _ in range(collector.thresholds[0] + 1)]
    assert gone() is not None  # nothing collected it behind the GUI thread's back
    assert collector.collect_if_due() is not None
    assert gone() is None
    del kept


def test_a_full_collection_waits_until_the_old_generation_has_grown_by_a_quarter(qapp):
    import gc

    from mura_desktop.gui.gui_gc import collect_on_gui_thread

    collector = collect_on_gui_thread(qapp)
    t0, t1, t2 = collector.thresholds

    def every_generation_due() -> list[object]:
        for _ in range(t2 + 1):
            gc.collect(1)
        for _ in range(t1 + 1):
            gc.collect(0)
        return [[] for _ in range(2 * t0)]

    collector.long_lived, collector.pending = 1_000_000, 1_000
    kept = every_generation_due()
    assert collector.collect_if_due() == 1  # due by count, but the old generation barely grew
    assert collector.pending >= len(kept)  # what survived counts towards the next one
    collector.pending = 250_001
    more = every_generation_due()
    assert collector.collect_if_due() == 2
    assert collector.pending == 0
    assert collector.long_lived == pytest.approx(len(gc.get_objects(generation=2)), abs=10)
    del kept, more
