"""The torch-free description of the networks (``inference.architectures``) against the
networks torch builds: every tensor name, shape and order, and the feature grid."""

from __future__ import annotations

import pytest
import torch

from mura_desktop.inference.architectures import (
    ARCHITECTURES,
    OUTPUT_STRIDES,
    expected_shapes,
    feature_grid,
)
from mura_desktop.inference.network import build_network


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("head", [False, True])
def test_tensor_names_and_shapes_are_torchvisions(architecture: str, head: bool) -> None:
    with torch.device("meta"):
        net = build_network(architecture, body_part_head=head)
    built = [(name, tuple(t.shape)) for name, t in net.state_dict().items()]
    assert list(expected_shapes(architecture, head).items()) == built


@pytest.mark.parametrize("architecture", ["densenet121", "resnet50"])
@pytest.mark.parametrize("output_stride", OUTPUT_STRIDES)
def test_feature_grid_is_that_of_a_forward_pass(architecture: str, output_stride: int) -> None:
    with torch.device("meta"):
        net = build_network(architecture, output_stride=output_stride).eval()
        for size in (32, 63, 64, 65, 127, 128, 192, 224, 250, 320, 333):
            maps = net.features(torch.empty(1, 3, size, size))
            grid = (int(maps.shape[-2]), int(maps.shape[-1]))
            assert feature_grid(architecture, size, output_stride) == grid, size


def test_unknown_architecture_and_stride_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown architecture 'vgg16'"):
        expected_shapes("vgg16")
    with pytest.raises(ValueError, match="output stride 8"):
        feature_grid("densenet121", 224, 8)
