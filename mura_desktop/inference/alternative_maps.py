"""Gradient-weighted heatmaps from ``grad-cam`` (jacobgil/pytorch-grad-cam), as an option.

The viewer's default map is the exact class activation map (``cam``): it needs no
backward pass and its mean plus the bias is the logit. The maps here need one backward
pass per view and explain nothing exactly; they are offered because an earlier block
has finer cells (LayerCAM on DenseNet's third dense block: 16 px cells at stride 16 of
the input, whatever the network's output stride). Each carries a label that says so.

Importing this module loads grad-cam and what it imports (OpenCV headless, matplotlib,
scikit-learn): the viewer imports it only when such a map is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from pytorch_grad_cam import GradCAMPlusPlus, LayerCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from mura_desktop.core.display import EXACT_MAP, MAP_KINDS
from mura_desktop.inference.backends import bundle_networks
from mura_desktop.inference.bundle import ModelBundle
from mura_desktop.inference.cam import display_heatmap
from mura_desktop.inference.network import MuraNet
from mura_desktop.inference.preprocess import preprocess_batch

# name -> the label shown wherever such a map is drawn
ALTERNATIVE_MAPS: dict[str, str] = {k: v for k, v in MAP_KINDS.items() if k != EXACT_MAP}


class _LogitColumn(nn.Module):
    """The network's abnormality logit as a (N, 1) "class score", as grad-cam expects."""

    def __init__(self, net: MuraNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[:, None]


def _target_layer(net: MuraNet, method: str) -> nn.Module:
    earlier = method == "layercam"
    if net.architecture.startswith("densenet"):
        return net.features.denseblock3 if earlier else net.features.norm5
    return net.features.layer3 if earlier else net.features.layer4


def alternative_maps(net: MuraNet, batch: torch.Tensor, method: str) -> np.ndarray:
    """``method``'s maps (a key of ``ALTERNATIVE_MAPS``) of a preprocessed ``batch``
    (N, 3, S, S): float32 (N, S, S), min-max normalised per image by grad-cam."""
    if method not in ALTERNATIVE_MAPS:
        raise ValueError(f"unknown map {method!r}: choose one of {', '.join(ALTERNATIVE_MAPS)}")
    kind = LayerCAM if method == "layercam" else GradCAMPlusPlus
    net = net.requires_grad_(True).eval()
    with kind(model=_LogitColumn(net), target_layers=[_target_layer(net, method)]) as cam:
        maps = cam(input_tensor=batch, targets=[ClassifierOutputTarget(0)] * len(batch))
    return np.asarray(maps, dtype=np.float32)


def alternative_heatmaps(
    bundle: ModelBundle, images: Sequence[np.ndarray], method: str
) -> list[np.ndarray]:
    """Heatmaps of gray ``images`` (float (H, W) in [0, 1]) drawn like the viewer's: each
    at its image's shape, in [0, 1], the mean over the bundle's members. CPU, float32."""
    batch = torch.from_numpy(
        preprocess_batch(list(images), bundle.input_size, bundle.mean, bundle.std)
    )
    per_member = [alternative_maps(net, batch, method) for net in bundle_networks(bundle)]
    stacked = np.stack(per_member, axis=1)  # (N, members, S, S)
    return [display_heatmap(maps, image.shape) for maps, image in zip(stacked, images, strict=True)]
