"""The classification network: a torchvision trunk, global average pooling and linear heads.

``MuraNet.features`` is the convolutional trunk. For DenseNets it is exactly torchvision's
``features`` module, so a torchvision DenseNet ``state_dict`` (``features.*``,
``classifier.*``) loads directly; for ResNet-50 it is the stem and the four stages under
their torchvision names (``features.conv1``, ..., ``features.layer4``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from mura_desktop.core.study import BODY_PARTS

ARCHITECTURES: tuple[str, ...] = ("densenet121", "densenet169", "densenet201", "resnet50")

_RESNET_TRUNK = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")


class NetOutput(NamedTuple):
    """Everything one forward pass yields.

    ``logit``: abnormality logits (N,); ``body_part``: body-part logits (N, 7) in
    ``BODY_PARTS`` order, or None without that head; ``maps``: the last feature maps
    (N, C, h, w) after the final ReLU, the input of the global average pool.
    """

    logit: torch.Tensor
    body_part: torch.Tensor | None
    maps: torch.Tensor


class MuraNet(nn.Module):
    """Trunk -> (ReLU) -> global average pool -> ``classifier`` (1 logit) [+ ``body_part``]."""

    def __init__(
        self,
        architecture: str,
        features: nn.Module,
        n_features: int,
        *,
        final_relu: bool,
        body_part_head: bool = False,
    ) -> None:
        super().__init__()
        self.architecture = architecture
        self.features = features
        self.final_relu = final_relu
        self.classifier = nn.Linear(n_features, 1)
        self.body_part = nn.Linear(n_features, len(BODY_PARTS)) if body_part_head else None

    @property
    def n_features(self) -> int:
        return self.classifier.in_features

    def forward_all(self, x: torch.Tensor) -> NetOutput:
        """Logits of every head plus the feature maps the class activation maps need."""
        maps = self.features(x)
        if self.final_relu:
            maps = F.relu(maps)
        pooled = torch.flatten(F.adaptive_avg_pool2d(maps, 1), 1)
        logit = self.classifier(pooled).squeeze(1)
        body_part = self.body_part(pooled) if self.body_part is not None else None
        return NetOutput(logit, body_part, maps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Abnormality logits, shape (N,)."""
        return self.forward_all(x).logit


def build_network(
    architecture: str,
    *,
    body_part_head: bool = False,
    weights: Any = None,
) -> MuraNet:
    """Build a ``MuraNet`` on a torchvision trunk.

    Parameters
    ----------
    architecture
        One of ``ARCHITECTURES``.
    body_part_head
        Add a 7-way body-part classifier next to the abnormality logit.
    weights
        Passed to the torchvision builder (e.g. ``"IMAGENET1K_V1"``) to initialise the trunk;
        the heads are always freshly initialised. ``None`` (the default) downloads nothing.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {architecture!r}; supported: {', '.join(ARCHITECTURES)}"
        )
    base = getattr(torchvision.models, architecture)(weights=weights)
    if architecture.startswith("densenet"):
        return MuraNet(
            architecture,
            base.features,
            base.classifier.in_features,
            final_relu=True,
            body_part_head=body_part_head,
        )
    trunk = nn.Sequential(OrderedDict((name, getattr(base, name)) for name in _RESNET_TRUNK))
    # ResNet's last bottleneck already ends in a ReLU.
    return MuraNet(
        architecture, trunk, base.fc.in_features, final_relu=False, body_part_head=body_part_head
    )


def network_from_state_dict(
    architecture: str,
    state_dict: dict[str, torch.Tensor],
    *,
    body_part_head: bool = False,
) -> MuraNet:
    """A network holding ``state_dict``'s tensors, built without random initialisation.

    The network is built on the meta device and the tensors are assigned (not copied);
    ``load_state_dict`` is strict, so missing, extra or misshapen tensors raise.
    """
    with torch.device("meta"):
        net = build_network(architecture, body_part_head=body_part_head)
    net.load_state_dict(state_dict, strict=True, assign=True)
    return net.eval()


@cache
def expected_shapes(
    architecture: str, body_part_head: bool = False
) -> Mapping[str, tuple[int, ...]]:
    """Name -> shape of every tensor in the state_dict of ``build_network(architecture)``."""
    with torch.device("meta"):
        net = build_network(architecture, body_part_head=body_part_head)
    return MappingProxyType({name: tuple(t.shape) for name, t in net.state_dict().items()})
