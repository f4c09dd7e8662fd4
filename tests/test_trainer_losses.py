"""The paper's per-body-part weighted BCE and its variants, against hand-computed numbers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from mura_desktop.core.study import BODY_PARTS, Study, View
from trainer.losses import AbnormalityLoss, build_loss, class_weights

WRIST, HAND, ELBOW = (BODY_PARTS.index(p) for p in ("WRIST", "HAND", "ELBOW"))
ALL = len(BODY_PARTS)


def _study(part: str, label: int, n_views: int) -> Study:
    views = [View(Path(f"/{part}/{label}/{i}.png")) for i in range(n_views)]
    return Study(uid=f"{part}{label}{n_views}", name="s", views=views, body_part=part, label=label)


# WRIST: 3 abnormal studies (2+1+1 views), 1 normal (3 views); HAND: 1 abnormal, 4 normal.
STUDIES = [
    _study("WRIST", 1, 2),
    _study("WRIST", 1, 1),
    _study("WRIST", 1, 1),
    _study("WRIST", 0, 3),
    _study("HAND", 1, 1),
    *[_study("HAND", 0, 2) for _ in range(4)],
]


def test_part_study_weights_are_the_papers():
    w = class_weights(STUDIES, "part-studies")
    # abnormal term: the part's fraction of normal studies; normal term: of abnormal ones
    assert w.abnormal[WRIST] == pytest.approx(1 / 4) and w.normal[WRIST] == pytest.approx(3 / 4)
    assert w.abnormal[HAND] == pytest.approx(4 / 5) and w.normal[HAND] == pytest.approx(1 / 5)
    # parts absent from training and unknown parts use the pooled counts: 4 abnormal, 5 normal
    assert w.abnormal[ELBOW] == pytest.approx(5 / 9) and w.normal[ELBOW] == pytest.approx(4 / 9)
    assert w.abnormal[ALL] == pytest.approx(5 / 9)


def test_other_weight_modes():
    images = class_weights(STUDIES, "part-images")
    assert images.abnormal[WRIST] == pytest.approx(3 / 7)  # 4 abnormal views, 3 normal
    assert images.normal[WRIST] == pytest.approx(4 / 7)
    assert images.abnormal[HAND] == pytest.approx(8 / 9)  # 1 abnormal view, 8 normal
    pooled = class_weights(STUDIES, "global")
    assert list(pooled.abnormal) == pytest.approx([5 / 9] * (ALL + 1))
    assert list(pooled.normal) == pytest.approx([4 / 9] * (ALL + 1))
    none = class_weights(STUDIES, "none")
    assert set(none.abnormal) == set(none.normal) == {1.0}
    with pytest.raises(ValueError):
        class_weights(STUDIES, "bogus")


def _log_sigmoid(z: float) -> float:
    return -math.log1p(math.exp(-z))


def test_weighted_bce_matches_the_formula_by_hand():
    loss = build_loss(STUDIES, "part-studies", "wbce", 2.0)
    logits = torch.tensor([0.3, -1.0, 2.0, 0.7])
    labels = torch.tensor([1.0, 0.0, 1.0, 0.0])
    parts = torch.tensor([WRIST, HAND, -1, WRIST])
    expected = [
        0.25 * -_log_sigmoid(0.3),  # wrist abnormal: -w1 log p
        0.2 * -_log_sigmoid(1.0),  # hand normal: -w0 log(1 - p), 1 - σ(-1) = σ(1)
        5 / 9 * -_log_sigmoid(2.0),  # unknown part: pooled weights
        0.75 * -_log_sigmoid(-0.7),  # wrist normal
    ]
    per_sample = loss.per_sample(logits, labels, parts)
    assert per_sample.tolist() == pytest.approx(expected, rel=1e-6)
    assert float(loss(logits, labels, parts)) == pytest.approx(sum(expected) / 4, rel=1e-6)


def test_focal_loss_down_weights_easy_examples():
    focal = build_loss(STUDIES, "none", "focal", 2.0)
    z = 3.0
    p = 1 / (1 + math.exp(-z))
    got = float(focal(torch.tensor([z]), torch.tensor([1.0]), torch.tensor([WRIST])))
    assert got == pytest.approx((1 - p) ** 2 * -math.log(p), rel=1e-5)
    plain = AbnormalityLoss(class_weights(STUDIES, "none"))
    assert got < float(plain(torch.tensor([z]), torch.tensor([1.0]), torch.tensor([WRIST])))


def test_one_class_part_is_not_weighted_to_zero():
    w = class_weights([_study("HAND", 0, 1), _study("HAND", 0, 2)], "part-studies")
    assert w.abnormal[HAND] == 1.0 and w.normal[HAND] == 1.0
