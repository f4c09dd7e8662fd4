"""Networks, preprocessing and class activation maps on tiny random models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision

from mura_desktop.core.study import BODY_PARTS
from mura_desktop.inference.architectures import ARCHITECTURES, expected_shapes
from mura_desktop.inference.cam import class_activation_maps, display_heatmap, normalize_map
from mura_desktop.inference.network import build_network, network_from_state_dict
from mura_desktop.inference.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    preprocess,
    preprocess_batch,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def densenet121() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_network("densenet121", body_part_head=True).eval()


@pytest.fixture(scope="module")
def resnet50() -> torch.nn.Module:
    torch.manual_seed(1)
    return build_network("resnet50").eval()


def test_densenet_state_dict_matches_torchvision_keys() -> None:
    for arch in ("densenet121", "densenet169", "densenet201"):
        with torch.device("meta"):
            reference = getattr(torchvision.models, arch)(num_classes=1)
        ours = expected_shapes(arch)
        assert ours == {k: tuple(v.shape) for k, v in reference.state_dict().items()}


def test_densenet169_forward_shapes() -> None:
    torch.manual_seed(0)
    net = build_network("densenet169").eval()
    assert net.n_features == 1664
    with torch.inference_mode():
        out = net.forward_all(torch.randn(2, 3, 64, 64))
    assert out.logit.shape == (2,)
    assert out.body_part is None
    assert out.maps.shape == (2, 1664, 2, 2)
    assert (out.maps >= 0).all()  # post-ReLU


def test_body_part_head_and_forward(densenet121: torch.nn.Module) -> None:
    with torch.inference_mode():
        x = torch.randn(3, 3, 64, 64)
        out = densenet121.forward_all(x)
        assert out.body_part is not None and out.body_part.shape == (3, len(BODY_PARTS))
        assert torch.equal(densenet121(x), out.logit)


def test_unknown_architecture_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown architecture 'vgg16'"):
        build_network("vgg16")
    assert "resnet50" in ARCHITECTURES


def test_network_from_state_dict_reproduces_the_network(densenet121: torch.nn.Module) -> None:
    copy = network_from_state_dict("densenet121", densenet121.state_dict(), body_part_head=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        assert torch.allclose(copy(x), densenet121(x))
    broken = dict(densenet121.state_dict())
    broken.pop("classifier.bias")
    with pytest.raises(RuntimeError, match=r"classifier\.bias"):
        network_from_state_dict("densenet121", broken, body_part_head=True)


@pytest.mark.parametrize("fixture", ["densenet121", "resnet50"])
def test_cam_mean_plus_bias_is_the_logit(fixture: str, request: pytest.FixtureRequest) -> None:
    net = request.getfixturevalue(fixture)
    torch.manual_seed(2)
    x = torch.randn(3, 3, 96, 96)
    with torch.inference_mode():
        out = net.forward_all(x)
    cams = class_activation_maps(out.maps.numpy(), net.classifier.weight.detach().numpy())
    assert cams.shape == (3, *out.maps.shape[-2:]) and cams.dtype == np.float32
    reconstructed = cams.mean(axis=(1, 2)) + net.classifier.bias.detach().numpy()
    np.testing.assert_allclose(reconstructed, out.logit.numpy(), atol=1e-4)
    assert not np.allclose(cams[0], cams[0].mean())  # a map, not a constant


def test_display_heatmap_shape_range_and_ensemble_mean() -> None:
    raw = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float32)
    heat = display_heatmap(raw, (5, 7))
    assert heat.shape == (5, 7) and heat.dtype == np.float32
    assert heat.min() == 0.0 and heat.max() == 1.0
    assert heat[-1, -1] > heat[0, 0]  # the hot corner stays hot
    flipped = display_heatmap(-raw, (5, 7))
    both = display_heatmap(np.stack([raw, -raw]), (5, 7))
    np.testing.assert_allclose(both, (heat + flipped) / 2, atol=1e-6)


def test_constant_map_normalises_to_zeros() -> None:
    assert np.array_equal(normalize_map(np.full((1, 3, 3), 4.0)), np.zeros((1, 3, 3)))


def test_preprocess_resizes_replicates_and_normalises() -> None:
    pixels = np.full((50, 30), 0.5, dtype=np.float32)
    array = preprocess(pixels, 64)
    assert array.shape == (3, 64, 64) and array.dtype == np.float32
    for c in range(3):
        expected = (0.5 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
        np.testing.assert_allclose(array[c], expected, atol=1e-6)


def test_preprocess_keeps_the_layout_and_the_batch_agrees() -> None:
    pixels = np.zeros((40, 80), dtype=np.float32)
    pixels[:, 40:] = 1.0  # right half bright
    single = preprocess(pixels, 32, mean=(0, 0, 0), std=(1, 1, 1))
    assert single[0, :, :14].max() < 0.01 and single[0, :, 18:].min() > 0.99
    other = np.random.default_rng(0).random((300, 200), dtype=np.float32)
    batch = preprocess_batch([pixels, other], 32)
    assert batch.shape == (2, 3, 32, 32)
    np.testing.assert_allclose(batch[1], preprocess(other, 32), atol=1e-6)
    assert preprocess_batch([], 32).shape == (0, 3, 32, 32)


def test_preprocess_rejects_colour_arrays() -> None:
    with pytest.raises(ValueError, match="grayscale"):
        preprocess(np.zeros((4, 4, 3), dtype=np.float32), 32)
