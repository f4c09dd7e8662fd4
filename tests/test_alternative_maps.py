"""The optional gradient-weighted maps through grad-cam, on tiny random models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mura_desktop.inference.alternative_maps import (
    ALTERNATIVE_MAPS,
    alternative_heatmaps,
    alternative_maps,
)
from mura_desktop.inference.bundle import ModelBundle
from mura_desktop.inference.network import build_network
from mura_desktop.inference.preprocess import preprocess_batch

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def member() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return build_network("densenet121").state_dict()


def _images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.random((80, 64), dtype=np.float32), rng.random((64, 96), dtype=np.float32)]


@pytest.mark.parametrize("method", list(ALTERNATIVE_MAPS))
def test_maps_come_at_each_images_shape_and_average_over_members(member, method) -> None:
    images = _images()
    one = ModelBundle("densenet121", [member], input_size=64)
    maps = alternative_heatmaps(one, images, method)
    assert [m.shape for m in maps] == [i.shape for i in images]
    for m in maps:
        assert m.dtype == np.float32 and m.min() == 0.0 and m.max() == pytest.approx(1.0)
    two = ModelBundle("densenet121", [member, member], input_size=64)
    for a, b in zip(maps, alternative_heatmaps(two, images, method), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert "approximate" in ALTERNATIVE_MAPS[method]


def test_layercam_on_block_3_is_finer_than_the_last_block(member) -> None:
    """At 64 px DenseNet's third block has 4x4 cells, the last 2x2: LayerCAM's map, drawn
    at the input size, has structure inside each 32 px quadrant; Grad-CAM++ on the last
    block (2x2 cells, only their interpolation) much less."""
    net = build_network("densenet121")
    net.load_state_dict(member)
    batch = torch.from_numpy(preprocess_batch(_images()[:1], 64))

    def within_quadrants(maps: np.ndarray) -> float:
        quadrants = maps[0].reshape(2, 32, 2, 32).transpose(0, 2, 1, 3).reshape(4, -1)
        return float(quadrants.std(axis=1).mean())

    layer = within_quadrants(alternative_maps(net, batch, "layercam"))
    last = within_quadrants(alternative_maps(net, batch, "gradcam++"))
    assert layer > 1.5 * last


def test_an_unknown_method_is_refused(member) -> None:
    with pytest.raises(ValueError, match="unknown map 'smoothgrad'"):
        alternative_maps(build_network("densenet121"), torch.zeros(1, 3, 64, 64), "smoothgrad")
