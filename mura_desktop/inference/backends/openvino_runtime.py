"""The OpenVINO backend (CPU): each member exported once to an IR graph that returns the
logit, the last feature maps and the body-part logits, compiled per precision.

Converting a DenseNet takes tens of seconds, so the IR is kept in the runtime cache (keyed
by bundle hash, network structure and OpenVINO version) and compiled blobs in OpenVINO's
own ``CACHE_DIR``: a second launch only reads files.
"""

from __future__ import annotations

import logging
import os
import secrets
import warnings
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mura_desktop.core.locations import runtime_cache_dir
from mura_desktop.inference.backends import BackendUnavailableError, MemberOutput, bundle_networks
from mura_desktop.inference.backends.cache import bundle_key
from mura_desktop.inference.bundle import ModelBundle
from mura_desktop.inference.network import MuraNet

log = logging.getLogger(__name__)

BATCH = 8
_OV_PRECISION = {"float32": "f32", "bfloat16": "bf16"}


class _Exported(nn.Module):
    """``forward_all`` as the flat tuple a graph can return: logit, maps[, body_part]."""

    def __init__(self, net: MuraNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.net.forward_all(x)
        if out.body_part is None:
            return out.logit, out.maps
        return out.logit, out.maps, out.body_part


@cache
def openvino_unavailable_reason() -> str | None:
    """Why OpenVINO cannot run here (not installed, or no CPU plugin, as in a bundle that
    left the plugins out), or None when it can."""
    if find_spec("openvino") is None:
        return "OpenVINO is not installed (pip install openvino)"
    try:
        import openvino

        devices = openvino.Core().available_devices
    except Exception as exc:
        return f"OpenVINO does not start here ({exc})"
    if "CPU" not in devices:
        return "OpenVINO's CPU plugin is missing"
    return None


def openvino_precisions() -> tuple[str, ...]:
    """The precisions OpenVINO's CPU plugin runs natively here; the first is the reference."""
    import openvino

    capabilities = openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return ("float32", "bfloat16") if "BF16" in capabilities else ("float32",)


def graph_paths(bundle: ModelBundle, cache: Path | None = None) -> list[Path]:
    """Each member's IR graph (``.xml`` beside its ``.bin``), converted now if not cached."""
    import openvino

    folder = (cache or runtime_cache_dir()) / "openvino"
    folder.mkdir(parents=True, exist_ok=True)
    version = openvino.__version__.split("-")[0]
    paths = [
        folder / f"{bundle_key(bundle)}-m{i}-ov{version}.xml" for i in range(len(bundle.members))
    ]
    if not all(path.is_file() for path in paths):
        for net, path in zip(bundle_networks(bundle), paths, strict=True):
            if not path.is_file():
                _convert(net, bundle.input_size, path)
    return paths


def _convert(net: MuraNet, size: int, path: Path) -> None:
    import openvino

    log.info("converting %s for OpenVINO (once per bundle)", path.name)
    example = torch.zeros(1, 3, size, size)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`torch.jit.trace", FutureWarning)  # OpenVINO's own use
        model = openvino.convert_model(
            _Exported(net.eval()), example_input=example, input=[(-1, 3, size, size)]
        )
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.xml")
    # Keep float32 weights: the IR's default fp16 compression would change float32 results.
    openvino.save_model(model, tmp, compress_to_fp16=False)
    os.replace(tmp.with_suffix(".bin"), path.with_suffix(".bin"))
    os.replace(tmp, path)  # the .xml last: its presence means the pair is complete


class OpenVinoBackend:
    """A bundle's members compiled for OpenVINO's CPU plugin."""

    name = "openvino"
    device = torch.device("cpu")
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
        import openvino

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
            "INFERENCE_NUM_THREADS": threads or torch.get_num_threads(),
            # Pinned threads fight whatever else runs on their core (the GUI, say).
            "ENABLE_CPU_PINNING": False,
        }
        self._compiled = [
            core.compile_model(str(path), "CPU", config) for path in graph_paths(bundle, cache)
        ]
        self._requests = [compiled.create_infer_request() for compiled in self._compiled]

    def forward(self, batch: torch.Tensor, *, maps: bool) -> list[MemberOutput]:
        x = np.ascontiguousarray(batch.numpy(), dtype=np.float32)
        outputs = []
        for request in self._requests:
            request.infer({0: x})
            logit = torch.from_numpy(request.get_output_tensor(0).data.copy())
            body_part = (
                torch.from_numpy(request.get_output_tensor(2).data.copy())
                if len(request.model_outputs) > 2
                else None
            )
            fmaps = torch.from_numpy(request.get_output_tensor(1).data.copy()) if maps else None
            outputs.append(MemberOutput(logit=logit, body_part=body_part, maps=fmaps))
        return outputs
