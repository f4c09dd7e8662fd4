"""pyqtgraph for the whole viewer: imported here, once, and configured as the viewer draws.

pyqtgraph's RawImageWidget, which the viewer does not use, imports CUDA's Python bindings
when they are installed (torch's ``cuda-bindings``: 0.1-0.25 s of the window's start-up).
They are hidden while pyqtgraph loads; torch imports them as usual afterwards.
"""

from __future__ import annotations

import sys

_CUDA = "cuda.bindings"
_hidden = _CUDA not in sys.modules
if _hidden:
    sys.modules[_CUDA] = None  # "import cuda.bindings" raises ImportError
try:
    import pyqtgraph as pg
finally:
    if _hidden:
        del sys.modules[_CUDA]

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

__all__ = ["pg"]
