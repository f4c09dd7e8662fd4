"""The accuracy guard: how far a backend/precision strays from torch float32.

On the same views it compares the ensemble probability, every member's logit, the verdict
at every operating point of the bundle and every member's class activation map. It passes
when no view changes verdict unless its reference probability lies within ``MARGIN`` of a
threshold, and every heatmap correlates with the reference's at least ``MIN_CORRELATION``.
``auto`` never picks a precision that fails it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mura_desktop.core.stats.calibration import scaled_probabilities
from mura_desktop.inference.backends import MemberOutput
from mura_desktop.inference.bundle import ModelBundle
from mura_desktop.inference.cam import class_activation_maps

MARGIN = 0.01
MIN_CORRELATION = 0.99


@dataclass(frozen=True)
class Agreement:
    views: int
    max_dp: float  # ensemble probability
    max_dlogit: float  # any member's logit
    flips: int  # verdict changes of views farther than MARGIN from every threshold
    near_threshold_flips: int  # verdict changes of views within MARGIN of a threshold
    min_correlation: float  # worst heatmap (any member, any view); 1.0 without maps

    @property
    def passed(self) -> bool:
        return self.flips == 0 and self.min_correlation >= MIN_CORRELATION

    def line(self) -> str:
        return (
            f"{self.views} views: max |Δp| {self.max_dp:.2e}, max |Δlogit| {self.max_dlogit:.2e}, "
            f"verdict flips {self.flips} (+{self.near_threshold_flips} within {MARGIN} of a "
            f"threshold), heatmap r ≥ {self.min_correlation:.4f}: "
            + ("pass" if self.passed else "FAIL")
        )


def thresholds_of(bundle: ModelBundle) -> list[float]:
    """Every threshold a verdict of this bundle can be taken at."""
    values = set(bundle.operating_points.values()) | set(bundle.part_thresholds.values())
    return sorted(float(v) for v in values)


def ensemble_probability(outputs: Sequence[MemberOutput], temperature: float) -> np.ndarray:
    """Mean over members of ``sigmoid(logit / temperature)``, float64 (N,)."""
    return scaled_probabilities(np.stack([o.logit for o in outputs]), temperature)


def compare(
    bundle: ModelBundle,
    reference: Sequence[MemberOutput],
    candidate: Sequence[MemberOutput],
) -> Agreement:
    """Agreement of ``candidate`` with ``reference`` (both from the same batch)."""
    p_ref = ensemble_probability(reference, bundle.temperature)
    p_new = ensemble_probability(candidate, bundle.temperature)
    dlogit = max(
        float(np.abs(r.logit.astype(np.float64) - c.logit.astype(np.float64)).max())
        for r, c in zip(reference, candidate, strict=True)
    )
    flips = near = 0
    for threshold in thresholds_of(bundle):
        changed = (p_ref >= threshold) != (p_new >= threshold)
        close = np.abs(p_ref - threshold) <= MARGIN
        flips += int((changed & ~close).sum())
        near += int((changed & close).sum())
    correlation = 1.0
    for member, r, c in zip(bundle.members, reference, candidate, strict=True):
        if r.maps is None or c.maps is None:
            continue
        weight = member["classifier.weight"]
        cams = class_activation_maps(r.maps, weight), class_activation_maps(c.maps, weight)
        for a, b in zip(*cams, strict=True):
            correlation = min(correlation, _correlation(a, b))
    return Agreement(
        views=len(p_ref),
        max_dp=float(np.abs(p_ref - p_new).max()) if len(p_ref) else 0.0,
        max_dlogit=dlogit,
        flips=flips,
        near_threshold_flips=near,
        min_correlation=correlation,
    )


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r of two maps; two constant maps agree (1.0), one constant map does not."""
    x, y = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    x, y = x - x.mean(), y - y.mean()
    norm = math.sqrt(float((x * x).sum()) * float((y * y).sum()))
    if norm == 0.0:
        return 1.0 if float(np.abs(x).max()) == float(np.abs(y).max()) == 0.0 else 0.0
    return float((x * y).sum()) / norm
