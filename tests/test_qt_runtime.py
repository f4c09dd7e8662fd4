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
