"""Abnormalities: where a study's lesion sits on the limb, and what it does to one view.

A ``Lesion`` is drawn once per study in bone coordinates (which bone, how far along it),
so every view that shows it shows the same lesion. ``place`` turns it into pixels for
one view: fragments that replace the broken bone, density changes, metal, and the
ground-truth region.

The ground-truth region is the lesion's footprint plus a margin of
``MASK_MARGIN`` of the image's long side, and never smaller than a disc of radius
``MASK_MIN_RADIUS`` of the long side about the lesion: a localisation target that a
coarse heatmap can hit (a class-activation map of a 160-px input is 5x5 cells, each 1/5
of the side).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mura_desktop.phantoms.anatomy import Anatomy, Layout, ViewGeometry, build_layout
from mura_desktop.phantoms.shapes import (
    Affine,
    Blob,
    Bone,
    Capsule,
    Clip,
    Focus,
    Metal,
    MetalBar,
    MetalDisc,
    Point,
    Tube,
    rotation_about,
)

KINDS: tuple[str, ...] = ("fracture", "lytic", "hardware")
MASK_MARGIN = 0.03
MASK_MIN_RADIUS = 0.1
_NEUTRAL_VIEW = ViewGeometry("AP", 1.0, 0.0, 0.0, 0.0)
_TS = np.linspace(0.1, 0.9, 17)


@dataclass(frozen=True)
class Lesion:
    """One abnormality of a study, in bone coordinates.

    ``bone`` names the shape it sits on; ``t`` is the position along a tube's axis
    (0 at its proximal end) and ``offset`` the position across it, in local radii.
    ``size``/``aspect``: a lucency's half-length in local radii and its width/length
    ratio, a plate's length as a fraction of the bone, or a fracture gap as a fraction
    of the image's long side. ``angle``: a fracture's
    obliquity or a wire's angle to the bone's normal, in degrees. ``shift``/``tilt``:
    a fracture's displacement (radii) and angulation (degrees). ``variant``:
    plate | rod | wires | prosthesis for hardware; rim | plain | expansile for a lucency;
    callus | impacted | chip | simple for a fracture.
    """

    kind: str
    bone: str
    t: float = 0.5
    offset: float = 0.0
    size: float = 0.0
    aspect: float = 1.0
    angle: float = 0.0
    shift: float = 0.0
    tilt: float = 0.0
    variant: str = ""


@dataclass(frozen=True)
class Placement:
    """What one lesion changes in one view (pixel units)."""

    kind: str
    replaced: str | None
    fragments: tuple[Bone, ...]
    foci: tuple[Focus, ...]
    metal: tuple[Metal, ...]
    region: tuple[Capsule, ...]
    core: tuple[Point, ...]
    swelling: tuple[Capsule, ...] = ()

    def visible_in(self, height: int, width: int) -> bool:
        """True when some of the lesion itself (not just its margin) lies inside the image."""
        return any(1.0 <= x <= width - 1.0 and 1.0 <= y <= height - 1.0 for x, y in self.core)


def _in_field(layout: Layout, points: np.ndarray, shrink: float) -> np.ndarray:
    f = layout.field
    rot = rotation_about(f.center, f.angle)
    a, b, c, d = rot.matrix
    x = a * points[:, 0] + b * points[:, 1] + rot.offset[0] - f.center[0]
    y = c * points[:, 0] + d * points[:, 1] + rot.offset[1] - f.center[1]
    return (np.abs(x) <= shrink * f.half_w) & (np.abs(y) <= shrink * f.half_h)


def _candidates(kind: str, anat: Anatomy) -> list[tuple[Bone, np.ndarray, float]]:
    """Bones ``kind`` can strike inside the part's field: (bone, usable t values, weight)."""
    layout = build_layout(anat, _NEUTRAL_VIEW)
    out: list[tuple[Bone, np.ndarray, float]] = []
    for bone in layout.bones:
        if anat.part == "FINGER" and not bone.name.endswith(str(anat.digit)):
            continue
        if isinstance(bone, Tube):
            if not bone.fracturable:
                continue
            pts = np.array([bone.at(t) for t in _TS])
            ts = _TS[_in_field(layout, pts, 0.8)]
            if ts.size:
                weight = bone.r_mid**2.5 * ts.size
                out.append((bone, ts, float(weight)))
        elif (
            isinstance(bone, Blob)
            and kind != "fracture"
            and bone.name != "clavicle_curve"
            and _in_field(layout, np.array([bone.center]), 0.8)[0]
        ):
            out.append((bone, np.array([0.5]), float(min(bone.a, bone.b) ** 2.5 * 6)))
    return out


def sample_lesion(kind: str, anat: Anatomy, rng: np.random.Generator) -> Lesion:
    """Draw a ``kind`` abnormality on a bone of ``anat`` that the part's field shows."""
    if kind not in KINDS:
        raise ValueError(f"unknown abnormality {kind!r}; expected one of {', '.join(KINDS)}")
    cands = _candidates(kind, anat)
    weights = np.array([w for _, _, w in cands])
    bone, ts, _ = cands[int(rng.choice(len(cands), p=weights / weights.sum()))]
    t = float(np.clip(rng.choice(ts) + rng.uniform(-0.04, 0.04), 0.08, 0.92))
    sign = float(rng.choice([-1.0, 1.0]))
    if kind == "fracture":
        return Lesion(
            kind,
            bone.name,
            t=t,
            size=float(rng.uniform(0.022, 0.035)),
            angle=float(rng.uniform(-35.0, 35.0)),
            shift=sign * float(rng.uniform(1.0, 1.8)),
            tilt=float(rng.choice([-1.0, 1.0]) * rng.uniform(10.0, 25.0)),
            variant=str(
                rng.choice(["callus", "impacted", "chip", "simple"], p=[0.6, 0.2, 0.1, 0.1])
            ),
        )
    if kind == "lytic":
        return Lesion(
            kind,
            bone.name,
            t=t,
            offset=float(rng.uniform(-0.3, 0.3)),
            size=float(rng.uniform(0.8, 1.5)),
            aspect=float(rng.uniform(0.6, 0.9)),
            angle=float(rng.uniform(-20.0, 20.0)),
            variant=str(rng.choice(["rim", "plain", "expansile"], p=[0.35, 0.2, 0.45])),
        )
    if isinstance(bone, Blob):
        if bone.name == "humeral_head" and rng.random() < 0.6:
            return Lesion(kind, bone.name, variant="prosthesis")
        variant = "wires"
    elif bone.length >= 8.0 and rng.random() < 0.3:
        variant = "rod"
    elif bone.length >= 2.5:
        variant = "plate"
    else:
        variant = "wires"
    return Lesion(
        kind,
        bone.name,
        t=t,
        offset=float(rng.uniform(-0.35, 0.35)),
        size=float(rng.uniform(0.3, 0.55)),
        angle=sign * float(rng.uniform(15.0, 45.0)),
        variant=variant,
    )


def place(lesion: Lesion, bones: dict[str, Bone], long_side: float) -> Placement:
    """Turn ``lesion`` into pixels for one view whose bones (pixel units) are ``bones``."""
    bone = bones[lesion.bone]
    if lesion.kind == "fracture":
        assert isinstance(bone, Tube)
        return _fracture(lesion, bone, long_side)
    if lesion.kind == "lytic":
        return _lucency(lesion, bone, long_side)
    return _hardware(lesion, bone, bones, long_side)


def _region(p0: np.ndarray, p1: np.ndarray, core_radius: float, long_side: float) -> Capsule:
    r = max(core_radius + MASK_MARGIN * long_side, MASK_MIN_RADIUS * long_side)
    return Capsule(_pt(p0), _pt(p1), r, r)


def _pt(p: np.ndarray) -> Point:
    return (float(p[0]), float(p[1]))


def _fracture(lesion: Lesion, tube: Tube, long_side: float) -> Placement:
    e, n = tube.axis()
    f = tube.at(lesion.t)
    r = tube.radius_at(lesion.t)
    psi = np.deg2rad(lesion.angle)
    line = np.cos(psi) * n + np.sin(psi) * e
    cut = np.cos(psi) * e - np.sin(psi) * n
    gap = max(1.2, lesion.size * long_side)
    # Small bones in a wide field (a metacarpal on a hand film) still show a visible break:
    # displacement, callus and swelling have floors relative to the image.
    shift = np.sign(lesion.shift) * max(abs(lesion.shift) * r, 0.035 * long_side)
    # The rest of the limb does not follow the fragment: cap how far its far end swings.
    far = max((1.0 - lesion.t) * tube.length, 1.0)
    tilt = np.sign(lesion.tilt) * min(
        abs(lesion.tilt), np.rad2deg(np.arctan(0.08 * long_side / far))
    )
    if lesion.variant == "impacted":
        # The fragments are driven into each other and overlap in a dense band.
        gap, shift = -max(lesion.size * long_side, 2.0), 0.3 * shift
    move = rotation_about(_pt(f), float(tilt)).then(Affine(offset=_pt(shift * n)))
    moved_cut = np.array(move.vector(_pt(cut)))
    proximal = replace(tube, clips=(*tube.clips, Clip(_pt(f), _pt(-cut), gap / 2)))
    # A group of its own: where the fragments overlap, their densities add.
    distal = replace(
        tube.mapped(move),
        name=tube.name + "/distal",
        group=tube.group + "/distal",
        clips=(*tube.clips, Clip(move.point(_pt(f)), _pt(moved_cut), gap / 2)),
    )
    fragments: tuple[Bone, ...] = (proximal, distal)
    angle = float(np.rad2deg(np.arctan2(e[1], e[0])))
    if lesion.variant == "chip":
        size = max(r, 0.025 * long_side)
        chip = f + (r + 0.3 * size) * np.sign(lesion.shift) * n + 0.4 * size * e
        fragments += (
            Blob(
                tube.name + "/chip",
                tube.group + "/chip",
                _pt(chip),
                0.45 * size,
                0.25 * size,
                angle,
            ),
        )
    elif lesion.variant == "callus":
        # A healing fracture: a cuff of woven bone, trabecular without a cortex.
        a = max((1.6 + 0.5 * abs(lesion.shift)) * r, 0.07 * long_side)
        b = max(1.5 * r, 0.05 * long_side)
        fragments += (
            Blob(tube.name + "/callus", tube.group + "/callus", _pt(f), a, b, angle, 0.0),
        )
    half = r / max(np.cos(psi), 0.5)
    ends = (f - half * line, f + half * line)
    core = tuple(_pt(f + s * half * line) for s in np.linspace(-0.8, 0.8, 9))
    reach, bulge = max(3.0 * r, 0.06 * long_side), max(4.0 * r, 0.08 * long_side)
    swelling = Capsule(_pt(f - reach * e), _pt(f + reach * e), bulge, bulge)
    return Placement(
        "fracture",
        tube.name,
        fragments,
        (),
        (),
        (_region(ends[0], ends[1], max(1.2 * r, abs(shift)), long_side),),
        core,
        (swelling,),
    )


def _site(lesion: Lesion, bone: Bone) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Centre, axis, normal, local radius and axis angle (degrees) of a lesion on ``bone``."""
    if isinstance(bone, Tube):
        e, n = bone.axis()
        r = bone.radius_at(lesion.t)
        c = bone.at(lesion.t) + lesion.offset * r * n
        return c, e, n, r, float(np.rad2deg(np.arctan2(e[1], e[0])))
    assert isinstance(bone, Blob)
    th = np.deg2rad(bone.angle)
    e = np.array([np.cos(th), np.sin(th)])
    n = np.array([-e[1], e[0]])
    r = min(bone.a, bone.b)
    return np.array(bone.center) + lesion.offset * r * n, e, n, r, bone.angle


def _lucency(lesion: Lesion, bone: Bone, long_side: float) -> Placement:
    c, _, _, r, axis_deg = _site(lesion, bone)
    a = max(lesion.size * r, 0.05 * long_side)
    b = max(lesion.aspect * a, 0.038 * long_side)
    angle = axis_deg + lesion.angle
    rim = 0.0 if lesion.variant == "plain" else 0.8
    focus = Focus(bone.group, _pt(c), a, b, angle, -0.97, rim)
    shell: tuple[Bone, ...] = ()
    if lesion.variant == "expansile":
        # The lesion has blown the cortex out into a thin shell wider than the bone.
        density = bone.density if isinstance(bone, (Tube, Blob)) else 1.0
        width = max(1.1 * b, 1.35 * r)
        shell = (
            Blob(bone.name + "/shell", bone.group, _pt(c), 1.08 * a, width, angle, 0.12, density),
        )
    region = (_region(c, c, max(a, b), long_side),)
    return Placement("lytic", None, shell, (focus,), (), region, (_pt(c),))


def _hardware(lesion: Lesion, bone: Bone, bones: dict[str, Bone], long_side: float) -> Placement:
    c, e, n, r, _ = _site(lesion, bone)
    thin = max(0.6, 0.012 * long_side)
    metal: list[Metal] = []
    if lesion.variant == "prosthesis":
        assert isinstance(bone, Blob)
        shaft = bones["humerus"]
        assert isinstance(shaft, Tube)
        metal.append(MetalDisc(bone.center, bone.a * 0.95, bone.b * 0.9, 3.5, bone.angle))
        stem_end = shaft.at(0.3)
        metal.append(MetalBar(bone.center, _pt(stem_end), 0.4 * shaft.r_mid, 3.5))
        region = (
            _region(np.array(bone.center), np.array(bone.center), max(bone.a, bone.b), long_side),
            _region(np.array(bone.center), stem_end, 0.4 * shaft.r_mid, long_side),
        )
        core = (bone.center, _pt((np.array(bone.center) + stem_end) / 2), _pt(stem_end))
        return Placement("hardware", None, (), (), tuple(metal), region, core)
    if lesion.variant == "wires" or not isinstance(bone, Tube):
        half_w = max(0.6, 0.007 * long_side, 0.09 * r)
        reach = max(1.6 * r, 0.05 * long_side)
        ends = []
        for k, sign in enumerate((1.0, -1.0)[: 1 + int(abs(lesion.offset) > 0.15)]):
            th = np.deg2rad(sign * lesion.angle)
            d = np.cos(th) * n + np.sin(th) * e
            p = c + (k * 0.9 * r) * e
            a, b = p - reach * d, p + reach * d
            metal.append(MetalBar(_pt(a), _pt(b), half_w, 4.0))
            ends += [a, b]
        core = (*(_pt(p) for p in ends), _pt(c))
        region = tuple(
            _region(ends[i], ends[i + 1], half_w, long_side) for i in range(0, len(ends), 2)
        )
        return Placement("hardware", None, (), (), tuple(metal), region, core)
    if lesion.variant == "rod":
        a, b = bone.at(0.05), bone.at(0.93)
        metal.append(MetalBar(_pt(a), _pt(b), max(thin, 0.24 * bone.r_mid), 3.0))
        for t in (0.1, 0.86):
            p, rr = bone.at(t), bone.radius_at(t)
            metal.append(
                MetalBar(
                    _pt(p - 1.15 * rr * n),
                    _pt(p + 1.15 * rr * n),
                    max(thin / 2, 0.1 * rr),
                    3.0,
                    pitch=max(2.0, 0.22 * rr),
                )
            )
        core = tuple(_pt(bone.at(t)) for t in np.linspace(0.05, 0.93, 9))
        return Placement(
            "hardware", None, (), (), tuple(metal), (_region(a, b, r, long_side),), core
        )
    t0 = max(0.03, lesion.t - lesion.size / 2)
    t1 = min(0.97, lesion.t + lesion.size / 2)
    across = lesion.offset * bone.r_mid * n
    a, b = bone.at(t0) + across, bone.at(t1) + across
    metal.append(MetalBar(_pt(a), _pt(b), max(thin, 0.3 * bone.r_mid), 3.2))
    n_screws = int(np.clip(round((t1 - t0) * bone.length / (1.8 * bone.r_mid)), 2, 8))
    side = n if lesion.offset >= 0 else -n
    margin = 0.3 * (t1 - t0) / n_screws
    for t in np.linspace(t0 + margin, t1 - margin, n_screws):
        p, rr = bone.at(t), bone.radius_at(t)
        metal.append(
            MetalBar(
                _pt(p - 1.15 * rr * side),
                _pt(p + 1.0 * rr * side),
                max(thin / 2, 0.11 * rr),
                2.6,
                pitch=max(2.0, 0.25 * rr),
            )
        )
        metal.append(
            MetalBar(
                _pt(p + 0.95 * rr * side), _pt(p + 1.25 * rr * side), max(thin, 0.22 * rr), 3.0
            )
        )
    core = tuple(_pt(a + s * (b - a)) for s in np.linspace(0.0, 1.0, 9))
    return Placement(
        "hardware", None, (), (), tuple(metal), (_region(a, b, 1.2 * r, long_side),), core
    )
