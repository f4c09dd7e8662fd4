"""Calibration: reliability diagram data, expected calibration error, Brier score and
temperature scaling of logits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

DEFAULT_BINS = 10
LOGIT_CLIP = 1e-6
"""Probabilities are clipped to [ε, 1 − ε] before ``logit``: a stored 0 or 1 is ±13.8."""


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of equal width: ``low < p <= high`` (the first bin also holds 0)."""

    low: float
    high: float
    count: int
    mean_predicted: float | None
    observed: float | None


@dataclass(frozen=True)
class Calibration:
    """How well probabilities match observed frequencies, over ``n`` scored items."""

    n: int
    brier: float | None
    ece: float | None
    bins: list[ReliabilityBin] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        if self.n == 0:
            return "n/a: nothing scored"
        return f"ECE {self.ece:.3f}, Brier {self.brier:.3f} (n {self.n})"


def calibration(
    labels: Sequence[int], probabilities: Sequence[float], n_bins: int = DEFAULT_BINS
) -> Calibration:
    """Reliability bins (uniform, binned as scikit-learn's ``calibration_curve``), ECE
    (bins weighted by their counts) and Brier score."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError(f"{y.size} labels but {p.size} probabilities")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.searchsorted(edges[1:-1], p)
    counts = np.bincount(which, minlength=n_bins)
    sums_p = np.bincount(which, weights=p, minlength=n_bins)
    sums_y = np.bincount(which, weights=y, minlength=n_bins)
    bins, ece = [], 0.0
    for i in range(n_bins):
        mean_p = observed = None
        if counts[i]:
            mean_p, observed = float(sums_p[i] / counts[i]), float(sums_y[i] / counts[i])
            ece += counts[i] / p.size * abs(observed - mean_p)
        bins.append(
            ReliabilityBin(float(edges[i]), float(edges[i + 1]), int(counts[i]), mean_p, observed)
        )
    if p.size == 0:
        return Calibration(0, None, None, bins)
    return Calibration(int(p.size), float(np.mean((p - y) ** 2)), float(ece), bins)


def logit(probabilities: np.ndarray | Sequence[float]) -> np.ndarray:
    p = np.clip(np.asarray(probabilities, dtype=np.float64), LOGIT_CLIP, 1.0 - LOGIT_CLIP)
    return np.log(p / (1.0 - p))


def scaled_probabilities(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Ensemble probabilities after scaling: the mean over members (rows of a 2-D
    ``logits``) of ``sigmoid(logit / T)``, as the predictor computes them."""
    z = np.atleast_2d(np.asarray(logits, dtype=np.float64)) / temperature
    with np.errstate(over="ignore"):  # exp(-z) = inf for a very negative logit: p = 0
        return (1.0 / (1.0 + np.exp(-z))).mean(0)


def fit_temperature(
    logits: np.ndarray, labels: Sequence[int], bounds: tuple[float, float] = (0.05, 20.0)
) -> float:
    """The temperature minimising the binary cross-entropy of ``scaled_probabilities``.

    ``logits``: (members, items) or (items,). One scalar for all members (Guo et al. 2017).
    """
    y = np.asarray(labels, dtype=np.float64)
    if y.size == 0 or len(np.unique(y)) < 2:
        raise ValueError("fitting a temperature needs scored items of both classes")

    def nll(log_t: float) -> float:
        p = np.clip(scaled_probabilities(logits, float(np.exp(log_t))), 1e-12, 1 - 1e-12)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))

    from scipy.optimize import minimize_scalar  # a second to import: only when used

    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    found = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-5})
    return float(np.exp(found.x))
