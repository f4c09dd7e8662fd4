"""OpenVINO for the whole program: imported here, once, without its model converter.

``import openvino`` also imports the converter (``openvino.tools.ovc``) and through it
OpenVINO's telemetry client, urllib and http.client: 0.13 of its 0.21 s, on the first
score's path in the viewer. The program builds its graphs from the weights and never
converts a model, so the converter is hidden while OpenVINO loads (OpenVINO skips it on
ImportError); ``import openvino.tools.ovc`` by name still works afterwards.
"""

from __future__ import annotations

from mura_desktop.core.hidden_imports import hidden_module

with hidden_module("openvino.tools.ovc"):
    import openvino
    import openvino.opset13 as opset

__all__ = ["openvino", "opset"]
