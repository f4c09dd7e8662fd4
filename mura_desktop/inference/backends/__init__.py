"""Inference runtimes behind one seam: torch (CUDA and CPU) and OpenVINO (CPU).

Every backend runs all members of a bundle on a preprocessed batch and returns, per
member, the abnormality logit, the body-part logits (when the bundle has that head) and
the last feature maps, so class activation maps stay exact whichever runtime computed
them. ``choice.open_backend`` picks one; ``agreement`` is the accuracy guard that decides
which precisions ``auto`` may pick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the choices below are read by the CLI's parser, before torch loads
    import torch

BACKEND_CHOICES = ("auto", "torch", "openvino")
PRECISION_CHOICES = ("auto", "float32", "bfloat16", "float16")


class BackendUnavailableError(ValueError):
    """The backend asked for cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class MemberOutput:
    """One member's outputs on a batch of N views, float32 on the CPU.

    ``logit`` (N,); ``body_part`` (N, 7) logits or None; ``maps`` (N, C, h, w), the input of
    the global average pool, or None when they were not asked for.
    """

    logit: torch.Tensor
    body_part: torch.Tensor | None
    maps: torch.Tensor | None


class Backend(Protocol):
    """What the predictor needs of a runtime. Driven by one thread at a time."""

    name: str  # "torch" or "openvino"
    precision: str  # "float32", "bfloat16" or "float16"
    device: torch.device
    batch_size: int  # views per forward pass that keep the device busy
    notes: list[str]  # things the user should know (a fallback, say)

    def forward(self, batch: torch.Tensor, *, maps: bool) -> list[MemberOutput]: ...


def describe(backend: Backend) -> str:
    """``"openvino bfloat16 on cpu"``: what the user sees as the model's runtime."""
    return f"{backend.name} {backend.precision} on {backend.device}"
