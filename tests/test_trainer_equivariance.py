"""The heatmap-equivariance term of ``mura-train fit --cam-equivariance``."""

from __future__ import annotations

import argparse

import pytest
import torch

from mura_desktop.inference.network import build_network
from mura_desktop.inference.preprocess import normalize_gray
from trainer.config import TrainConfig, add_fit_arguments, config_from_args
from trainer.dataset import Batch
from trainer.distributed import Runtime
from trainer.engine import MIRRORINGS, Step, TrainingModel, batch_loss
from trainer.losses import AbnormalityLoss, class_weights

SIZE = 64


def _batch(n: int = 8) -> Batch:
    """Gray views with a bright square off-centre, half of them labelled abnormal."""
    g = torch.Generator().manual_seed(1)
    images = 0.2 + 0.05 * torch.rand(n, SIZE, SIZE, generator=g)
    for i in range(0, n, 2):
        r, c = torch.randint(4, SIZE - 20, (2,), generator=g).tolist()
        images[i, r : r + 12, c : c + 12] = 0.9
    labels = torch.tensor([1.0, 0.0] * (n // 2))
    return Batch(images, labels, torch.zeros(n, dtype=torch.long), torch.arange(n), [])


def _mirror_error(model: TrainingModel, batch: Batch) -> float:
    """Mean |CAM(x) - mirrored-back CAM(mirrored x)| over the three mirrorings.

    Measured with batch statistics (train mode), as the term sees them: after a couple of
    dozen steps the running statistics of eval mode are still far from settled."""
    x = normalize_gray(batch.images)
    model.train()
    errors = []
    with torch.no_grad():
        for dims in MIRRORINGS:
            _, _, cams = model(torch.cat([x, x.flip(dims)]), cam=True)
            seen, mirrored = cams.chunk(2)
            errors.append(float((seen - mirrored.flip(dims)).abs().mean()))
    return sum(errors) / len(errors)


def _trained(weight: float, steps: int = 24) -> tuple[TrainingModel, Batch]:
    torch.manual_seed(0)
    model = TrainingModel(build_network("densenet121"))
    step = Step(Runtime(torch.device("cpu")), cam_equivariance=weight)
    criterion = AbnormalityLoss(class_weights([], "none"))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = _batch()
    for _ in range(steps):
        model.train()
        loss, logits = batch_loss(step, model, criterion, batch)
        assert logits.shape == (len(batch),)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, batch


def test_the_term_pulls_the_maps_towards_following_the_mirrored_image():
    without, batch = _trained(0.0)
    with_term, _ = _trained(5.0)
    assert _mirror_error(with_term, batch) < 0.4 * _mirror_error(without, batch)


def test_the_cam_is_the_classifier_over_the_feature_maps():
    torch.manual_seed(0)
    model = TrainingModel(build_network("densenet121")).eval()
    x = normalize_gray(_batch(2).images)
    with torch.no_grad():
        logits, _, cams = model(x, cam=True)
    bias = model.net.classifier.bias[0]
    assert torch.allclose(cams.mean((1, 2)) + bias, logits, atol=1e-4)


def _parse(argv: list[str]) -> tuple[TrainConfig, bool]:
    parser = argparse.ArgumentParser()
    add_fit_arguments(parser)
    return config_from_args(parser.parse_args(argv))


def test_the_weight_is_a_setting_of_the_run(tmp_path):
    config, _ = _parse([str(tmp_path), "--out", str(tmp_path / "run"), "--cam-equivariance", "0.2"])
    assert config.cam_equivariance == 0.2
    assert TrainConfig().cam_equivariance == 0.0
    config.save(tmp_path)
    assert TrainConfig.load(tmp_path).cam_equivariance == 0.2
    with pytest.raises(ValueError, match="cannot change when resuming"):
        config.with_overrides({"cam_equivariance": 0.0})


@pytest.mark.parametrize("weight", [-0.1, float("nan")])
def test_a_weight_that_is_not_a_weight_is_refused(weight):
    with pytest.raises(ValueError, match="--cam-equivariance"):
        TrainConfig(cam_equivariance=weight)
