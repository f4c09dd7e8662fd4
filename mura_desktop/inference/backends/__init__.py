"""Inference runtimes behind one seam: torch (CUDA and CPU) and OpenVINO (CPU).

Every backend runs all members of a bundle on a preprocessed batch and returns, per
member, the abnormality logit, the body-part logits (when the bundle has that head) and
the last feature maps, so class activation maps stay exact whichever runtime computed
them. ``choice.open_backend`` picks one; ``agreement`` is the accuracy guard that decides
which precisions ``auto`` may pick. Batches and outputs are numpy arrays: only the torch
backend imports torch, so OpenVINO scores without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from mura_desktop.inference.bundle import ModelBundle
    from mura_desktop.inference.network import MuraNet

BACKEND_CHOICES = ("auto", "torch", "openvino")
PRECISION_CHOICES = ("auto", "float32", "bfloat16", "float16")


class BackendUnavailableError(ValueError):
    """The backend asked for cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class MemberOutput:
    """One member's outputs on a batch of N views, float32 numpy arrays.

    ``logit`` (N,); ``body_part`` (N, 7) logits or None; ``maps`` (N, C, h, w), the input of
    the global average pool, or None when they were not asked for.
    """

    logit: np.ndarray
    body_part: np.ndarray | None
    maps: np.ndarray | None


class Backend(Protocol):
    """What the predictor needs of a runtime. Driven by one thread at a time."""

    name: str  # "torch" or "openvino"
    precision: str  # "float32", "bfloat16" or "float16"
    device: str  # "cpu", "cuda:0", ...
    batch_size: int  # views per forward pass that keep the device busy
    notes: list[str]  # things the user should know (a fallback, say)

    def forward(self, batch: np.ndarray, *, maps: bool) -> list[MemberOutput]: ...


def bundle_networks(bundle: ModelBundle) -> list[MuraNet]:
    """The bundle's members as torch networks, built as the bundle describes them (heads,
    output stride)."""
    from mura_desktop.inference.network import network_from_state_dict

    head = bundle.body_parts is not None
    return [
        network_from_state_dict(
            bundle.architecture, member, body_part_head=head, output_stride=bundle.output_stride
        )
        for member in bundle.members
    ]


def flip_averaged(plain: MemberOutput, mirrored: MemberOutput) -> MemberOutput:
    """Test-time flip averaging of one member's outputs: ``mirrored`` ran on the images
    mirrored left-right, so its maps are flipped back before averaging. The heads are linear
    in the pooled maps, so a CAM of the averaged maps stays exact for the averaged logit."""
    return MemberOutput(
        logit=(plain.logit + mirrored.logit) / 2,
        body_part=None if plain.body_part is None else (plain.body_part + mirrored.body_part) / 2,
        maps=None if plain.maps is None else (plain.maps + mirrored.maps[..., ::-1]) / 2,
    )


def describe(backend: Backend) -> str:
    """``"openvino bfloat16 on cpu"``: what the user sees as the model's runtime."""
    return f"{backend.name} {backend.precision} on {backend.device}"
