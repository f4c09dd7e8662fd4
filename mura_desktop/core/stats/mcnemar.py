"""McNemar's test of two classifiers' paired decisions on the same studies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

EXACT_BELOW = 25
"""Discordant pairs below which the exact binomial test is used (the χ² approximation is
poor for small counts)."""


@dataclass(frozen=True)
class McNemarResult:
    """``only_a``: studies A got right and B wrong; ``only_b`` the reverse."""

    only_a: int
    only_b: int
    p_value: float
    method: str
    statistic: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def mcnemar_test(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> McNemarResult:
    """Two-sided McNemar: exact binomial under ``EXACT_BELOW`` discordant pairs, else χ²
    with continuity correction."""
    from scipy.stats import binomtest, chi2  # scipy.stats takes a second to import

    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    discordant = only_a + only_b
    if discordant == 0:
        return McNemarResult(0, 0, 1.0, "no discordant studies")
    if discordant < EXACT_BELOW:
        p = binomtest(only_a, discordant, 0.5).pvalue
        return McNemarResult(only_a, only_b, float(min(p, 1.0)), "exact binomial")
    statistic = (abs(only_a - only_b) - 1.0) ** 2 / discordant
    return McNemarResult(
        only_a, only_b, float(chi2.sf(statistic, 1)), "chi-square, continuity corrected",
        statistic,
    )  # fmt: skip
