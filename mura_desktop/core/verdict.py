"""The study verdict rule: how view probabilities become one study decision.

MURA (Rajpurkar et al. 2017) averages the views' abnormality probabilities and compares
the mean with a threshold. A model bundle may also carry a high-sensitivity and a
high-specificity operating point; scores between them are reported as indeterminate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ABNORMAL = "abnormal"
NORMAL = "normal"
INDETERMINATE = "indeterminate"

AGGREGATIONS = ("mean", "max")


@dataclass(frozen=True)
class VerdictRule:
    """Aggregation of view probabilities, the decision threshold and an optional band.

    ``band`` is ``(low, high)``: a study probability ``low <= p < high`` is indeterminate.
    The binary decision used for metrics is always ``p >= threshold``.
    """

    aggregation: str = "mean"
    threshold: float = 0.5
    band: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(
                f"unknown aggregation {self.aggregation!r}; expected one of {AGGREGATIONS}"
            )
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold {self.threshold} is outside [0, 1]")
        if self.band is not None:
            low, high = self.band
            if not 0.0 <= low <= high <= 1.0:
                raise ValueError(
                    f"indeterminate band {self.band} must satisfy 0 <= low <= high <= 1"
                )

    def aggregate(self, probabilities: Sequence[float]) -> float:
        values = np.asarray(probabilities, dtype=np.float64)
        if values.size == 0:
            raise ValueError("a study needs at least one scored view")
        if not np.isfinite(values).all():
            raise ValueError(f"view probabilities must be finite, got {values.tolist()}")
        return float(values.max() if self.aggregation == "max" else values.mean())

    def decide(self, probability: float) -> bool:
        """The binary decision: True for abnormal. A non-finite probability is refused
        (``NaN >= threshold`` is False, which would read as "normal")."""
        if not math.isfinite(probability):
            raise ValueError(f"a verdict needs a finite probability, got {probability}")
        return probability >= self.threshold

    def verdict(self, probability: float) -> str:
        decision = self.decide(probability)
        if self.band is not None and self.band[0] <= probability < self.band[1]:
            return INDETERMINATE
        return ABNORMAL if decision else NORMAL

    def describe(self, n_views: int) -> str:
        """Human-readable rule, e.g. ``mean of 4 views ≥ 0.50``."""
        noun = "view" if n_views == 1 else "views"
        text = f"{self.aggregation} of {n_views} {noun} ≥ {self.threshold:.2f}"
        if self.band is not None:
            text += f"; indeterminate in [{self.band[0]:.2f}, {self.band[1]:.2f})"
        return text

    def to_dict(self) -> dict:
        return {
            "aggregation": self.aggregation,
            "threshold": self.threshold,
            "band": list(self.band) if self.band is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict) -> VerdictRule:
        band = data.get("band")
        return cls(
            aggregation=str(data.get("aggregation", "mean")),
            threshold=float(data.get("threshold", 0.5)),
            band=(float(band[0]), float(band[1])) if band else None,
        )
