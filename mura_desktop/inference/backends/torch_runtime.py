"""The torch backend: CUDA (float16 autocast) or CPU (float32, or bfloat16 autocast).

Members run channels-last on every device (oneDNN and cuDNN both prefer it for these
convolutions). A CUDA error during a forward pass falls back to the CPU once, with a note,
when the device was chosen automatically.
"""

from __future__ import annotations

import contextlib
import logging
import warnings

import numpy as np
import torch

from mura_desktop.inference.backends import MemberOutput, bundle_networks
from mura_desktop.inference.bundle import ModelBundle
from mura_desktop.inference.network import MuraNet
from mura_desktop.inference.threads import apply_to_torch

log = logging.getLogger(__name__)

CPU_BATCH = 8
CUDA_BATCH = 32


def cpu_bfloat16_supported() -> bool:
    """oneDNN has native bfloat16 kernels here (AVX512-BF16 or AMX)."""
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def torch_precisions(device: str | torch.device) -> tuple[str, ...]:
    """The precisions worth trying on ``device``; the first is the reference."""
    if torch.device(device).type == "cuda":
        return ("float16", "float32")
    return ("float32", "bfloat16") if cpu_bfloat16_supported() else ("float32",)


class TorchBackend:
    """A bundle's members as torch modules on one device."""

    name = "torch"

    def __init__(
        self,
        bundle: ModelBundle,
        device: str | torch.device,
        precision: str | None = None,
        *,
        fallback: bool = False,
    ) -> None:
        apply_to_torch()
        self.bundle = bundle
        self._device = torch.device(device)
        self.precision = precision or torch_precisions(device)[0]
        if self.precision not in torch_precisions(device):
            raise ValueError(f"torch cannot run {self.precision} on {device} here")
        self.fallback = fallback
        self.notes: list[str] = []
        self.members: list[MuraNet] = []
        self._place_members()

    @property
    def device(self) -> str:
        return str(self._device)

    @property
    def batch_size(self) -> int:
        return CUDA_BATCH if self._device.type == "cuda" else CPU_BATCH

    def forward(self, batch: np.ndarray, *, maps: bool) -> list[MemberOutput]:
        try:
            return self._run(batch, maps)
        except RuntimeError as exc:
            if self._device.type != "cuda" or not self.fallback:
                raise
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            note = f"CUDA failed during inference ({first_line}); continuing on the CPU"
            warnings.warn(note, RuntimeWarning, stacklevel=2)
            log.warning(note)
            self.notes.append(note)
            self._device = torch.device("cpu")
            self.precision = "float32"
            # The CUDA context may be unusable: rebuild from the bundle, never copy back.
            self._place_members()
            return self._run(batch, maps)

    def _place_members(self) -> None:
        self.members = [
            net.requires_grad_(False).to(self._device, memory_format=torch.channels_last)
            for net in bundle_networks(self.bundle)
        ]

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "float32":
            return contextlib.nullcontext()
        return torch.autocast(self._device.type, dtype=getattr(torch, self.precision))

    def _run(self, batch: np.ndarray, maps: bool) -> list[MemberOutput]:
        outputs = []
        with torch.inference_mode(), self._autocast():
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
            x = x.to(self._device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            for net in self.members:
                out = net.forward_all(x)
                outputs.append(
                    MemberOutput(
                        logit=_numpy(out.logit),
                        body_part=None if out.body_part is None else _numpy(out.body_part),
                        maps=_numpy(out.maps) if maps else None,
                    )
                )
        return outputs


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.float().cpu().contiguous().numpy()
