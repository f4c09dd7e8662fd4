"""The study verdict rule: how view probabilities become one study decision.

MURA (Rajpurkar et al. 2017) averages the views' abnormality probabilities and compares
the mean with a threshold. A model bundle may also carry a high-sensitivity and a
high-specificity operating point; scores between them are reported as indeterminate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mura_desktop.core.labels import Verdict

VERDICTS = tuple(Verdict)

AGGREGATIONS = ("mean", "max")


@dataclass(frozen=True)
class VerdictRule:
    """Aggregation of view probabilities, the decision threshold and an optional band.

    ``band`` is ``(low, high)``: a study probability ``low <= p < high`` is indeterminate.
    ``part_thresholds`` (body part → threshold, e.g. chosen per part on validation) replace
    ``threshold`` for studies of those parts. The binary decision used for metrics is
    always ``p >= threshold_for(body_part)``.
    """

    aggregation: str = "mean"
    threshold: float = 0.5
    band: tuple[float, float] | None = None
    part_thresholds: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        pairs = (
            self.part_thresholds.items()
            if isinstance(self.part_thresholds, Mapping)
            else self.part_thresholds
        )
        object.__setattr__(
            self, "part_thresholds", tuple(sorted((str(k), float(v)) for k, v in pairs))
        )
        for part, value in self.part_thresholds:
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"threshold {value} for {part} is outside [0, 1]")
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

    def threshold_for(self, body_part: str | None) -> float:
        """The threshold a study of ``body_part`` is decided with."""
        return dict(self.part_thresholds).get(body_part or "", self.threshold)

    def decide(self, probability: float, body_part: str | None = None) -> bool:
        """The binary decision: True for abnormal. A non-finite probability is refused
        (``NaN >= threshold`` is False, which would read as "normal")."""
        if not math.isfinite(probability):
            raise ValueError(f"a verdict needs a finite probability, got {probability}")
        return probability >= self.threshold_for(body_part)

    def map_floor(self, body_part: str | None = None) -> float:
        """The lowest view probability whose heatmap is drawn by default: the indeterminate
        band's lower edge when there is a band, else the decision threshold."""
        threshold = self.threshold_for(body_part)
        return min(self.band[0], threshold) if self.band is not None else threshold

    def verdict(self, probability: float, body_part: str | None = None) -> Verdict:
        decision = self.decide(probability, body_part)
        if self.band is not None and self.band[0] <= probability < self.band[1]:
            return Verdict.INDETERMINATE
        return Verdict.ABNORMAL if decision else Verdict.NORMAL

    def describe(self, n_views: int, body_part: str | None = None) -> str:
        """Human-readable rule, e.g. ``mean of 4 views ≥ 0.50`` or, with a threshold of
        its own for the part, ``mean of 4 views ≥ 0.42 (HAND's threshold)``."""
        noun = "view" if n_views == 1 else "views"
        threshold = self.threshold_for(body_part)
        text = f"{self.aggregation} of {n_views} {noun} ≥ {threshold:.2f}"
        if body_part and body_part in dict(self.part_thresholds):
            text += f" ({body_part}'s threshold)"
        if self.band is not None:
            text += f"; indeterminate in [{self.band[0]:.2f}, {self.band[1]:.2f})"
        return text

    def to_dict(self) -> dict:
        return {
            "aggregation": self.aggregation,
            "threshold": self.threshold,
            "band": list(self.band) if self.band is not None else None,
            "part_thresholds": dict(self.part_thresholds),
        }

    @classmethod
    def from_dict(cls, data: dict) -> VerdictRule:
        band = data.get("band")
        return cls(
            aggregation=str(data.get("aggregation", "mean")),
            threshold=float(data.get("threshold", 0.5)),
            band=(float(band[0]), float(band[1])) if band else None,
            part_thresholds=dict(data.get("part_thresholds") or {}),
        )
