"""The MURA paper's weighted binary cross-entropy (per body part), focal loss, class weights.

Paper (Rajpurkar et al. 2017): for a view of study type T with label y and predicted
abnormality probability p,

    L = -w_T,1 · y · log p  -  w_T,0 · (1 - y) · log(1 - p),
    w_T,1 = |N_T| / (|A_T| + |N_T|),   w_T,0 = |A_T| / (|A_T| + |N_T|),

with A_T and N_T the abnormal and normal training examples of type T: the abnormal term is
weighted by the part's fraction of normal examples and the normal term by its fraction of
abnormal ones. ``class_weights`` counts studies (``part-studies``, the default) or images
(``part-images``), per part or pooled over all parts (``global``); ``none`` gives 1 and 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mura_desktop.core.study import BODY_PARTS, Study


@dataclass(frozen=True)
class ClassWeights:
    """Per-part loss weights; index ``len(BODY_PARTS)`` holds the pooled pair, used for views
    of an unknown body part (``part == -1``) and for parts absent from the training set."""

    abnormal: tuple[float, ...]
    normal: tuple[float, ...]
    mode: str

    def to_dict(self) -> dict:
        names = [*BODY_PARTS, "ALL"]
        return {
            "mode": self.mode,
            "abnormal": dict(zip(names, self.abnormal, strict=True)),
            "normal": dict(zip(names, self.normal, strict=True)),
        }


def _pair(n_abnormal: int, n_normal: int) -> tuple[float, float]:
    total = n_abnormal + n_normal
    if n_abnormal == 0 or n_normal == 0:
        return 1.0, 1.0  # one class only: weighting cannot balance anything
    return n_normal / total, n_abnormal / total


def class_weights(studies: Sequence[Study], mode: str = "part-studies") -> ClassWeights:
    """Loss weights from the training studies (see the module docstring for the modes)."""
    if mode not in ("part-studies", "part-images", "global", "none"):
        raise ValueError(f"unknown class-weight mode {mode!r}")
    n_groups = len(BODY_PARTS) + 1
    if mode == "none":
        return ClassWeights((1.0,) * n_groups, (1.0,) * n_groups, mode)
    per_view = mode == "part-images"
    counts = [[0, 0] for _ in range(n_groups)]  # [abnormal, normal]
    for study in studies:
        if study.label is None:
            continue
        weight = len(study.views) if per_view else 1
        slot = 0 if study.label == 1 else 1
        counts[-1][slot] += weight
        if study.body_part in BODY_PARTS:
            counts[BODY_PARTS.index(study.body_part)][slot] += weight
    pooled = _pair(*counts[-1])
    pairs = []
    for i in range(n_groups):
        if mode == "global" or i == n_groups - 1 or sum(counts[i]) == 0:
            pairs.append(pooled)
        else:
            pairs.append(_pair(*counts[i]))
    return ClassWeights(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs), mode)


class AbnormalityLoss(nn.Module):
    """Weighted BCE (``gamma == 0``) or focal loss (Lin et al. 2017) on abnormality logits.

    ``forward(logits, labels, parts)`` returns the mean over the batch; ``parts`` index
    ``BODY_PARTS`` with ``-1`` for unknown. The focal loss multiplies each term by
    ``(1 - p_t) ** gamma`` and keeps the class weights as its α.
    """

    def __init__(self, weights: ClassWeights, gamma: float = 0.0) -> None:
        super().__init__()
        self.gamma = float(gamma)
        self.register_buffer("w_abnormal", torch.tensor(weights.abnormal, dtype=torch.float32))
        self.register_buffer("w_normal", torch.tensor(weights.normal, dtype=torch.float32))

    def per_sample(
        self, logits: torch.Tensor, labels: torch.Tensor, parts: torch.Tensor
    ) -> torch.Tensor:
        logits = logits.float()
        labels = labels.float()
        slot = torch.where(parts < 0, torch.full_like(parts, len(BODY_PARTS)), parts)
        weight = labels * self.w_abnormal[slot] + (1.0 - labels) * self.w_normal[slot]
        bce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        if self.gamma > 0:
            p_t = torch.exp(-bce)
            bce = (1.0 - p_t).pow(self.gamma) * bce
        return weight * bce

    def forward(
        self, logits: torch.Tensor, labels: torch.Tensor, parts: torch.Tensor
    ) -> torch.Tensor:
        return self.per_sample(logits, labels, parts).mean()


def build_loss(studies: Sequence[Study], mode: str, loss: str, gamma: float) -> AbnormalityLoss:
    """The configured abnormality loss with weights from the training studies."""
    if loss not in ("wbce", "focal"):
        raise ValueError(f"unknown loss {loss!r}")
    return AbnormalityLoss(class_weights(studies, mode), gamma if loss == "focal" else 0.0)
