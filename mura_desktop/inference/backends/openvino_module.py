"""OpenVINO for the whole program: imported here, once, without its model converter.

``import openvino`` also imports the converter (``openvino.tools.ovc``) and through it
OpenVINO's telemetry client, urllib and http.client: 0.13 of its 0.21 s, on the first
score's path in the viewer. The program builds its graphs from the weights and never
converts a model, so the converter is hidden while OpenVINO loads (OpenVINO skips it on
ImportError); ``import openvino.tools.ovc`` by name still works afterwards.
"""

from __future__ import annotations

import sys

_CONVERTER = "openvino.tools.ovc"
_hidden = _CONVERTER not in sys.modules and "openvino" not in sys.modules
if _hidden:
    sys.modules[_CONVERTER] = None  # "from openvino.tools.ovc import ..." raises ImportError
try:
    import openvino
    import openvino.opset13 as opset
finally:
    if _hidden:
        del sys.modules[_CONVERTER]

__all__ = ["openvino", "opset"]
