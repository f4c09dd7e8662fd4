"""A bundle member as an OpenVINO graph, built from its weights with OpenVINO's operators.

No torch and no tracing: the graph is written from ``architectures``' description of the
network (torchvision's DenseNets and ResNet-50, either output stride) and returns what
``MuraNet.forward_all`` returns — the abnormality logit, the last feature maps (so class
activation maps stay exact) and the body-part logits when the bundle has that head.
``tests/test_openvino_graph.py`` holds it to the torch network.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mura_desktop.inference.architectures import DENSENET_BLOCKS, RESNET50_BLOCKS
from mura_desktop.inference.backends.openvino_module import openvino as ov
from mura_desktop.inference.backends.openvino_module import opset as ops

BATCH_NORM_EPS = 1e-5  # torchvision's
Node = ov.Output


class _Builder:
    def __init__(self, weights: Mapping[str, np.ndarray]) -> None:
        self.weights = weights

    def constant(self, name: str) -> ov.Node:
        return ops.constant(np.ascontiguousarray(self.weights[name], dtype=np.float32))

    def conv(self, x: Node, name: str, stride: int = 1, pad: int = 0, dilation: int = 1) -> Node:
        return ops.convolution(
            x, self.constant(f"{name}.weight"), strides=[stride] * 2, pads_begin=[pad] * 2,
            pads_end=[pad] * 2, dilations=[dilation] * 2,
        ).output(0)  # fmt: skip

    def norm(self, x: Node, name: str) -> Node:
        return ops.batch_norm_inference(
            x, self.constant(f"{name}.weight"), self.constant(f"{name}.bias"),
            self.constant(f"{name}.running_mean"), self.constant(f"{name}.running_var"),
            BATCH_NORM_EPS,
        ).output(0)  # fmt: skip

    def norm_relu(self, x: Node, name: str) -> Node:
        return ops.relu(self.norm(x, name)).output(0)

    def linear(self, x: Node, name: str) -> Node:
        product = ops.matmul(x, self.constant(f"{name}.weight"), False, True)
        return ops.add(product, self.constant(f"{name}.bias")).output(0)


def _stem(b: _Builder, x: Node, conv: str, norm: str) -> Node:
    x = b.norm_relu(b.conv(x, conv, stride=2, pad=3), norm)
    return ops.max_pool(
        x, strides=[2, 2], dilations=[1, 1], pads_begin=[1, 1], pads_end=[1, 1],
        kernel_shape=[3, 3], rounding_type="floor",
    ).output(0)  # fmt: skip


def _densenet(b: _Builder, x: Node, architecture: str, output_stride: int) -> Node:
    x = _stem(b, x, "features.conv0", "features.norm0")
    blocks = DENSENET_BLOCKS[architecture]
    for index, layers in enumerate(blocks, 1):
        dilation = 2 if output_stride == 16 and index == len(blocks) else 1
        for layer in range(1, layers + 1):
            name = f"features.denseblock{index}.denselayer{layer}"
            y = b.conv(b.norm_relu(x, f"{name}.norm1"), f"{name}.conv1")
            y = b.conv(b.norm_relu(y, f"{name}.norm2"), f"{name}.conv2", pad=dilation,
                       dilation=dilation)  # fmt: skip
            x = ops.concat([x, y], axis=1).output(0)
        if index < len(blocks):
            name = f"features.transition{index}"
            x = b.conv(b.norm_relu(x, f"{name}.norm"), f"{name}.conv")
            if not (output_stride == 16 and index == len(blocks) - 1):
                x = ops.avg_pool(
                    x, strides=[2, 2], pads_begin=[0, 0], pads_end=[0, 0], kernel_shape=[2, 2],
                    exclude_pad=True, rounding_type="floor",
                ).output(0)  # fmt: skip
    return b.norm_relu(x, "features.norm5")  # MuraNet's final ReLU


def _resnet50(b: _Builder, x: Node, output_stride: int) -> Node:
    x = _stem(b, x, "features.conv1", "features.bn1")
    for stage, blocks in enumerate(RESNET50_BLOCKS, 1):
        dilated = output_stride == 16 and stage == 4  # torchvision's replace_stride_with_dilation
        for block in range(blocks):
            name = f"features.layer{stage}.{block}"
            stride = 2 if stage > 1 and block == 0 and not dilated else 1
            dilation = 2 if dilated and block > 0 else 1
            y = b.norm_relu(b.conv(x, f"{name}.conv1"), f"{name}.bn1")
            y = b.conv(y, f"{name}.conv2", stride=stride, pad=dilation, dilation=dilation)
            y = b.norm(b.conv(b.norm_relu(y, f"{name}.bn2"), f"{name}.conv3"), f"{name}.bn3")
            if block == 0:
                x = b.norm(b.conv(x, f"{name}.downsample.0", stride=stride),
                           f"{name}.downsample.1")  # fmt: skip
            x = ops.relu(ops.add(y, x)).output(0)
    return x


def member_graph(
    architecture: str,
    member: Mapping[str, np.ndarray],
    input_size: int,
    *,
    output_stride: int = 32,
) -> ov.Model:
    """The network of one member: input (N, 3, S, S) float32; outputs logit (N,), maps
    (N, C, h, w) and, with a body-part head in ``member``, body-part logits (N, 7)."""
    b = _Builder(member)
    image = ops.parameter(ov.PartialShape([-1, 3, input_size, input_size]), ov.Type.f32)
    if architecture == "resnet50":
        maps = _resnet50(b, image.output(0), output_stride)
    else:
        maps = _densenet(b, image.output(0), architecture, output_stride)
    pooled = ops.reduce_mean(maps, ops.constant(np.array([2, 3], np.int64)), False).output(0)
    logit = ops.squeeze(b.linear(pooled, "classifier"), ops.constant(np.array([1], np.int64)))
    outputs = [ops.result(logit), ops.result(maps)]
    if "body_part.weight" in member:
        outputs.append(ops.result(b.linear(pooled, "body_part")))
    model = ov.Model(outputs, [image], f"mura-{architecture}")
    # Operators and tensors are named from a process-wide counter; fixed names give the
    # same graph the same hash, which is what OpenVINO's compiled-model cache is keyed by.
    for index, op in enumerate(model.get_ordered_ops()):
        op.set_friendly_name(f"op{index}")
        for port, output in enumerate(op.outputs()):
            output.set_names({f"op{index}:{port}"})
    image.output(0).set_names({"image"})
    for name, result in zip(("logit", "maps", "body_part"), outputs, strict=False):
        result.input_value(0).set_names({name})
    return model
