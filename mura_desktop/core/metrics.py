"""Study-level classification metrics used by the CLI, the viewer and the trainer.

Plain numpy so the viewer and the trainer compute exactly the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from mura_desktop.core.results import StudyResult

OVERALL = "ALL"


@dataclass(frozen=True)
class BinaryMetrics:
    """Metrics of binary decisions ``score >= threshold`` against 0/1 labels.

    Ratios whose denominator is zero (e.g. sensitivity with no positives) are ``nan``;
    ``auroc`` is ``nan`` when only one class is present.
    """

    n: int
    n_positive: int
    threshold: float
    kappa: float
    auroc: float
    accuracy: float
    sensitivity: float
    specificity: float
    precision: float
    f1: float
    tn: int
    fp: int
    fn: int
    tp: int

    @property
    def confusion(self) -> np.ndarray:
        """2×2 matrix, rows = truth (normal, abnormal), columns = prediction."""
        return np.array([[self.tn, self.fp], [self.fn, self.tp]])

    def to_dict(self) -> dict:
        return {
            k: (None if isinstance(v, float) and np.isnan(v) else v)
            for k, v in asdict(self).items()
        }


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else float("nan")


def cohen_kappa(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Cohen's κ of two binary raters (1 for identical constant ratings)."""
    t = np.asarray(y_true, dtype=bool)
    p = np.asarray(y_pred, dtype=bool)
    n = t.size
    if n == 0:
        return float("nan")
    observed = float(np.mean(t == p))
    expected = float(t.mean() * p.mean() + (1 - t.mean()) * (1 - p.mean()))
    if expected == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1.0 - expected)


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve (Mann–Whitney U with average ranks for ties)."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    ranks = np.empty(s.size, dtype=np.float64)
    # average ranks over runs of tied scores
    boundaries = np.flatnonzero(np.diff(sorted_s)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [s.size]))
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(
    labels: Sequence[int], scores: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-positive rates, true-positive rates and the thresholds that give them.

    Point ``i`` is the decision ``score >= thresholds[i]``; the first point (threshold +inf)
    is (0, 0).
    """
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s)), s.size - 1] if s.size else np.array([], int)
    tps = np.cumsum(y)[last_of_run]
    fps = (last_of_run + 1) - tps
    n_pos, n_neg = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    fpr = np.r_[0.0, fps / n_neg]
    tpr = np.r_[0.0, tps / n_pos]
    thresholds = np.r_[np.inf, s[last_of_run]]
    return fpr, tpr, thresholds


def binary_metrics(
    labels: Sequence[int], scores: Sequence[float], threshold: float = 0.5
) -> BinaryMetrics:
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels but {s.size} scores")
    pred = s >= threshold
    tp = int(np.sum(pred & y))
    tn = int(np.sum(~pred & ~y))
    fp = int(np.sum(pred & ~y))
    fn = int(np.sum(~pred & y))
    precision = _ratio(tp, tp + fp)
    sensitivity = _ratio(tp, tp + fn)
    return BinaryMetrics(
        n=int(y.size),
        n_positive=int(y.sum()),
        threshold=float(threshold),
        kappa=cohen_kappa(y, pred),
        auroc=roc_auc(y, s),
        accuracy=_ratio(tp + tn, y.size),
        sensitivity=sensitivity,
        specificity=_ratio(tn, tn + fp),
        precision=precision,
        f1=_ratio(2 * tp, 2 * tp + fp + fn),
        tn=tn,
        fp=fp,
        fn=fn,
        tp=tp,
    )


def threshold_for_sensitivity(
    labels: Sequence[int], scores: Sequence[float], target: float
) -> float:
    """Highest threshold whose sensitivity is at least ``target``."""
    _, tpr, thresholds = roc_curve(labels, scores)
    ok = np.flatnonzero(tpr >= target)
    return float(min(thresholds[ok[0]], 1.0)) if ok.size else 0.0


def threshold_for_specificity(
    labels: Sequence[int], scores: Sequence[float], target: float
) -> float:
    """Lowest threshold whose specificity is at least ``target``."""
    fpr, _, thresholds = roc_curve(labels, scores)
    ok = np.flatnonzero(1.0 - fpr >= target)
    return float(min(thresholds[ok[-1]], 1.0)) if ok.size else 1.0


def study_metrics(
    studies: Iterable[StudyResult], threshold: float | None = None
) -> dict[str, BinaryMetrics]:
    """Metrics over labelled, scored studies: ``OVERALL`` plus one entry per body part.

    ``threshold`` defaults to each study's own rule threshold (they share one in a run).
    """
    rows = [s for s in studies if s.label is not None and s.probability is not None]
    if not rows:
        return {}
    thr = rows[0].rule.threshold if threshold is None else threshold
    groups: dict[str, list[StudyResult]] = {OVERALL: rows}
    for s in rows:
        groups.setdefault(s.body_part or "UNKNOWN", []).append(s)
    return {
        name: binary_metrics([s.label for s in group], [s.probability for s in group], thr)
        for name, group in sorted(groups.items(), key=lambda kv: (kv[0] != OVERALL, kv[0]))
    }


def format_metrics_table(metrics: dict[str, BinaryMetrics]) -> str:
    """A fixed-width table: one row per group, with κ, AUROC and the confusion counts."""
    header = (
        f"{'group':<10}{'n':>6}{'abn':>6}{'kappa':>8}{'AUROC':>8}{'acc':>7}{'sens':>7}"
        f"{'spec':>7}{'prec':>7}{'F1':>7}   TN   FP   FN   TP"
    )
    lines = [header, "-" * len(header)]

    def fmt(x: float, width: int) -> str:
        return f"{'—':>{width}}" if np.isnan(x) else f"{x:>{width}.3f}"

    for name, m in metrics.items():
        lines.append(
            f"{name:<10}{m.n:>6}{m.n_positive:>6}{fmt(m.kappa, 8)}{fmt(m.auroc, 8)}"
            f"{fmt(m.accuracy, 7)}{fmt(m.sensitivity, 7)}{fmt(m.specificity, 7)}"
            f"{fmt(m.precision, 7)}{fmt(m.f1, 7)}{m.tn:>5}{m.fp:>5}{m.fn:>5}{m.tp:>5}"
        )
    return "\n".join(lines)
