"""Study-level classification metrics used by the CLI, the viewer and the trainer.

Plain numpy so the viewer and the trainer compute exactly the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from mura_desktop.core.results import StudyResult

OVERALL = "ALL"


NOT_AVAILABLE = "n/a"


def format_number(value: float, digits: int = 3) -> str:
    """A metric as shown everywhere: fixed decimals, and never ``-0.000``."""
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


RATES = ("kappa", "auroc", "accuracy", "sensitivity", "specificity", "precision", "f1")


@dataclass(frozen=True)
class BinaryMetrics:
    """Metrics of binary decisions ``score >= threshold`` against 0/1 labels.

    A metric that means nothing for this group is ``nan`` and ``undefined`` says why:
    κ, AUROC, precision and F1 need both classes in the ground truth (κ of a one-class
    group is 0 or 0/0 whatever the model does), sensitivity needs abnormal studies,
    specificity normal ones, precision a study called abnormal.
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
    undefined: dict[str, str] = field(default_factory=dict)

    @property
    def confusion(self) -> np.ndarray:
        """2×2 matrix, rows = truth (normal, abnormal), columns = prediction."""
        return np.array([[self.tn, self.fp], [self.fn, self.tp]])

    def text(self, name: str, digits: int = 3) -> str:
        """The metric to show: its value, or ``n/a`` when it is undefined."""
        value = getattr(self, name)
        return NOT_AVAILABLE if name in self.undefined else format_number(value, digits)

    def to_dict(self) -> dict:
        """Plain data: undefined metrics are ``None``, with their reasons in ``undefined``."""
        return {
            k: (None if isinstance(v, float) and np.isnan(v) else v)
            for k, v in asdict(self).items()
        }


def undefined_metrics(n: int, n_positive: int, n_called_abnormal: int) -> dict[str, str]:
    """Which metrics mean nothing for a group of this make-up, and why."""
    if n == 0:
        return {name: "no studies" for name in RATES}
    reasons: dict[str, str] = {}
    if n_positive in (0, n):
        one_class = "only normal studies" if n_positive == 0 else "only abnormal studies"
        for name in ("kappa", "auroc", "precision", "f1"):
            reasons[name] = f"{one_class}: needs both classes"
    if n_positive == 0:
        reasons["sensitivity"] = "no abnormal studies"
    if n_positive == n:
        reasons["specificity"] = "no normal studies"
    if n_called_abnormal == 0:
        reasons.setdefault("precision", "no study called abnormal")
    return reasons


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else float("nan")


def cohen_kappa(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Cohen's κ of two binary raters (``nan`` when both are constant and agree: 0/0)."""
    t = np.asarray(y_true, dtype=bool)
    p = np.asarray(y_pred, dtype=bool)
    n = t.size
    if n == 0:
        return float("nan")
    observed = float(np.mean(t == p))
    expected = float(t.mean() * p.mean() + (1 - t.mean()) * (1 - p.mean()))
    if expected == 1.0:
        return float("nan") if observed == 1.0 else 0.0
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
    labels: Sequence[int],
    scores: Sequence[float],
    threshold: float = 0.5,
    decisions: Sequence[bool] | None = None,
) -> BinaryMetrics:
    """``decisions`` replace ``score >= threshold`` where studies were decided with
    thresholds of their own (per body part)."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels but {s.size} scores")
    pred = s >= threshold if decisions is None else np.asarray(decisions, dtype=bool)
    tp = int(np.sum(pred & y))
    tn = int(np.sum(~pred & ~y))
    fp = int(np.sum(pred & ~y))
    fn = int(np.sum(~pred & y))
    undefined = undefined_metrics(int(y.size), int(y.sum()), tp + fp)
    values = {
        "kappa": cohen_kappa(y, pred),
        "auroc": roc_auc(y, s),
        "accuracy": _ratio(tp + tn, y.size),
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "precision": _ratio(tp, tp + fp),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }
    values = {k: float("nan") if k in undefined else v for k, v in values.items()}
    return BinaryMetrics(
        n=int(y.size),
        n_positive=int(y.sum()),
        threshold=float(threshold),
        **values,
        tn=tn,
        fp=fp,
        fn=fn,
        tp=tp,
        undefined=undefined,
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

    ``threshold`` defaults to each study's own rule (its part's threshold where the rule
    has one); ``BinaryMetrics.threshold`` is then the rule's default threshold.
    """
    rows = [s for s in studies if s.label is not None and s.probability is not None]
    if not rows:
        return {}
    thr = rows[0].rule.threshold if threshold is None else threshold
    return {
        name: binary_metrics(
            [s.label for s in group],
            [s.probability for s in group],
            thr,
            [bool(s.predicted_label) for s in group] if threshold is None else None,
        )
        for name, group in group_studies(rows).items()
    }


def group_studies(rows: Sequence[StudyResult]) -> dict[str, list[StudyResult]]:
    """``OVERALL`` (all of ``rows``) first, then one group per body part, by name."""
    groups: dict[str, list[StudyResult]] = {OVERALL: list(rows)}
    for s in rows:
        groups.setdefault(s.body_part or "UNKNOWN", []).append(s)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0] != OVERALL, kv[0])))


def format_metrics_table(metrics: dict[str, BinaryMetrics]) -> str:
    """A fixed-width table: one row per group, with κ, AUROC and the confusion counts.

    Undefined metrics read ``n/a``; a note under the table gives each group's reasons.
    """
    columns = (("kappa", 8), ("auroc", 8), ("accuracy", 7), ("sensitivity", 7))
    columns += (("specificity", 7), ("precision", 7), ("f1", 7))
    header = (
        f"{'group':<10}{'n':>6}{'abn':>6}{'kappa':>8}{'AUROC':>8}{'acc':>7}{'sens':>7}"
        f"{'spec':>7}{'prec':>7}{'F1':>7}   TN   FP   FN   TP"
    )
    lines = [header, "-" * len(header)]
    notes = []
    for name, m in metrics.items():
        cells = "".join(f"{m.text(key):>{width}}" for key, width in columns)
        lines.append(
            f"{name:<10}{m.n:>6}{m.n_positive:>6}{cells}{m.tn:>5}{m.fp:>5}{m.fn:>5}{m.tp:>5}"
        )
        if m.undefined:
            notes.append(f"  {name}: {describe_undefined(m)}")
    if notes:
        lines += [f"{NOT_AVAILABLE}: undefined for that group", *notes]
    return "\n".join(lines)


_SHORT = {"kappa": "κ", "auroc": "AUROC", "f1": "F1"}


def describe_undefined(m: BinaryMetrics) -> str:
    """``κ, AUROC, precision, F1: only normal studies: needs both classes; sensitivity: ...``."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in m.undefined.items():
        by_reason.setdefault(reason, []).append(_SHORT.get(name, name))
    return "; ".join(f"{', '.join(names)}: {reason}" for reason, names in by_reason.items())
