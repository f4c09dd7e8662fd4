"""A parametric upper limb (shoulder girdle to fingertips) and the fields of view of MURA's parts.

One model, built in centimetres with y pointing distally, serves all seven body parts:
a part is a field of view on it (the wrist field shows the distal radius and ulna, the
carpus and the metacarpal bases; the finger field one digit and its neighbours' edges...).
A patient's ``Anatomy`` fixes sizes, bone density and age; a ``ViewGeometry`` fixes the
projection (a lateral superimposes side-by-side bones, a lateral elbow is flexed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mura_desktop.core.study import BODY_PARTS
from mura_desktop.phantoms.shapes import (
    Affine,
    Blob,
    Bone,
    Capsule,
    Plate,
    Point,
    Tube,
    rotation_about,
    squeeze_x,
)

ELBOW_PIVOT: Point = (0.2, 30.8)
# Thumb side is +x. Digit 1 is the thumb; its chain has no middle phalanx.
_DIGIT_BASES: tuple[Point, ...] = (
    (2.5, 59.9),
    (1.45, 60.3),
    (0.4, 60.25),
    (-0.6, 60.1),
    (-1.5, 59.9),
)
_DIGIT_ANGLES = (38.0, 6.0, 0.0, -6.0, -12.0)
_DIGIT_LENGTHS = (
    (4.4, 3.1, 2.3),
    (6.8, 4.0, 2.4, 1.7),
    (6.5, 4.5, 2.8, 1.8),
    (6.0, 4.2, 2.7, 1.8),
    (5.4, 3.4, 1.9, 1.6),
)
# (base, shaft, head) half-widths in cm of metacarpal, proximal, middle, distal bones.
_DIGIT_RADII = ((0.55, 0.37, 0.5), (0.5, 0.33, 0.4), (0.42, 0.28, 0.34), (0.36, 0.2, 0.3))
_THUMB_RADII = ((0.62, 0.45, 0.55), (0.55, 0.38, 0.45), (0.45, 0.28, 0.36))


@dataclass(frozen=True)
class Anatomy:
    """What stays the same across the views of one study (one patient's limb)."""

    part: str
    side: str
    size: float
    bone_width: float
    soft_width: float
    cortex: float
    density: float
    medulla: float
    child: bool
    digit: int
    digit_lengths: tuple[float, ...]


@dataclass(frozen=True)
class ViewGeometry:
    """One projection: ``spread`` < 1 superimposes side-by-side bones (lateral, oblique)."""

    name: str
    spread: float
    flex: float
    digit_bend: float
    twist: float


@dataclass(frozen=True)
class Field:
    """The region a part's radiograph shows: a box about ``center``, its long axis at ``angle``."""

    center: Point
    half_w: float
    half_h: float
    angle: float = 0.0


@dataclass(frozen=True)
class Layout:
    """Everything one view projects, in centimetres: bones, soft tissue, air, and the field."""

    bones: tuple[Bone, ...]
    soft: tuple[Capsule, ...]
    air: tuple[Capsule, ...]
    field: Field


def sample_anatomy(part: str, rng: np.random.Generator) -> Anatomy:
    """Draw one patient's limb for a study of ``part``."""
    if part not in BODY_PARTS:
        raise ValueError(f"unknown body part {part!r}; expected one of {', '.join(BODY_PARTS)}")
    child = bool(rng.random() < 0.18)
    return Anatomy(
        part=part,
        side=str(rng.choice(["L", "R"])),
        size=float(rng.uniform(0.78, 0.9) if child else rng.uniform(0.92, 1.08)),
        bone_width=float(rng.uniform(0.85, 1.18)),
        soft_width=float(rng.uniform(0.8, 1.3)),
        cortex=float(rng.uniform(0.16, 0.42)),
        density=float(rng.uniform(0.8, 1.15)),
        medulla=float(rng.uniform(0.28, 0.5)),
        child=child,
        digit=int(rng.choice([1, 2, 3, 4, 5], p=[0.12, 0.24, 0.24, 0.2, 0.2])),
        digit_lengths=tuple(float(x) for x in rng.uniform(0.94, 1.06, size=5)),
    )


_VIEW_MENUS: dict[str, tuple[tuple[str, float], ...]] = {
    "ELBOW": (("AP", 0.5), ("LAT", 0.4), ("OBL", 0.1)),
    "FINGER": (("PA", 0.4), ("LAT", 0.35), ("OBL", 0.25)),
    "FOREARM": (("AP", 0.55), ("LAT", 0.45)),
    "HAND": (("PA", 0.45), ("OBL", 0.35), ("LAT", 0.2)),
    "HUMERUS": (("AP", 0.6), ("LAT", 0.4)),
    "SHOULDER": (("AP", 0.7), ("Y", 0.3)),
    "WRIST": (("PA", 0.45), ("LAT", 0.35), ("OBL", 0.2)),
}


def sample_view(part: str, rng: np.random.Generator) -> ViewGeometry:
    """Draw a projection typical for ``part``."""
    names, weights = zip(*_VIEW_MENUS[part], strict=True)
    name = str(rng.choice(names, p=np.array(weights) / sum(weights)))
    if name in ("AP", "PA"):
        spread = float(rng.uniform(0.9, 1.05))
    elif name == "OBL":
        spread = float(rng.uniform(0.45, 0.7))
    elif name == "Y":
        spread = float(rng.uniform(0.55, 0.8))
    else:
        spread = float(rng.uniform(0.12, 0.3))
    if part == "ELBOW" and name == "LAT":
        flex = float(rng.uniform(70.0, 105.0))
    elif part == "ELBOW":
        flex = float(rng.uniform(-14.0, -3.0))
    else:
        flex = 0.0
    bend = float(rng.uniform(8.0, 28.0) if name in ("LAT", "OBL") else rng.uniform(0.0, 6.0))
    return ViewGeometry(name, spread, flex, bend, float(rng.uniform(-1.0, 1.0)))


def _tube(
    name: str,
    group: str,
    p0: Point,
    p1: Point,
    radii: tuple[float, float, float],
    anat: Anatomy,
    **kw: Any,
) -> Tube:
    w = anat.bone_width
    if not anat.child:
        kw["physes"] = ()
    kw.setdefault("cortex", anat.cortex)
    kw.setdefault("density", anat.density)
    return Tube(name, group, p0, p1, radii[0] * w, radii[1] * w, radii[2] * w, **kw)


def _blob(
    name: str, group: str, c: Point, a: float, b: float, anat: Anatomy, angle: float = 0.0
) -> Blob:
    w = anat.bone_width
    return Blob(name, group, c, a * w, b * w, angle, 0.16, anat.density)


def _digit(d: int, anat: Anatomy, bend: float) -> tuple[list[Tube], Capsule, Point, Point]:
    """Metacarpal and phalanges of digit ``d`` (1..5); also its soft tissue and its axis."""
    base = _DIGIT_BASES[d - 1]
    angle = np.deg2rad(_DIGIT_ANGLES[d - 1])
    lengths = [x * anat.digit_lengths[d - 1] for x in _DIGIT_LENGTHS[d - 1]]
    radii = _THUMB_RADII if d == 1 else _DIGIT_RADII
    kinds = ("mc", "pp", "dp") if d == 1 else ("mc", "pp", "mp", "dp")
    gap = 0.22 * anat.bone_width
    bones: list[Tube] = []
    p = np.array(base)
    for i, (kind, length, r) in enumerate(zip(kinds, lengths, radii, strict=True)):
        if i > 0:
            angle += np.deg2rad(bend if i > 1 else bend * 0.5)
        direction = np.array([np.sin(angle), np.cos(angle)])
        q = p + direction * length
        physes = (0.08,) if kind != "mc" or d == 1 else (0.92,)
        bones.append(
            _tube(
                f"{kind}{d}",
                f"{kind}{d}",
                (float(p[0]), float(p[1])),
                (float(q[0]), float(q[1])),
                r,
                anat,
                flare0=0.22,
                flare1=0.3 if kind == "dp" else 0.2,
                cap0=0.35,
                cap1=0.55,
                physes=physes,
            )
        )
        p = q + direction * gap
    tip = (float(p[0]), float(p[1]))
    mc_head = bones[0].at(0.85)
    soft = Capsule(
        (float(mc_head[0]), float(mc_head[1])), tip, 1.15 * anat.soft_width, 0.85 * anat.soft_width
    )
    return bones, soft, (float(mc_head[0]), float(mc_head[1])), tip


def _shoulder_girdle(
    anat: Anatomy, twist: float
) -> tuple[list[Bone], list[Capsule], list[Capsule]]:
    bones: list[Bone] = [
        _blob("humeral_head", "humerus", (0.4, 0.1), 2.45, 2.3, anat, 20.0),
        _blob("greater_tuberosity", "humerus", (1.6 + 0.9 * twist, 0.9), 1.1, 1.4, anat, -10.0),
        _blob("glenoid", "scapula", (-3.0, 0.1), 0.75, 2.0, anat, 8.0),
        Plate(
            "scapula_body",
            "scapula",
            ((-3.3, -1.6), (-3.5, 2.4), (-8.5, 13.0), (-12.5, -4.0)),
            0.35 * anat.bone_width,
            1.6,
            0.45 * anat.bone_width,
        ),
        _tube(
            "scapular_spine",
            "scapula",
            (-12.0, -4.2),
            (1.6, -3.1),
            (0.5, 0.55, 1.0),
            anat,
            flare1=0.3,
            fracturable=False,
        ),
        _tube(
            "coracoid",
            "scapula",
            (-2.8, -1.9),
            (-0.6, -1.4),
            (0.55, 0.5, 0.55),
            anat,
            fracturable=False,
        ),
        _tube(
            "clavicle",
            "clavicle",
            (1.2, -4.0),
            (-13.0, -4.6),
            (0.95, 0.7, 1.05),
            anat,
            physes=(0.97,),
        ),
        _blob("clavicle_curve", "clavicle", (-7.0, -5.0), 2.8, 0.75, anat, 8.0),
    ]
    for k in range(4):
        y0 = 1.5 + 3.4 * k
        g = f"rib{k + 1}"
        rib = dict(cortex=0.35, density=0.55 * anat.density, fracturable=False)
        bones.append(_tube(g, g, (-5.5, y0), (-11.0, y0 - 1.0), (0.5, 0.5, 0.5), anat, **rib))
        bones.append(
            _tube(g + "b", g, (-11.0, y0 - 1.0), (-18.0, y0 + 1.0), (0.5, 0.5, 0.5), anat, **rib)
        )
    sw = anat.soft_width
    soft = [Capsule((-10.0, 2.0), (-6.0, 9.0), 10.5 * sw, 10.0 * sw)]
    air = [Capsule((-17.0, 4.0), (-16.0, 14.0), 8.0, 9.0)]
    return bones, soft, air


def _arm(anat: Anatomy) -> list[Bone]:
    return [
        _tube(
            "humerus",
            "humerus",
            (0.5, 1.2),
            (0.3, 29.4),
            (1.75, 1.12, 2.7),
            anat,
            flare0=0.12,
            flare1=0.16,
            cap1=0.4,
            physes=(0.03,),
        ),
        _blob("capitellum", "humerus", (1.35, 30.0), 1.05, 0.95, anat),
        _blob("trochlea", "humerus", (-0.9, 30.15), 1.3, 0.9, anat),
        _blob("medial_epicondyle", "humerus", (-2.75, 29.1), 0.75, 0.7, anat),
        _tube(
            "radius",
            "radius",
            (1.35, 31.55),
            (2.05, 55.4),
            (1.05, 0.78, 1.95),
            anat,
            flare0=0.05,
            flare1=0.17,
            cap0=0.3,
            cap1=0.3,
            physes=(0.02, 0.97),
        ),
        _tube(
            "ulna",
            "ulna",
            (-0.85, 30.7),
            (-1.25, 55.1),
            (1.25, 0.75, 0.82),
            anat,
            flare0=0.13,
            flare1=0.06,
            physes=(0.97,),
        ),
        _blob("olecranon", "ulna", (-0.75, 30.0), 1.0, 1.2, anat),
    ]


def _carpus(anat: Anatomy) -> list[Bone]:
    spec = (
        ("scaphoid", (1.95, 57.2), 1.2, 0.72, 55.0),
        ("lunate", (0.65, 57.05), 0.85, 0.8, 0.0),
        ("triquetrum", (-0.55, 57.35), 0.75, 0.7, -20.0),
        ("pisiform", (-0.95, 56.95), 0.55, 0.55, 0.0),
        ("trapezium", (2.55, 59.0), 0.78, 0.8, 30.0),
        ("trapezoid", (1.5, 59.15), 0.62, 0.72, 0.0),
        ("capitate", (0.45, 58.75), 0.72, 1.12, 0.0),
        ("hamate", (-0.7, 58.85), 0.8, 0.95, -10.0),
    )
    return [_blob(n, n, c, a, b, anat, ang) for n, c, a, b, ang in spec]


def build_layout(anat: Anatomy, view: ViewGeometry) -> Layout:
    """The bones, soft tissue and field of one view of ``anat``, in centimetres."""
    girdle, girdle_soft, air = _shoulder_girdle(anat, view.twist)
    arm = _arm(anat)
    carpus = _carpus(anat)
    sw = anat.soft_width
    soft = [
        *girdle_soft,
        Capsule((0.0, -1.5), (0.3, 29.0), 5.2 * sw, 3.9 * sw),
    ]
    forearm_soft = [
        Capsule((0.3, 30.0), (0.6, 55.5), 3.9 * sw, 2.5 * sw),
        Capsule((0.6, 55.5), (0.6, 60.5), 2.5 * sw, 3.0 * sw),
        Capsule((0.5, 61.0), (0.3, 65.5), 3.1 * sw, 3.0 * sw),
    ]
    hand: list[Bone] = [*carpus]
    digit_axes: dict[int, tuple[Point, Point]] = {}
    for d in range(1, 6):
        tubes, capsule, start, tip = _digit(d, anat, view.digit_bend)
        digit_axes[d] = (start, tip)
        # On a lateral or oblique finger view the other fingers are flexed out of the way.
        if anat.part == "FINGER" and view.name != "PA" and d != anat.digit:
            continue
        hand.extend(tubes)
        forearm_soft.append(capsule)
    field = _field(anat, digit_axes)

    to_field = rotation_about(field.center, field.angle)
    squeeze = to_field.then(squeeze_x(field.center[0], view.spread)).then(
        rotation_about(field.center, -field.angle)
    )
    scale = Affine((anat.size, 0.0, 0.0, anat.size), (0.0, 0.0), anat.size)
    proximal = squeeze.then(scale)
    distal = squeeze
    if view.flex:
        distal = distal.then(rotation_about(squeeze.point(ELBOW_PIVOT), view.flex))
    distal = distal.then(scale)
    return Layout(
        bones=tuple(
            [b.mapped(proximal) for b in girdle + [b for b in arm if b.group == "humerus"]]
            + [b.mapped(distal) for b in [b for b in arm if b.group in ("radius", "ulna")] + hand]
        ),
        soft=tuple([c.mapped(proximal) for c in soft] + [c.mapped(distal) for c in forearm_soft]),
        air=tuple(c.mapped(scale) for c in air),
        field=Field(
            scale.point(field.center),
            field.half_w * anat.size,
            field.half_h * anat.size,
            field.angle,
        ),
    )


def _field(anat: Anatomy, digit_axes: dict[int, tuple[Point, Point]]) -> Field:
    part = anat.part
    if part == "FINGER":
        start, tip = digit_axes[anat.digit]
        dx, dy = tip[0] - start[0], tip[1] - start[1]
        c = ((start[0] + tip[0]) / 2.0, (start[1] + tip[1]) / 2.0)
        half = float(np.hypot(dx, dy)) / 2.0 + 0.9
        return Field(c, 2.6, half, float(np.rad2deg(np.arctan2(dx, dy))))
    if part == "ELBOW":
        return Field(ELBOW_PIVOT, 7.5, 8.5)
    fields = {
        "SHOULDER": Field((-2.5, 1.5), 8.5, 8.5),
        "HUMERUS": Field((0.0, 14.5), 7.0, 18.0),
        "FOREARM": Field((0.5, 43.5), 6.5, 15.5),
        "WRIST": Field((0.6, 58.0), 4.6, 5.4),
        "HAND": Field((0.5, 65.0), 7.5, 12.0),
    }
    return fields[part]
