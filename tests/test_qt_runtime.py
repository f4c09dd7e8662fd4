"""Guards against Qt bindings with known-fatal bugs (e.g. PySide6 6.12.0's Signal.emit leak)."""

import subprocess
import sys

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
