"""Geometric primitives a phantom is made of, and the affine maps that place them.

Coordinates are (x, y) with y pointing down. The anatomy is built in centimetres
and mapped to pixels with one affine per view; radii scale with the map's mean scale.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

Point = tuple[float, float]


@dataclass(frozen=True)
class Affine:
    """``p -> matrix @ p + offset``; ``radius_scale`` is how lengths across a shape scale."""

    matrix: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 1.0)
    offset: Point = (0.0, 0.0)
    radius_scale: float = 1.0

    def point(self, p: Point) -> Point:
        a, b, c, d = self.matrix
        return (a * p[0] + b * p[1] + self.offset[0], c * p[0] + d * p[1] + self.offset[1])

    def vector(self, v: Point) -> Point:
        a, b, c, d = self.matrix
        return (a * v[0] + b * v[1], c * v[0] + d * v[1])

    def then(self, other: Affine) -> Affine:
        """The map that applies ``self`` first, then ``other``."""
        a, b, c, d = other.matrix
        e, f, g, h = self.matrix
        return Affine(
            (a * e + b * g, a * f + b * h, c * e + d * g, c * f + d * h),
            other.point(self.offset),
            self.radius_scale * other.radius_scale,
        )


def rotation_about(center: Point, degrees: float) -> Affine:
    """Rotate by ``degrees`` (clockwise on screen, since y points down) about ``center``."""
    th = np.deg2rad(degrees)
    c, s = float(np.cos(th)), float(np.sin(th))
    cx, cy = center
    return Affine((c, -s, s, c), (cx - c * cx + s * cy, cy - s * cx - c * cy))


def squeeze_x(center_x: float, factor: float) -> Affine:
    """Compress x towards ``center_x`` (a lateral projection superimposes side-by-side bones)."""
    return Affine((factor, 0.0, 0.0, 1.0), (center_x * (1.0 - factor), 0.0))


@dataclass(frozen=True)
class Clip:
    """Keep only the side of a line where ``(p - point) . normal > offset`` (a fracture cut)."""

    point: Point
    normal: Point
    offset: float


@dataclass(frozen=True)
class Tube:
    """A tubular bone: an axis from ``p0`` to ``p1`` with a cortical shell.

    The half-width is ``r_mid`` along the shaft and flares to ``r0``/``r1`` over the
    first/last ``flare0``/``flare1`` of the length; the ends are half-ellipse caps
    ``cap0``/``cap1`` end-radii long. ``cortex`` is the shell's fraction of the radius
    at mid-shaft (it thins towards the ends); ``physes`` are growth-plate positions (0..1).
    """

    name: str
    group: str
    p0: Point
    p1: Point
    r0: float
    r_mid: float
    r1: float
    flare0: float = 0.2
    flare1: float = 0.2
    cap0: float = 0.5
    cap1: float = 0.5
    cortex: float = 0.3
    density: float = 1.0
    physes: tuple[float, ...] = ()
    clips: tuple[Clip, ...] = ()
    fracturable: bool = True

    def mapped(self, m: Affine) -> Tube:
        k = m.radius_scale
        return replace(
            self,
            p0=m.point(self.p0),
            p1=m.point(self.p1),
            r0=self.r0 * k,
            r_mid=self.r_mid * k,
            r1=self.r1 * k,
        )

    @property
    def length(self) -> float:
        return float(np.hypot(self.p1[0] - self.p0[0], self.p1[1] - self.p0[1]))

    def axis(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit vector along the axis and the unit normal to it."""
        e = np.array([self.p1[0] - self.p0[0], self.p1[1] - self.p0[1]]) / max(self.length, 1e-9)
        return e, np.array([-e[1], e[0]])

    def at(self, t: float) -> np.ndarray:
        return np.array(self.p0) + t * (np.array(self.p1) - np.array(self.p0))

    def radius_at(self, t: float) -> float:
        w0 = smoothstep(np.clip(1.0 - t / self.flare0, 0.0, 1.0)) if self.flare0 > 0 else 0.0
        w1 = (
            smoothstep(np.clip(1.0 - (1.0 - t) / self.flare1, 0.0, 1.0)) if self.flare1 > 0 else 0.0
        )
        return float(self.r_mid + (self.r0 - self.r_mid) * w0 + (self.r1 - self.r_mid) * w1)

    def max_radius(self) -> float:
        return max(self.r0, self.r_mid, self.r1)


@dataclass(frozen=True)
class Blob:
    """A compact bone (carpal, humeral head, condyle): an ellipse with a thin cortical rim."""

    name: str
    group: str
    center: Point
    a: float
    b: float
    angle: float = 0.0
    cortex: float = 0.15
    density: float = 1.0

    def mapped(self, m: Affine) -> Blob:
        th = np.deg2rad(self.angle)
        va = m.vector((self.a * float(np.cos(th)), self.a * float(np.sin(th))))
        vb = m.vector((-self.b * float(np.sin(th)), self.b * float(np.cos(th))))
        return replace(
            self,
            center=m.point(self.center),
            a=float(np.hypot(*va)),
            b=float(np.hypot(*vb)),
            angle=float(np.rad2deg(np.arctan2(va[1], va[0]))),
        )


@dataclass(frozen=True)
class Plate:
    """A flat bone (scapular body): a convex polygon of even thickness with a denser rim."""

    name: str
    group: str
    vertices: tuple[Point, ...]
    thickness: float
    rim: float
    rim_width: float

    def mapped(self, m: Affine) -> Plate:
        k = m.radius_scale
        return replace(
            self,
            vertices=tuple(m.point(v) for v in self.vertices),
            thickness=self.thickness * k,
            rim_width=self.rim_width * k,
        )


@dataclass(frozen=True)
class Capsule:
    """A segment with a radius growing linearly from ``r0`` to ``r1`` (soft tissue, masks)."""

    p0: Point
    p1: Point
    r0: float
    r1: float

    def mapped(self, m: Affine) -> Capsule:
        k = m.radius_scale
        return Capsule(m.point(self.p0), m.point(self.p1), self.r0 * k, self.r1 * k)


@dataclass(frozen=True)
class MetalBar:
    """A straight radio-opaque bar (plate, rod, screw, wire); ``pitch`` > 0 draws threads."""

    p0: Point
    p1: Point
    half_width: float
    mu: float
    pitch: float = 0.0


@dataclass(frozen=True)
class MetalDisc:
    """A radio-opaque ellipse, hollow inside ``inner`` (0..1 of the radii) when a ring."""

    center: Point
    a: float
    b: float
    mu: float
    angle: float = 0.0
    inner: float = 0.0


Bone = Tube | Blob | Plate
Metal = MetalBar | MetalDisc


def smoothstep(x: np.ndarray | float) -> np.ndarray | float:
    """Smoothstep on [0, 1]."""
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True)
class Focus:
    """A change of bone density inside one bone group: ``gain`` < 0 is a lucency, > 0 sclerosis.

    The group's projection is multiplied by ``1 + gain`` inside the ellipse (fading over
    its outer quarter) and brightened by ``rim`` along its edge.
    """

    group: str
    center: Point
    a: float
    b: float
    angle: float
    gain: float
    rim: float = 0.0
