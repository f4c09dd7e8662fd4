"""The classification network: a torchvision trunk, global average pooling and linear heads.

``MuraNet.features`` is the convolutional trunk. For DenseNets it is exactly torchvision's
``features`` module, so a torchvision DenseNet ``state_dict`` (``features.*``,
``classifier.*``) loads directly; for ResNet-50 it is the stem and the four stages under
their torchvision names (``features.conv1``, ..., ``features.layer4``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from mura_desktop.core.study import BODY_PARTS
from mura_desktop.inference.architectures import check

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

    def forward_all(self, x: torch.Tensor, *, flip_average: bool = False) -> NetOutput:
        """Logits of every head plus the feature maps the class activation maps need.

        ``flip_average``: also run each image mirrored left-right and average the two
        passes: logits, and maps with the mirrored pass's maps flipped back. The heads are
        linear in the pooled maps, so a CAM of the averaged maps stays exact for the
        averaged logit.
        """
        if flip_average:
            both = self.forward_all(torch.cat([x, x.flip(-1)]))
            n = x.shape[0]
            return NetOutput(
                (both.logit[:n] + both.logit[n:]) / 2,
                None if both.body_part is None else (both.body_part[:n] + both.body_part[n:]) / 2,
                (both.maps[:n] + both.maps[n:].flip(-1)) / 2,
            )
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


def dilate_last_stage(features: nn.Module) -> None:
    """Output stride 16 for a torchvision DenseNet trunk, in place, without new parameters.

    The last transition's 2×2 average pool goes, and every 3×3 convolution of the last
    dense block is dilated by 2 (padding 2), so it sees the same extent of the image as
    before on a twice finer grid (Yu & Koltun 2016's recipe, as in DeepLab's backbones).
    """
    features.transition3.pool = nn.Identity()
    for module in features.denseblock4.modules():
        if isinstance(module, nn.Conv2d) and module.kernel_size == (3, 3):
            module.dilation, module.padding = (2, 2), (2, 2)


def build_network(
    architecture: str,
    *,
    body_part_head: bool = False,
    weights: Any = None,
    output_stride: int = 32,
) -> MuraNet:
    """Build a ``MuraNet`` on a torchvision trunk.

    Parameters
    ----------
    architecture
        One of ``architectures.ARCHITECTURES``.
    body_part_head
        Add a 7-way body-part classifier next to the abnormality logit.
    weights
        Passed to the torchvision builder (e.g. ``"IMAGENET1K_V1"``) to initialise the trunk;
        the heads are always freshly initialised. ``None`` (the default) downloads nothing.
    output_stride
        One of ``architectures.OUTPUT_STRIDES``: 16 dilates the last stage
        (``dilate_last_stage``; for ResNet-50 torchvision's ``replace_stride_with_dilation``).
    """
    check(architecture, output_stride)
    dilated = output_stride == 16
    if architecture.startswith("densenet"):
        base = getattr(torchvision.models, architecture)(weights=weights)
        if dilated:
            dilate_last_stage(base.features)
        return MuraNet(
            architecture,
            base.features,
            base.classifier.in_features,
            final_relu=True,
            body_part_head=body_part_head,
        )
    base = torchvision.models.resnet50(
        weights=weights, replace_stride_with_dilation=[False, False, dilated]
    )
    trunk = nn.Sequential(OrderedDict((name, getattr(base, name)) for name in _RESNET_TRUNK))
    # ResNet's last bottleneck already ends in a ReLU.
    return MuraNet(
        architecture, trunk, base.fc.in_features, final_relu=False, body_part_head=body_part_head
    )


def network_from_state_dict(
    architecture: str,
    state_dict: Mapping[str, np.ndarray | torch.Tensor],
    *,
    body_part_head: bool = False,
    output_stride: int = 32,
) -> MuraNet:
    """A network holding ``state_dict``'s tensors, built without random initialisation.

    The network is built on the meta device and the tensors are assigned (numpy arrays,
    as a bundle holds them, are shared, not copied); ``load_state_dict`` is strict, so
    missing, extra or misshapen tensors raise.
    """
    tensors = {
        name: torch.from_numpy(value) if isinstance(value, np.ndarray) else value
        for name, value in state_dict.items()
    }
    with torch.device("meta"):
        net = build_network(
            architecture, body_part_head=body_part_head, output_stride=output_stride
        )
    net.load_state_dict(tensors, strict=True, assign=True)
    return net.eval()
