"""The OpenVINO graph built from a bundle's weights against the torch network it stands
for: every architecture and output stride, with batch-norm statistics that matter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mura_desktop.inference.backends.openvino_runtime import openvino_unavailable_reason
from mura_desktop.inference.network import build_network

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.skipif(openvino_unavailable_reason() is not None, reason="no OpenVINO"),
]


def _trained_looking(architecture: str, output_stride: int) -> torch.nn.Module:
    torch.manual_seed(0)
    net = build_network(architecture, body_part_head=True, output_stride=output_stride)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.1, 0.1)
    return net.eval()


@pytest.mark.parametrize(
    ("architecture", "output_stride"),
    [("densenet121", 32), ("densenet121", 16), ("densenet169", 32), ("resnet50", 32),
     ("resnet50", 16)],
)  # fmt: skip
def test_graph_computes_what_the_torch_network_computes(
    architecture: str, output_stride: int
) -> None:
    from mura_desktop.inference.backends.openvino_graph import member_graph
    from mura_desktop.inference.backends.openvino_module import openvino

    net = _trained_looking(architecture, output_stride)
    member = {k: v.numpy() for k, v in net.state_dict().items()}
    x = np.random.default_rng(1).standard_normal((2, 3, 96, 96)).astype(np.float32)
    with torch.inference_mode():
        expected = net.forward_all(torch.from_numpy(x))
    compiled = openvino.Core().compile_model(
        member_graph(architecture, member, 96, output_stride=output_stride), "CPU",
        {"INFERENCE_PRECISION_HINT": "f32"},
    )  # fmt: skip
    request = compiled.create_infer_request()
    request.infer({0: x})
    logit, maps, body_part = (request.get_output_tensor(i).data for i in range(3))
    assert maps.shape == tuple(expected.maps.shape)
    # float32 rounding grows through 50 random layers (to ~2e-4 here); a wrong stride,
    # padding or dilation is off by the values' own size
    scale = float(np.abs(expected.maps.numpy()).max())
    np.testing.assert_allclose(maps, expected.maps.numpy(), atol=1e-4 * scale, rtol=1e-3)
    np.testing.assert_allclose(logit, expected.logit.numpy(), atol=1e-3, rtol=1e-3)
    np.testing.assert_allclose(body_part, expected.body_part.numpy(), atol=1e-3, rtol=1e-3)
