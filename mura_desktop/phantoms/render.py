"""Drawing one radiograph: pose, projection of soft tissue, bone and metal, exposure, noise.

Every shape is rasterised analytically on the pixel grid of its bounding box: a tube's
projected thickness through a cortical shell around a trabecular core, an ellipsoidal
soft-tissue envelope, metal as near-opaque bars and discs. The summed attenuation goes
through an exposure curve, gamma, detector blur and signal-dependent noise; a side
marker is burned in last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from mura_desktop.phantoms.anatomy import (
    Anatomy,
    Field,
    Layout,
    ViewGeometry,
    build_layout,
    sample_anatomy,
    sample_view,
)
from mura_desktop.phantoms.lesions import KINDS, Lesion, Placement, place, sample_lesion
from mura_desktop.phantoms.shapes import (
    Affine,
    Blob,
    Bone,
    Capsule,
    Focus,
    Metal,
    MetalBar,
    MetalDisc,
    Plate,
    Point,
    Tube,
    rotation_about,
    smoothstep,
)

# Parts radiographed with the fingers up; the long bones come either way up.
_BASE_ROTATIONS = {
    "ELBOW": (0.0, 180.0),
    "FINGER": (180.0,),
    "FOREARM": (0.0, 180.0),
    "HAND": (180.0,),
    "HUMERUS": (0.0,),
    "SHOULDER": (0.0,),
    "WRIST": (180.0,),
}
_POSE_TRIES = 12
# Pixel slices of a bounding box and its pixel-centre coordinates (a row and a column vector).
Box = tuple[slice, slice, np.ndarray, np.ndarray]
_TEXT_LABELS = ("AP", "PA", "LAT", "OBL", "ERECT", "SUPINE", "PORTABLE")


@dataclass
class PhantomView:
    """One synthetic radiograph: ``image`` uint8 (H, W), ``mask`` bool (H, W) of the lesions'
    regions (all False for a normal-looking view), ``kinds`` of abnormality shown (in ``KINDS``
    order), body ``part``.
    """

    image: np.ndarray
    mask: np.ndarray
    kinds: tuple[str, ...]
    part: str


@dataclass(frozen=True)
class Pose:
    """Where the field lands in the image: the cm -> pixel map and the image's size."""

    affine: Affine
    height: int
    width: int

    @property
    def long_side(self) -> int:
        return max(self.height, self.width)


def render_view(
    part: str, rng: np.random.Generator, *, size: int = 384, abnormalities: Sequence[str] = ()
) -> PhantomView:
    """Draw one view of a fresh patient's ``part`` showing each of ``abnormalities`` (once)."""
    kinds = tuple(dict.fromkeys(abnormalities))
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"unknown abnormality {kind!r}; expected one of {', '.join(KINDS)}")
    anat = sample_anatomy(part, rng)
    lesions = [sample_lesion(kind, anat, rng) for kind in kinds]
    return draw_view(anat, sample_view(anat.part, rng), lesions, rng, size=size, require=True)


def draw_view(
    anat: Anatomy,
    view: ViewGeometry,
    lesions: Sequence[Lesion],
    rng: np.random.Generator,
    *,
    size: int,
    require: bool,
) -> PhantomView:
    """Draw ``view`` of ``anat`` with those of ``lesions`` that fall inside the image.

    With ``require`` the pose is redrawn (and finally centred on the lesions) until all
    of them are inside the image.
    """
    if size < 32:
        raise ValueError(f"size must be at least 32 pixels, got {size}")
    layout = build_layout(anat, view)
    for _ in range(_POSE_TRIES):
        pose = sample_pose(anat, layout.field, rng, size)
        bones, placements = _place(layout, pose, lesions)
        if not require or all(p.visible_in(pose.height, pose.width) for p in placements):
            break
    else:
        pose = _centred_on(pose, [pt for p in placements for pt in p.core])
        bones, placements = _place(layout, pose, lesions)
    shown = [p for p in placements if p.visible_in(pose.height, pose.width)]

    shape = (pose.height, pose.width)
    replaced = {p.replaced for p in shown if p.replaced}
    drawn: list[Bone] = [b for name, b in bones.items() if name not in replaced]
    for p in shown:
        drawn.extend(p.fragments)
    foci = [f for p in shown for f in p.foci] + _bone_islands(drawn, anat, rng, pose.long_side)
    metal = [m for p in shown for m in p.metal]

    soft = _soft_tissue(
        [c.mapped(pose.affine) for c in layout.soft],
        [c.mapped(pose.affine) for c in layout.air],
        shape,
    )
    soft_scale = max(float(soft.max()), 1e-6)
    if rng.random() < 0.15:
        metal.append(_button(soft, rng, pose.long_side))
    _swell(soft, [c for p in shown for c in p.swelling])
    texture = _texture(shape, rng)
    bone = _bones(drawn, foci, shape, texture, anat.medulla, pose.long_side)
    image = _expose(
        soft, soft_scale, bone, _metal(metal, shape) if metal else None, rng, pose.long_side
    )
    image = _burn_in_text(image, anat.side, view, rng)
    mask = _region_mask([c for p in shown for c in p.region], shape)
    kinds = tuple(sorted({p.kind for p in shown}, key=KINDS.index))
    return PhantomView(image, mask, kinds, anat.part)


def sample_pose(anat: Anatomy, field: Field, rng: np.random.Generator, size: int) -> Pose:
    """Image size and the map that puts ``field`` into it, rotated, scaled and shifted."""
    aspect = float(rng.uniform(0.7, 1.3))
    if aspect >= 1.0:
        height, width = size, max(16, round(size / aspect))
    else:
        height, width = max(16, round(size * aspect)), size
    rot = float(rng.choice(_BASE_ROTATIONS[anat.part])) + float(np.clip(rng.normal(0, 7), -18, 18))
    if rng.random() < 0.12:
        rot += 90.0
    stretch = float(rng.uniform(-0.05, 0.05))
    mirror = -1.0 if anat.side == "R" else 1.0
    align = Affine(offset=(-field.center[0], -field.center[1])).then(
        rotation_about((0.0, 0.0), field.angle)
    )
    shape_map = align.then(
        Affine((mirror * (1 + stretch), 0.0, 0.0, 1 - stretch), radius_scale=1.0)
    ).then(rotation_about((0.0, 0.0), rot))
    corners = [
        shape_map.point((sx * field.half_w + field.center[0], sy * field.half_h + field.center[1]))
        for sx in (-1, 1)
        for sy in (-1, 1)
    ]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    scale = float(rng.uniform(0.9, 1.12)) * min(
        width / (max(xs) - min(xs)), height / (max(ys) - min(ys))
    )
    centre = (
        width / 2 + float(rng.uniform(-0.05, 0.05)) * width,
        height / 2 + float(rng.uniform(-0.05, 0.05)) * height,
    )
    affine = shape_map.then(Affine((scale, 0.0, 0.0, scale), centre, scale))
    return Pose(affine, height, width)


def _place(
    layout: Layout, pose: Pose, lesions: Sequence[Lesion]
) -> tuple[dict[str, Bone], list[Placement]]:
    bones = {b.name: b.mapped(pose.affine) for b in layout.bones}
    return bones, [place(les, bones, pose.long_side) for les in lesions if les.bone in bones]


def _centred_on(pose: Pose, points: Sequence[tuple[float, float]]) -> Pose:
    cx = float(np.mean([p[0] for p in points]))
    cy = float(np.mean([p[1] for p in points]))
    shift = Affine(offset=(pose.width / 2 - cx, pose.height / 2 - cy))
    return Pose(pose.affine.then(shift), pose.height, pose.width)


def _box(x0: float, y0: float, x1: float, y1: float, shape: tuple[int, int]) -> Box | None:
    """Pixel slices and centre coordinates (row vector, column vector) of a clipped box."""
    h, w = shape
    c0, c1 = max(0, int(np.floor(x0))), min(w, int(np.ceil(x1)) + 1)
    r0, r1 = max(0, int(np.floor(y0))), min(h, int(np.ceil(y1)) + 1)
    if c0 >= c1 or r0 >= r1:
        return None
    xs = np.arange(c0, c1, dtype=np.float32)[None, :] + 0.5
    ys = np.arange(r0, r1, dtype=np.float32)[:, None] + 0.5
    return slice(r0, r1), slice(c0, c1), xs, ys


def _segment_box(p0: Point, p1: Point, r: float, shape: tuple[int, int]) -> Box | None:
    return _box(
        min(p0[0], p1[0]) - r,
        min(p0[1], p1[1]) - r,
        max(p0[0], p1[0]) + r,
        max(p0[1], p1[1]) + r,
        shape,
    )


def _capsule_u(c: Capsule, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised distance to a capsule's axis (1 on its surface) and its local radius."""
    dx, dy = c.p1[0] - c.p0[0], c.p1[1] - c.p0[1]
    ll = dx * dx + dy * dy
    px, py = xs - c.p0[0], ys - c.p0[1]
    t = np.clip((px * dx + py * dy) / ll, 0.0, 1.0) if ll > 0 else np.zeros_like(px * py)
    r = c.r0 + (c.r1 - c.r0) * t
    return np.hypot(px - t * dx, py - t * dy) / r, r


def _soft_tissue(soft: list[Capsule], air: list[Capsule], shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, np.float32)
    for c in soft:
        box = _segment_box(c.p0, c.p1, max(c.r0, c.r1), shape)
        if box is None:
            continue
        rows, cols, xs, ys = box
        u, r = _capsule_u(c, xs, ys)
        np.maximum(
            out[rows, cols], 2.0 * r * np.sqrt(np.maximum(1.0 - u * u, 0.0)), out=out[rows, cols]
        )
    for c in air:
        box = _segment_box(c.p0, c.p1, max(c.r0, c.r1), shape)
        if box is None:
            continue
        rows, cols, xs, ys = box
        u, _ = _capsule_u(c, xs, ys)
        out[rows, cols] *= 1.0 - 0.55 * np.sqrt(np.maximum(1.0 - u * u, 0.0))
    return out


def _swell(soft: np.ndarray, swelling: list[Capsule]) -> None:
    """Thicken the soft tissue around an injury (in place)."""
    for c in swelling:
        box = _segment_box(c.p0, c.p1, max(c.r0, c.r1), soft.shape)
        if box is None:
            continue
        rows, cols, xs, ys = box
        u, _ = _capsule_u(c, xs, ys)
        soft[rows, cols] *= 1.0 + 0.7 * np.sqrt(np.maximum(1.0 - u * u, 0.0))


def _texture(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Smooth random field (about unit variance) standing in for trabecular pattern."""
    h, w = shape
    coarse = rng.standard_normal((max(2, h // 7), max(2, w // 7))).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, mode="F").resize((w, h), Image.BICUBIC))


def _shell(
    u2: np.ndarray, k: np.ndarray | float, density: float, medulla: np.ndarray
) -> np.ndarray:
    """Chord lengths through a cortical shell (outer radius 1, inner ``k``) and its core."""
    outer = np.sqrt(np.maximum(1.0 - u2, 0.0))
    inner = np.sqrt(np.maximum(k * k - u2, 0.0))
    return 2.0 * (density * (outer - inner) + medulla * inner)


def _tube(
    t: Tube, xs: np.ndarray, ys: np.ndarray, medulla: np.ndarray, long_side: float
) -> np.ndarray:
    e, _ = t.axis()
    length = max(t.length, 1e-6)
    px, py = xs - t.p0[0], ys - t.p0[1]
    s = px * e[0] + py * e[1]
    q = -px * e[1] + py * e[0]
    f = s / length
    w0 = smoothstep(np.clip(1.0 - f / t.flare0, 0.0, 1.0))
    w1 = smoothstep(np.clip(1.0 - (1.0 - f) / t.flare1, 0.0, 1.0))
    radius = t.r_mid + (t.r0 - t.r_mid) * w0 + (t.r1 - t.r_mid) * w1
    beyond = np.where(
        s < 0, -s / (t.cap0 * t.r0), np.where(s > length, (s - length) / (t.cap1 * t.r1), 0)
    )
    u2 = (q / radius) ** 2 + beyond**2
    k = 1.0 - t.cortex * (1.0 - 0.75 * np.maximum(w0, w1))
    proj = radius * _shell(u2, k, t.density, medulla)
    for phys in t.physes:
        width = max(0.6, 0.004 * long_side)
        proj *= 1.0 - 0.6 * np.exp(-(((s - phys * length) / width) ** 2))
    for clip in t.clips:
        d = (xs - clip.point[0]) * clip.normal[0] + (ys - clip.point[1]) * clip.normal[1]
        proj *= np.clip(d - clip.offset + 0.5, 0.0, 1.0)
    return proj


def _rotated(
    xs: np.ndarray, ys: np.ndarray, center: Point, angle: float
) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in the frame of an ellipse centred at ``center``, rotated by ``angle``."""
    th = np.deg2rad(angle)
    c, s = np.cos(th), np.sin(th)
    dx, dy = xs - center[0], ys - center[1]
    return dx * c + dy * s, -dx * s + dy * c


def _blob(b: Blob, xs: np.ndarray, ys: np.ndarray, medulla: np.ndarray) -> np.ndarray:
    x, y = _rotated(xs, ys, b.center, b.angle)
    u2 = (x / b.a) ** 2 + (y / b.b) ** 2
    return np.sqrt(b.a * b.b) * _shell(u2, 1.0 - b.cortex, b.density, medulla)


def _plate(p: Plate, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    v = np.array(p.vertices)
    area = np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1])
    inside = None
    for a, b in zip(v, np.roll(v, -1, axis=0), strict=True):
        edge = (b - a) / np.hypot(*(b - a))
        normal = np.array([-edge[1], edge[0]]) * (1.0 if area > 0 else -1.0)
        d = (xs - a[0]) * normal[0] + (ys - a[1]) * normal[1]
        inside = d if inside is None else np.minimum(inside, d)
    assert inside is not None
    cover = np.clip(inside + 0.5, 0.0, 1.0)
    return p.thickness * cover * (1.0 + p.rim * np.exp(-np.maximum(inside, 0.0) / p.rim_width))


def _bone_box(b: Bone, shape: tuple[int, int]) -> Box | None:
    if isinstance(b, Tube):
        return _segment_box(b.p0, b.p1, b.max_radius() + 1.0, shape)
    if isinstance(b, Blob):
        r = max(b.a, b.b) + 1.0
        return _box(b.center[0] - r, b.center[1] - r, b.center[0] + r, b.center[1] + r, shape)
    v = np.array(b.vertices)
    return _box(v[:, 0].min() - 1, v[:, 1].min() - 1, v[:, 0].max() + 1, v[:, 1].max() + 1, shape)


def _bones(
    bones: list[Bone],
    foci: list[Focus],
    shape: tuple[int, int],
    texture: np.ndarray,
    medulla: float,
    long_side: float,
) -> np.ndarray:
    """Summed bone thickness; parts of one bone (one ``group``) merge by maximum."""
    out = np.zeros(shape, np.float32)
    groups: dict[str, list[Bone]] = {}
    for b in bones:
        groups.setdefault(b.group, []).append(b)
    for name, members in groups.items():
        boxes = [(b, _bone_box(b, shape)) for b in members]
        boxes = [(b, box) for b, box in boxes if box is not None]
        if not boxes:
            continue
        r0 = min(box[0].start for _, box in boxes)
        r1 = max(box[0].stop for _, box in boxes)
        c0 = min(box[1].start for _, box in boxes)
        c1 = max(box[1].stop for _, box in boxes)
        acc = np.zeros((r1 - r0, c1 - c0), np.float32)
        for b, (rows, cols, xs, ys) in boxes:
            med = medulla * (1.0 + 0.16 * texture[rows, cols])
            if isinstance(b, Tube):
                proj = _tube(b, xs, ys, med, long_side)
            elif isinstance(b, Blob):
                proj = _blob(b, xs, ys, med)
            else:
                proj = _plate(b, xs, ys)
            sub = acc[rows.start - r0 : rows.stop - r0, cols.start - c0 : cols.stop - c0]
            np.maximum(sub, proj, out=sub)
        xs = np.arange(c0, c1, dtype=np.float32)[None, :] + 0.5
        ys = np.arange(r0, r1, dtype=np.float32)[:, None] + 0.5
        for f in foci:
            if f.group == name:
                x, y = _rotated(xs, ys, f.center, f.angle)
                v = np.sqrt((x / f.a) ** 2 + (y / f.b) ** 2)
                inside = smoothstep(np.clip((1.0 - v) / 0.3, 0.0, 1.0))
                acc *= 1.0 + f.gain * inside + f.rim * np.exp(-(((v - 1.0) / 0.12) ** 2))
        out[r0:r1, c0:c1] += acc
    return out


def _bone_islands(
    bones: list[Bone], anat: Anatomy, rng: np.random.Generator, long_side: float
) -> list[Focus]:
    """Benign dense spots in some bones, so that not every focal change is a lesion."""
    tubes = [
        b for b in bones if isinstance(b, Tube) and b.fracturable and b.r_mid > 0.01 * long_side
    ]
    if not tubes or rng.random() >= 0.2:
        return []
    t = tubes[int(rng.integers(len(tubes)))]
    e, n = t.axis()
    pos = t.at(float(rng.uniform(0.15, 0.85)))
    r = t.r_mid * float(rng.uniform(0.15, 0.3))
    angle = float(np.rad2deg(np.arctan2(e[1], e[0])))
    c = pos + float(rng.uniform(-0.3, 0.3)) * t.r_mid * n
    return [Focus(t.group, (float(c[0]), float(c[1])), r * 1.4, r, angle, 0.45 * anat.density)]


def _metal(metal: list[Metal], shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, np.float32)
    for m in metal:
        if isinstance(m, MetalBar):
            box = _segment_box(m.p0, m.p1, m.half_width + 1.0, shape)
            if box is None:
                continue
            rows, cols, xs, ys = box
            dx, dy = m.p1[0] - m.p0[0], m.p1[1] - m.p0[1]
            length = max(float(np.hypot(dx, dy)), 1e-6)
            px, py = xs - m.p0[0], ys - m.p0[1]
            s = (px * dx + py * dy) / length
            q = np.abs(-px * dy + py * dx) / length
            hw = m.half_width
            if m.pitch > 0:
                hw = hw * (1.0 + 0.3 * np.cos(2 * np.pi * s / m.pitch))
            cover = np.clip(hw - q + 0.5, 0.0, 1.0) * np.clip(
                np.minimum(s, length - s) + 0.5, 0.0, 1.0
            )
        else:
            r = max(m.a, m.b) + 1.0
            box = _box(m.center[0] - r, m.center[1] - r, m.center[0] + r, m.center[1] + r, shape)
            if box is None:
                continue
            rows, cols, xs, ys = box
            x, y = _rotated(xs, ys, m.center, m.angle)
            u = np.sqrt((x / m.a) ** 2 + (y / m.b) ** 2)
            edge = min(m.a, m.b)
            cover = np.clip((1.0 - u) * edge + 0.5, 0.0, 1.0)
            if m.inner > 0:
                cover *= np.clip((u - m.inner) * edge + 0.5, 0.0, 1.0)
        out[rows, cols] += m.mu * cover
    return out


def _button(soft: np.ndarray, rng: np.random.Generator, long_side: float) -> MetalDisc:
    """A snap or ring on the skin: bright like metal, harmless."""
    candidates = np.flatnonzero(soft > 0.35 * soft.max())
    idx = int(candidates[int(rng.integers(candidates.size))]) if candidates.size else soft.size // 2
    y, x = divmod(idx, soft.shape[1])
    r = float(rng.uniform(0.015, 0.035)) * long_side
    inner = float(rng.choice([0.0, 0.55, 0.7]))
    return MetalDisc((x + 0.5, y + 0.5), r, r * float(rng.uniform(0.85, 1.0)), 2.5, 0.0, inner)


def _expose(
    soft: np.ndarray,
    scale: float,
    bone: np.ndarray,
    metal: np.ndarray | None,
    rng: np.random.Generator,
    long_side: float,
) -> np.ndarray:
    """Attenuation -> 8-bit display: exposure, gamma, collimation, blur, heel effect, noise.

    Soft tissue and bone are divided by ``scale`` (the thickest soft tissue of the
    unswollen limb), standing in for an exposure chosen for the body part.
    """
    h, w = soft.shape
    gain = float(rng.uniform(0.8, 1.2))
    atten = soft * (0.55 * gain / scale)
    atten += bone * (float(rng.uniform(3.2, 4.6)) * gain / scale)
    if metal is not None:
        atten += metal * gain
    np.negative(atten, out=atten)
    np.exp(atten, out=atten)
    exposure = ((1.0 - atten) * 255.0 + 0.5).astype(np.uint8)
    # Display curve (gamma between the detector's black and white levels) as a lookup table.
    background = float(rng.uniform(0.02, 0.1))
    white = float(rng.uniform(0.86, 1.0))
    levels = np.linspace(0.0, 1.0, 256) ** float(rng.uniform(0.75, 1.3))
    lut = np.round(255.0 * (background + (white - background) * levels)).astype(np.uint8)
    image = lut[exposure]
    if rng.random() < 0.25:
        image = _collimate(image, rng)
    radius = float(rng.uniform(0.4, 1.1)) * long_side / 384.0
    blurred = Image.fromarray(image, mode="L").filter(ImageFilter.GaussianBlur(radius))
    signal = np.asarray(blurred, dtype=np.float32) * np.float32(1 / 255)
    signal += float(rng.uniform(-0.08, 0.08)) * (np.arange(h, dtype=np.float32)[:, None] / h - 0.5)
    # Quantum noise grows with the signal; a sum of two uniforms is a cheap near-Gaussian.
    noise = rng.random((h, w), dtype=np.float32)
    noise += rng.random((h, w), dtype=np.float32)
    noise -= 1.0
    noise *= np.sqrt(signal + 0.05) * (float(rng.uniform(0.01, 0.035)) * np.sqrt(6.0))
    signal += noise
    return np.clip(signal * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _collimate(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shutter edges: the unexposed border reads light grey."""
    h, w = image.shape
    top, bottom = (int(f * h) for f in rng.uniform(0.0, 0.08, 2))
    left, right = (int(f * w) for f in rng.uniform(0.0, 0.08, 2))
    out = np.full_like(image, int(rng.integers(115, 217)))
    out[top : h - bottom, left : w - right] = image[top : h - bottom, left : w - right]
    return out


def _burn_in_text(
    image: np.ndarray, side: str, view: ViewGeometry, rng: np.random.Generator
) -> np.ndarray:
    h, w = image.shape
    pil = Image.fromarray(image, mode="L")
    draw = ImageDraw.Draw(pil)
    long_side = max(h, w)
    corners = [(0, 0), (1, 0), (0, 1), (1, 1)]
    order = rng.permutation(4)
    for k, text in enumerate([side] + ([_label(view, rng)] if rng.random() < 0.3 else [])):
        size = max(
            8,
            int(long_side * float(rng.uniform(0.05, 0.08) if k == 0 else rng.uniform(0.03, 0.045))),
        )
        font = ImageFont.load_default(size=size)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        cx, cy = corners[int(order[k])]
        pad = int(long_side * 0.03)
        x = pad if cx == 0 else w - pad - (right - left)
        y = pad if cy == 0 else h - pad - (bottom - top)
        fill = int(rng.integers(215, 256))
        draw.text((x - left, y - top), text, fill=fill, font=font)
        if k == 0 and rng.random() < 0.4:
            draw.rectangle((x - 3, y - 3, x + right - left + 3, y + bottom - top + 3), outline=fill)
    return np.asarray(pil)


def _label(view: ViewGeometry, rng: np.random.Generator) -> str:
    return view.name if rng.random() < 0.5 else str(rng.choice(_TEXT_LABELS))


def _region_mask(region: list[Capsule], shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for c in region:
        box = _segment_box(c.p0, c.p1, max(c.r0, c.r1), shape)
        if box is None:
            continue
        rows, cols, xs, ys = box
        u, _ = _capsule_u(c, xs, ys)
        mask[rows, cols] |= u <= 1.0
    return mask
