"""pyqtgraph for the whole viewer: imported here, once, and configured as the viewer draws.

pyqtgraph's RawImageWidget, which the viewer does not use, imports CUDA's Python bindings
when they are installed (torch's ``cuda-bindings``: 0.1-0.25 s of the window's start-up).
They are hidden while pyqtgraph loads; torch imports them as usual afterwards.
"""

from __future__ import annotations

from mura_desktop.core.hidden_imports import hidden_module

with hidden_module("cuda.bindings"):
    import pyqtgraph as pg

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

__all__ = ["pg"]
