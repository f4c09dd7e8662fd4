"""Measurements on a view: distances (mm when the file is calibrated, else pixels), angles
(three-point and Cobb), and the calibration they use. Points are in the image's own pixel
coordinates (x along columns, y along rows), whatever the orientation on screen.
"""

from __future__ import annotations

import math
from collections.abc import MutableSequence, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

Point = tuple[float, float]

# How many points each kind takes: a distance is a segment, an angle a vertex between two
# arms (A, vertex, B), a Cobb angle the angle between two lines (A1, A2) and (B1, B2).
POINTS: dict[str, int] = {"distance": 2, "angle": 3, "cobb": 4}


@dataclass(frozen=True)
class Calibration:
    """Millimetres per pixel between rows and between columns, and where that came from."""

    row_mm: float
    column_mm: float
    source: str

    @classmethod
    def from_dataset(cls, ds: Dataset) -> Calibration | None:
        """From Pixel Spacing, else Imager Pixel Spacing (at the detector; divided by the
        Estimated Radiographic Magnification Factor when the file gives one). None when the
        file gives neither, or an unusable value."""
        spacing = _pair(ds.get("PixelSpacing"))
        if spacing is not None:
            kind = str(ds.get("PixelSpacingCalibrationType") or "").strip()
            detail = f"calibrated: {kind}" if kind else "as the file states it"
            return cls(*spacing, f"Pixel Spacing ({detail})")
        imager = _pair(ds.get("ImagerPixelSpacing"))
        if imager is None:
            return None
        factor = _number(ds.get("EstimatedRadiographicMagnificationFactor"))
        if factor is not None and factor > 0:
            return cls(
                imager[0] / factor,
                imager[1] / factor,
                f"Imager Pixel Spacing ÷ estimated magnification {factor:g}",
            )
        return cls(*imager, "Imager Pixel Spacing (at the detector, magnification not corrected)")

    def length_mm(self, a: Point, b: Point) -> float:
        return math.hypot((b[0] - a[0]) * self.column_mm, (b[1] - a[1]) * self.row_mm)

    def to_dict(self) -> dict:
        return {"row_mm": self.row_mm, "column_mm": self.column_mm, "source": self.source}


@dataclass(frozen=True)
class Measurement:
    """One measurement, with the calibration of the image it was made on (None: pixels)."""

    kind: str
    points: tuple[Point, ...]
    calibration: Calibration | None = None

    def __post_init__(self) -> None:
        if self.kind not in POINTS:
            raise ValueError(f"unknown measurement {self.kind!r}; expected one of {list(POINTS)}")
        if len(self.points) != POINTS[self.kind]:
            raise ValueError(f"a {self.kind} takes {POINTS[self.kind]} points")
        object.__setattr__(self, "points", tuple((float(x), float(y)) for x, y in self.points))

    def value(self) -> tuple[float, str]:
        """The number and its unit: mm or px for a distance, degrees for an angle."""
        p, calibration = self.points, self.calibration
        if self.kind == "distance":
            if calibration is not None:
                return calibration.length_mm(p[0], p[1]), "mm"
            return math.hypot(p[1][0] - p[0][0], p[1][1] - p[0][1]), "px"
        scale = calibration or Calibration(1.0, 1.0, "")  # angles in physical space
        if self.kind == "angle":
            return _angle(_vector(p[1], p[0], scale), _vector(p[1], p[2], scale)), "°"
        between = _angle(_vector(p[0], p[1], scale), _vector(p[2], p[3], scale))
        return min(between, 180.0 - between), "°"  # Cobb: the acute angle between the lines

    def label(self) -> str:
        number, unit = self.value()
        return f"{number:.1f}{unit}" if unit == "°" else f"{number:.1f} {unit}"

    def to_dict(self) -> dict:
        number, unit = self.value()
        calibration = self.calibration.to_dict() if self.calibration is not None else None
        return {"kind": self.kind, "points": [list(p) for p in self.points],
                "value": number, "unit": unit, "calibration": calibration}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> Measurement:
        cal = data.get("calibration")
        calibration = Calibration(**cal) if isinstance(cal, dict) else None
        return cls(str(data["kind"]), tuple(tuple(p) for p in data["points"]), calibration)


def _vector(origin: Point, to: Point, scale: Calibration) -> tuple[float, float]:
    return (to[0] - origin[0]) * scale.column_mm, (to[1] - origin[1]) * scale.row_mm


def _angle(u: Sequence[float], v: Sequence[float]) -> float:
    norm = math.hypot(*u) * math.hypot(*v)
    if norm == 0:
        return 0.0
    cosine = max(-1.0, min(1.0, (u[0] * v[0] + u[1] * v[1]) / norm))
    return math.degrees(math.acos(cosine))


def _pair(value) -> tuple[float, float] | None:
    values = list(value) if isinstance(value, (MutableSequence, tuple)) else []
    if len(values) != 2:
        return None
    numbers = [_number(v) for v in values]
    if any(n is None or n <= 0 for n in numbers):
        return None
    return numbers[0], numbers[1]


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
