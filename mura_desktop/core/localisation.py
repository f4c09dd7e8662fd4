"""How well heatmaps point at ground-truth regions: the localisation metrics, without torch.

Each view is a heatmap and a boolean mask of the same (H, W), the image's native
resolution. Four measures, the first three of which ask whether the map's most
attended part lies in the region:

- *pointing game, strict*: the map's peak (its argmax) lies inside the mask;
- *pointing game, 15 px*: the peak lies within ``TOLERANCE_PX`` pixels of the mask, at the
  image's native resolution (Zhang et al. 2016, "Top-down neural attention by excitation
  backprop");
- *energy*: the share of the map's mass inside the mask (the energy-based pointing game of
  Wang et al. 2020, Score-CAM), with negative values counted as zero;
- *pixel AUROC*: the map as a score of each pixel against the mask (per view, averaged);

and, to see whether misses lean one way, the *peak offset*: the peak's position minus the
mask's centroid, in native pixels (rows down, columns right), averaged over the views.

Summaries group views by their abnormality kinds (``"fracture"``, ``"lytic+hardware"``, ...)
and overall (``ALL``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from mura_desktop.core.metrics import OVERALL, roc_auc

TOLERANCE_PX = 15.0
MEASURES = ("strict", "tolerance", "energy", "pixel_auroc")


@dataclass(frozen=True)
class ViewLocalisation:
    """The four measures of one view's heatmap against its mask."""

    strict: bool
    tolerance: bool
    energy: float
    pixel_auroc: float
    offset: tuple[float, float] = (0.0, 0.0)


def peak(heatmap: np.ndarray) -> tuple[int, int]:
    """(row, column) of the heatmap's maximum (the first one on ties)."""
    row, column = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
    return int(row), int(column)


def localise(
    heatmap: np.ndarray, mask: np.ndarray, tolerance_px: float = TOLERANCE_PX
) -> ViewLocalisation:
    """Measure ``heatmap`` against a non-empty boolean ``mask`` of the same shape."""
    if heatmap.shape != mask.shape:
        raise ValueError(f"heatmap {heatmap.shape} and mask {mask.shape} differ in shape")
    if not mask.any():
        raise ValueError("an empty mask has nothing to point at")
    row, column = peak(heatmap)
    rows, columns = np.nonzero(mask)
    nearest = float(np.min((rows - row) ** 2 + (columns - column) ** 2))
    positive = np.clip(heatmap.astype(np.float64), 0.0, None)
    total = positive.sum()
    energy = float(positive[mask].sum() / total) if total > 0 else 0.0
    return ViewLocalisation(
        strict=bool(mask[row, column]),
        tolerance=nearest <= tolerance_px**2,
        energy=energy,
        pixel_auroc=roc_auc(mask.ravel(), heatmap.ravel()),
        offset=(row - float(rows.mean()), column - float(columns.mean())),
    )


@dataclass(frozen=True)
class LocalisationSummary:
    """Shares of views hit (strict, tolerance), mean energy, mean pixel AUROC and mean
    peak offset (rows, columns; native pixels) of a group."""

    n: int
    strict: float
    tolerance: float
    energy: float
    pixel_auroc: float
    offset: tuple[float, float]

    def to_dict(self) -> dict:
        return asdict(self)


def summarise(
    views: Iterable[tuple[str, ViewLocalisation]],
) -> dict[str, LocalisationSummary]:
    """``(kinds, measures)`` per view -> a summary per kinds group and ``ALL`` (first)."""
    groups: dict[str, list[ViewLocalisation]] = {OVERALL: []}
    for kinds, measures in views:
        groups[OVERALL].append(measures)
        groups.setdefault(kinds, []).append(measures)
    out = {}
    for name in [OVERALL, *sorted(k for k in groups if k != OVERALL)]:
        items = groups[name]
        if not items:
            continue
        columns = {m: np.array([getattr(v, m) for v in items], dtype=float) for m in MEASURES}
        offset = np.mean([v.offset for v in items], axis=0)
        out[name] = LocalisationSummary(
            n=len(items),
            **{m: float(np.nanmean(c)) for m, c in columns.items()},
            offset=(float(offset[0]), float(offset[1])),
        )
    return out


def format_localisation_table(summaries: dict[str, dict[str, LocalisationSummary]]) -> str:
    """One row per (map, group): ``summaries`` maps a map's name to ``summarise``'s output."""
    width = max([3, *map(len, summaries)])
    rates = " ".join(f"{c:>7}" for c in ("strict", "15 px", "energy", "pixAUC"))
    lines = [f"{'map':<{width}} {'group':<18} {'n':>5} {rates}  peak offset px (down, right)"]
    for map_name, groups in summaries.items():
        for group, s in groups.items():
            lines.append(
                f"{map_name:<{width}} {group:<18} {s.n:>5} {s.strict:>7.1%} {s.tolerance:>7.1%} "
                f"{s.energy:>7.3f} {s.pixel_auroc:>7.3f}  {s.offset[0]:+6.1f} {s.offset[1]:+6.1f}"
            )
    return "\n".join(lines)
