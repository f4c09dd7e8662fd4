"""The supported networks' layouts, without torch: tensor names and shapes, feature grids.

These are torchvision's DenseNet-121/169/201 (growth rate 32, bottleneck width 4 × 32,
64 initial features) and ResNet-50 (bottlenecks 3-4-6-3) under ``MuraNet``'s names, plus
the heads. A bundle is validated, and the OpenVINO graph is built, from this description
alone, so neither needs torch; ``tests/test_architectures.py`` holds it to torchvision's.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from mura_desktop.core.study import BODY_PARTS

ARCHITECTURES: tuple[str, ...] = ("densenet121", "densenet169", "densenet201", "resnet50")
# Input pixels per feature-map cell: 32 is torchvision's; 16 keeps the last stage at twice
# the resolution (finer heatmaps) with the same parameters, so the same weights load.
OUTPUT_STRIDES: tuple[int, ...] = (32, 16)

DENSENET_BLOCKS: dict[str, tuple[int, ...]] = {
    "densenet121": (6, 12, 24, 16),
    "densenet169": (6, 12, 32, 32),
    "densenet201": (6, 12, 48, 32),
}
GROWTH = 32
BOTTLENECK = 4 * GROWTH
STEM = 64
RESNET50_BLOCKS = (3, 4, 6, 3)
RESNET_WIDTHS = (64, 128, 256, 512)
BOTTLENECK_EXPANSION = 4


def check(architecture: str, output_stride: int = 32) -> None:
    """Raise ``ValueError`` for an architecture or output stride this program cannot build."""
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {architecture!r}; supported: {', '.join(ARCHITECTURES)}"
        )
    if output_stride not in OUTPUT_STRIDES or isinstance(output_stride, bool):
        raise ValueError(f"output stride {output_stride!r}: choose one of {OUTPUT_STRIDES}")


def densenet_channels(architecture: str) -> list[tuple[int, int]]:
    """Per dense block: the channels it receives and the channels it hands on."""
    channels, out = STEM, []
    for layers in DENSENET_BLOCKS[architecture]:
        grown = channels + layers * GROWTH
        out.append((channels, grown))
        channels = grown // 2
    return out


def feature_channels(architecture: str) -> int:
    """Channels of the last feature maps (the classifier's inputs)."""
    if architecture == "resnet50":
        return RESNET_WIDTHS[-1] * BOTTLENECK_EXPANSION
    return densenet_channels(architecture)[-1][1]


@cache
def expected_shapes(
    architecture: str, body_part_head: bool = False
) -> Mapping[str, tuple[int, ...]]:
    """Name -> shape of every tensor in a ``MuraNet`` state_dict, in torchvision's order."""
    check(architecture)
    shapes: dict[str, tuple[int, ...]] = {}

    def batch_norm(name: str, channels: int) -> None:
        for part in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.{part}"] = (channels,)
        shapes[f"{name}.num_batches_tracked"] = ()

    if architecture == "resnet50":
        shapes["features.conv1.weight"] = (STEM, 3, 7, 7)
        batch_norm("features.bn1", STEM)
        inplanes = STEM
        stages = zip(RESNET50_BLOCKS, RESNET_WIDTHS, strict=True)
        for stage, (blocks, width) in enumerate(stages, 1):
            out = width * BOTTLENECK_EXPANSION
            for block in range(blocks):
                name = f"features.layer{stage}.{block}"
                shapes[f"{name}.conv1.weight"] = (width, inplanes, 1, 1)
                batch_norm(f"{name}.bn1", width)
                shapes[f"{name}.conv2.weight"] = (width, width, 3, 3)
                batch_norm(f"{name}.bn2", width)
                shapes[f"{name}.conv3.weight"] = (out, width, 1, 1)
                batch_norm(f"{name}.bn3", out)
                if block == 0:
                    shapes[f"{name}.downsample.0.weight"] = (out, inplanes, 1, 1)
                    batch_norm(f"{name}.downsample.1", out)
                inplanes = out
    else:
        shapes["features.conv0.weight"] = (STEM, 3, 7, 7)
        batch_norm("features.norm0", STEM)
        blocks = densenet_channels(architecture)
        for index, ((channels, grown), layers) in enumerate(
            zip(blocks, DENSENET_BLOCKS[architecture], strict=True), 1
        ):
            for layer in range(layers):
                name = f"features.denseblock{index}.denselayer{layer + 1}"
                batch_norm(f"{name}.norm1", channels + layer * GROWTH)
                shapes[f"{name}.conv1.weight"] = (BOTTLENECK, channels + layer * GROWTH, 1, 1)
                batch_norm(f"{name}.norm2", BOTTLENECK)
                shapes[f"{name}.conv2.weight"] = (GROWTH, BOTTLENECK, 3, 3)
            if index < len(blocks):
                name = f"features.transition{index}"
                batch_norm(f"{name}.norm", grown)
                shapes[f"{name}.conv.weight"] = (grown // 2, grown, 1, 1)
        batch_norm("features.norm5", blocks[-1][1])
    features = feature_channels(architecture)
    shapes["classifier.weight"] = (1, features)
    shapes["classifier.bias"] = (1,)
    if body_part_head:
        shapes["body_part.weight"] = (len(BODY_PARTS), features)
        shapes["body_part.bias"] = (len(BODY_PARTS),)
    return MappingProxyType(shapes)


@cache
def feature_grid(architecture: str, input_size: int, output_stride: int = 32) -> tuple[int, int]:
    """(h, w) of the last feature maps for a square ``input_size`` input."""
    check(architecture, output_stride)
    side = (input_size + 2 * 3 - 7) // 2 + 1  # 7×7 stem, stride 2, padding 3
    side = (side + 2 * 1 - 3) // 2 + 1  # 3×3 max pool, stride 2, padding 1
    halvings = 3 if output_stride == 32 else 2
    for _ in range(halvings):
        # DenseNet: 2×2 average pool, stride 2; ResNet: stride-2 3×3 convolution, padding 1
        side = side // 2 if architecture != "resnet50" else (side - 1) // 2 + 1
    return side, side
