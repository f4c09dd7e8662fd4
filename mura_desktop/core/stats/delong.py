"""DeLong's variance of the AUROC, with the fast algorithm of Sun & Xu (2014).

DeLong, DeLong & Clarke-Pearson (1988) estimate the covariance of correlated AUROCs from
the structural components (each positive's share of negatives scored below it, each
negative's share of positives scored above it); Sun & Xu compute them from midranks in
O(n log n). Studies are treated as independent here: the interval does not know about
patients (the bootstrap does).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile, scipy.stats.norm.ppf(0.975)


def delong_covariance(
    labels: Sequence[int], scores: np.ndarray | Sequence[Sequence[float]]
) -> tuple[np.ndarray, np.ndarray]:
    """AUROCs of ``k`` score rows on the same studies and their (k, k) covariance.

    Needs at least one study of each class (two of each for a non-zero variance).
    """
    y = np.asarray(labels, dtype=bool)
    s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    positives, negatives = s[:, y], s[:, ~y]
    m, n = positives.shape[1], negatives.shape[1]
    if m == 0 or n == 0:
        raise ValueError("DeLong's variance needs both classes")
    from scipy.stats import rankdata  # scipy.stats takes a second to import: only when used

    tx = rankdata(positives, axis=1)
    ty = rankdata(negatives, axis=1)
    tz = rankdata(np.concatenate([positives, negatives], axis=1), axis=1)
    aucs = (tz[:, :m].sum(1) - m * (m + 1) / 2.0) / (m * n)
    v_pos = (tz[:, :m] - tx) / n  # per positive: share of negatives below it
    v_neg = 1.0 - (tz[:, m:] - ty) / m  # per negative: share of positives above it
    s_pos = np.atleast_2d(np.cov(v_pos)) if m > 1 else np.zeros((len(s), len(s)))
    s_neg = np.atleast_2d(np.cov(v_neg)) if n > 1 else np.zeros((len(s), len(s)))
    return aucs, s_pos / m + s_neg / n


def delong_interval(
    labels: Sequence[int], scores: Sequence[float], z: float = Z95
) -> tuple[float, float, float, float]:
    """AUROC, its DeLong standard error and the normal interval clipped to [0, 1]."""
    aucs, cov = delong_covariance(labels, [scores])
    auc, se = float(aucs[0]), math.sqrt(max(float(cov[0, 0]), 0.0))
    return auc, se, max(0.0, auc - z * se), min(1.0, auc + z * se)


@dataclass(frozen=True)
class PairedAurocTest:
    """DeLong's test of two correlated AUROCs (A − B) on the same studies."""

    auroc_a: float
    auroc_b: float
    difference: float
    se: float
    z: float
    p_value: float
    low: float
    high: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def delong_paired_test(
    labels: Sequence[int], scores_a: Sequence[float], scores_b: Sequence[float], z95: float = Z95
) -> PairedAurocTest:
    """Two-sided test of AUROC(A) = AUROC(B), with the 95% interval of the difference."""
    aucs, cov = delong_covariance(labels, [scores_a, scores_b])
    diff = float(aucs[0] - aucs[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    se = math.sqrt(max(var, 0.0))
    if se == 0.0:  # identical rankings (or too few studies): no evidence of a difference
        z, p = 0.0, 1.0 if diff == 0.0 else 0.0
    else:
        z = diff / se
        from scipy.stats import norm

        p = float(2 * norm.sf(abs(z)))
    return PairedAurocTest(
        float(aucs[0]), float(aucs[1]), diff, se, z, p, diff - z95 * se, diff + z95 * se
    )
