"""The OpenVINO backend (CPU): each member built as an OpenVINO graph from its weights
(``openvino_graph``, no torch), returning the logit, the last feature maps and the
body-part logits, compiled per precision.

Building a graph takes a few hundredths of a second; compiling it is kept in OpenVINO's
own ``CACHE_DIR`` (under the runtime cache), so a second launch only reads the blob.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from mura_desktop.core.locations import runtime_cache_dir
from mura_desktop.inference.backends import BackendUnavailableError, MemberOutput
from mura_desktop.inference.bundle import ModelBundle
from mura_desktop.inference.threads import inference_threads

log = logging.getLogger(__name__)

BATCH = 8
_OV_PRECISION = {"float32": "f32", "bfloat16": "bf16"}


@cache
def openvino_unavailable_reason() -> str | None:
    """Why OpenVINO cannot run here (not installed, or no CPU plugin, as in a bundle that
    left the plugins out), or None when it can."""
    if find_spec("openvino") is None:
        return "OpenVINO is not installed (pip install openvino)"
    try:
        from mura_desktop.inference.backends.openvino_module import openvino

        devices = openvino.Core().available_devices
    except Exception as exc:
        return f"OpenVINO does not start here ({exc})"
    if "CPU" not in devices:
        return "OpenVINO's CPU plugin is missing"
    return None


def openvino_precisions() -> tuple[str, ...]:
    """The precisions OpenVINO's CPU plugin runs natively here; the first is the reference."""
    from mura_desktop.inference.backends.openvino_module import openvino

    capabilities = openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return ("float32", "bfloat16") if "BF16" in capabilities else ("float32",)


class OpenVinoBackend:
    """A bundle's members compiled for OpenVINO's CPU plugin."""

    name = "openvino"
    device = "cpu"
    batch_size = BATCH

    def __init__(
        self,
        bundle: ModelBundle,
        precision: str | None = None,
        *,
        threads: int | None = None,
        cache: Path | None = None,
    ) -> None:
        reason = openvino_unavailable_reason()
        if reason is not None:
            raise BackendUnavailableError(f"the OpenVINO backend cannot be used: {reason}")
        from mura_desktop.inference.backends.openvino_graph import member_graph
        from mura_desktop.inference.backends.openvino_module import openvino

        available = openvino_precisions()
        self.precision = precision or available[0]
        if self.precision not in available:
            raise BackendUnavailableError(
                f"OpenVINO cannot run {self.precision} on this CPU (it can: {', '.join(available)})"
            )
        self.notes: list[str] = []
        cache = cache or runtime_cache_dir()
        core = openvino.Core()
        core.set_property({"CACHE_DIR": str(cache / "openvino-compiled")})
        config = {
            "INFERENCE_PRECISION_HINT": _OV_PRECISION[self.precision],
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": threads or inference_threads() or 0,  # 0: OpenVINO's own
            # Pinned threads fight whatever else runs on their core (the GUI, say).
            "ENABLE_CPU_PINNING": False,
        }
        stride = bundle.output_stride
        graphs = [
            member_graph(bundle.architecture, member, bundle.input_size, output_stride=stride)
            for member in bundle.members
        ]
        self._compiled = [core.compile_model(graph, "CPU", config) for graph in graphs]
        self._requests = [compiled.create_infer_request() for compiled in self._compiled]

    def forward(self, batch: np.ndarray, *, maps: bool) -> list[MemberOutput]:
        x = np.ascontiguousarray(batch, dtype=np.float32)
        outputs = []
        for request in self._requests:
            request.infer({0: x})
            logit = request.get_output_tensor(0).data.copy()
            body_part = (
                request.get_output_tensor(2).data.copy() if len(request.model_outputs) > 2 else None
            )
            fmaps = request.get_output_tensor(1).data.copy() if maps else None
            outputs.append(MemberOutput(logit=logit, body_part=body_part, maps=fmaps))
        return outputs
