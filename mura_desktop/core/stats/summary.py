"""Study-level metrics with 95% intervals and calibration, per group, as plain data.

``study_statistics`` is what ``evaluate``, ``predict`` and ``export`` report: the point
estimates of ``core.metrics.study_metrics``, a patient-bootstrap percentile interval for
each of them, DeLong's interval for the AUROC, and the reliability of the probabilities
(study level, and view level when views were scored).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from mura_desktop.core.atomic_write import atomic_open
from mura_desktop.core.metrics import (
    NOT_AVAILABLE,
    RATES,
    BinaryMetrics,
    format_metrics_table,
    format_number,
    group_studies,
    study_metrics,
)
from mura_desktop.core.results import StudyResult
from mura_desktop.core.stats.bootstrap import bootstrap_metrics, cluster_codes
from mura_desktop.core.stats.calibration import Calibration, calibration
from mura_desktop.core.stats.delong import delong_interval

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0
MIN_STUDIES = 10
MIN_PER_CLASS = 2
MIN_DEFINED = 0.9
"""Share of resamples in which a metric must be defined for its interval to be shown."""

BOOTSTRAP = "patient bootstrap"
DELONG = "DeLong"

# The classes a metric's interval needs at least MIN_PER_CLASS studies of.
_NEEDS = {
    "kappa": (0, 1), "auroc": (0, 1), "precision": (0, 1), "f1": (0, 1),
    "sensitivity": (1,), "specificity": (0,), "accuracy": (),
}  # fmt: skip


@dataclass(frozen=True)
class Interval:
    """A 95% interval, or the reason there is none (``low``/``high`` None)."""

    low: float | None
    high: float | None
    method: str
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None

    def text(self, digits: int = 3) -> str:
        """``[0.664, 0.757]`` or ``n/a: <reason>``."""
        if not self.ok:
            return f"{NOT_AVAILABLE}: {self.reason}"
        return f"[{format_number(self.low, digits)}, {format_number(self.high, digits)}]"

    def to_dict(self) -> dict:
        return {"low": self.low, "high": self.high, "method": self.method, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping) -> Interval:
        return cls(data.get("low"), data.get("high"), str(data.get("method", "")),
                   data.get("reason"))  # fmt: skip

    @classmethod
    def missing(cls, method: str, reason: str) -> Interval:
        return cls(None, None, method, reason)


@dataclass
class GroupStatistics:
    """One group's metrics, their intervals and the calibration of its probabilities."""

    metrics: BinaryMetrics
    intervals: dict[str, Interval]
    auroc_delong: Interval
    calibration: Calibration
    view_calibration: Calibration | None = None
    clusters: int = 0

    def cell(self, name: str, digits: int = 3) -> str:
        """``0.712 [0.664, 0.757]``, ``0.712 [n/a]`` or ``n/a``."""
        value = self.metrics.text(name, digits)
        if value == NOT_AVAILABLE:
            return value
        interval = self.intervals[name]
        return f"{value} {interval.text(digits) if interval.ok else '[n/a]'}"

    def to_dict(self) -> dict:
        """``BinaryMetrics.to_dict`` plus ``intervals``, ``auroc_delong`` and calibration."""
        return {
            **self.metrics.to_dict(),
            "intervals": {k: v.to_dict() for k, v in self.intervals.items()},
            "auroc_delong": self.auroc_delong.to_dict(),
            "patients": self.clusters,
            "calibration": self.calibration.to_dict(),
            "view_calibration": (
                None if self.view_calibration is None else self.view_calibration.to_dict()
            ),
        }


@dataclass
class StudyStatistics:
    """``ALL`` and per body part, with how the intervals were made."""

    groups: dict[str, GroupStatistics] = field(default_factory=dict)
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED

    @property
    def metrics(self) -> dict[str, BinaryMetrics]:
        return {name: g.metrics for name, g in self.groups.items()}

    @property
    def method(self) -> str:
        if not self.resamples:
            return "bootstrap off; AUROC DeLong"
        return (
            f"95% intervals: {BOOTSTRAP} ({self.resamples} resamples, seed {self.seed}); "
            f"AUROC also {DELONG}"
        )

    def to_dict(self) -> dict[str, dict]:
        """Per group, for ``ResultSet.metrics``; each also says how it was bootstrapped."""
        settings = {"unit": "patient", "resamples": self.resamples, "seed": self.seed}
        return {name: {**g.to_dict(), "bootstrap": settings} for name, g in self.groups.items()}


def study_statistics(
    studies: Iterable[StudyResult],
    *,
    threshold: float | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> StudyStatistics:
    """Everything ``study_metrics`` gives, with intervals and calibration per group.

    Each group is bootstrapped on its own patients with the same ``seed``.
    """
    rows = [s for s in studies if s.label is not None and s.probability is not None]
    metrics = study_metrics(rows, threshold)
    groups = group_studies(rows)
    out = StudyStatistics(resamples=resamples, seed=seed)
    for name, m in metrics.items():
        group = groups[name]
        out.groups[name] = _group_statistics(group, m, threshold, resamples, seed)
    return out


def _group_statistics(
    group: list[StudyResult],
    m: BinaryMetrics,
    threshold: float | None,
    resamples: int,
    seed: int,
) -> GroupStatistics:
    labels = np.array([s.label for s in group], dtype=int)
    scores = np.array([s.probability for s in group], dtype=np.float64)
    decisions = np.array(
        [s.probability >= threshold if threshold is not None else s.predicted_label for s in group],
        dtype=bool,
    )
    clusters = cluster_codes([s.patient_id for s in group], [s.uid for s in group])
    n_clusters = int(np.unique(clusters).size)
    reasons = {name: interval_reason(name, m, n_clusters) for name in RATES}
    wanted = any(r is None for r in reasons.values()) and resamples > 0
    distribution = (
        bootstrap_metrics(labels, scores, decisions, clusters, resamples=resamples, seed=seed)
        if wanted
        else {}
    )
    intervals = {}
    for name in RATES:
        reason = reasons[name] or ("bootstrap off" if not resamples else None)
        intervals[name] = (
            Interval.missing(BOOTSTRAP, reason)
            if reason
            else percentile_interval(distribution[name])
        )
    view_labels, view_probs = [], []
    for s in group:
        for v in s.views:
            if v.ok:
                view_labels.append(s.label)
                view_probs.append(v.probability)
    return GroupStatistics(
        metrics=m,
        intervals=intervals,
        auroc_delong=_delong(labels, scores, m),
        calibration=calibration(labels, scores),
        view_calibration=calibration(view_labels, view_probs) if view_probs else None,
        clusters=n_clusters,
    )


def interval_reason(name: str, m: BinaryMetrics, n_clusters: int) -> str | None:
    """Why an interval of ``name`` would mean nothing for this group, or None."""
    if name in m.undefined:
        return m.undefined[name]
    if m.n < MIN_STUDIES:
        return f"{m.n} studies (an interval needs {MIN_STUDIES})"
    if n_clusters < MIN_STUDIES:
        return f"{n_clusters} patients (an interval needs {MIN_STUDIES})"
    counts = {1: m.n_positive, 0: m.n - m.n_positive}
    for cls in _NEEDS[name]:
        if counts[cls] < MIN_PER_CLASS:
            what = "abnormal" if cls else "normal"
            return f"{counts[cls]} {what} studies (needs {MIN_PER_CLASS})"
    return None


def percentile_interval(values: np.ndarray) -> Interval:
    finite = values[np.isfinite(values)]
    if finite.size < MIN_DEFINED * values.size:
        share = 1 - finite.size / values.size
        return Interval.missing(BOOTSTRAP, f"undefined in {share:.0%} of the resamples")
    low, high = np.quantile(finite, [0.025, 0.975])
    return Interval(float(low), float(high), BOOTSTRAP)


def _delong(labels: np.ndarray, scores: np.ndarray, m: BinaryMetrics) -> Interval:
    reason = interval_reason("auroc", m, MIN_STUDIES)
    if reason:
        return Interval.missing(DELONG, reason)
    _, _, low, high = delong_interval(labels, scores)
    return Interval(low, high, DELONG)


def format_statistics_table(stats: StudyStatistics) -> str:
    """Two fixed-width tables (κ and AUROC with counts; the rates), each value followed by
    its interval, then the reasons for every ``n/a``; without resamples, the plain table."""
    if not stats.resamples:
        return format_metrics_table(stats.metrics)
    first = (("kappa", "kappa"), ("auroc", "AUROC"))
    rates = (("accuracy", "accuracy"), ("sensitivity", "sensitivity"))
    rates += (("specificity", "specificity"), ("precision", "precision"), ("f1", "F1"))
    w = 24
    head = f"{'group':<10}{'n':>6}{'abn':>6}  " + "".join(f"{t:<{w}}" for _, t in first)
    head += f"{'AUROC DeLong':<16}   TN   FP   FN   TP"
    lines = [stats.method, head, "-" * len(head)]
    for name, g in stats.groups.items():
        m = g.metrics
        cells = "".join(f"{g.cell(k):<{w}}" for k, _ in first)
        delong = g.auroc_delong.text() if g.auroc_delong.ok else NOT_AVAILABLE
        lines.append(
            f"{name:<10}{m.n:>6}{m.n_positive:>6}  {cells}{delong:<16}"
            f"{m.tn:>5}{m.fp:>5}{m.fn:>5}{m.tp:>5}"
        )
    head = (f"{'group':<10}" + "".join(f"{t:<{w}}" for _, t in rates)).rstrip()
    lines += ["", head, "-" * len(head)]
    for name, g in stats.groups.items():
        lines.append((f"{name:<10}" + "".join(f"{g.cell(k):<{w}}" for k, _ in rates)).rstrip())
    notes = []
    for name, g in stats.groups.items():
        by_reason: dict[str, list[str]] = {}
        for key, interval in g.intervals.items():
            if not interval.ok and stats.resamples:
                by_reason.setdefault(interval.reason or "", []).append(_SHORT.get(key, key))
        if by_reason:
            text = "; ".join(f"{', '.join(k)}: {r}" for r, k in by_reason.items())
            notes.append(f"  {name}: {text}")
    if notes:
        lines += ["", f"{NOT_AVAILABLE}: no interval (or no value) for that group:", *notes]
    return "\n".join(lines)


def format_calibration_table(stats: StudyStatistics) -> str:
    """ECE and Brier score per group, for studies and for views."""
    head = f"{'group':<10}{'studies':>8}{'ECE':>8}{'Brier':>8}{'views':>9}{'ECE':>8}{'Brier':>8}"
    lines = ["Calibration (10 equal-width bins)", head, "-" * len(head)]
    for name, g in stats.groups.items():
        c, v = g.calibration, g.view_calibration
        row = f"{name:<10}{c.n:>8}{_num(c.ece):>8}{_num(c.brier):>8}"
        row += f"{v.n:>9}{_num(v.ece):>8}{_num(v.brier):>8}" if v else f"{'—':>9}"
        lines.append(row)
    return "\n".join(lines)


def format_reliability(c: Calibration) -> str:
    """The reliability diagram's bins as text: range, count, mean predicted, observed."""
    lines = [f"{'bin':<13}{'count':>7}{'predicted':>11}{'observed':>10}"]
    for b in c.bins:
        lines.append(
            f"{f'{b.low:.1f}–{b.high:.1f}':<13}{b.count:>7}"
            f"{_num(b.mean_predicted):>11}{_num(b.observed):>10}"
        )
    return "\n".join(lines)


_SHORT = {"kappa": "κ", "auroc": "AUROC", "f1": "F1"}


def _num(value: float | None) -> str:
    return "—" if value is None else format_number(value)


METRICS_CSV_FIELDS = ("group", "n", "metric", "value", "low", "high", "method", "note")


def write_metrics_csv(path: str | os.PathLike[str], stats: StudyStatistics) -> None:
    """One row per group and metric: the value, its interval (or why none), the method;
    then DeLong's AUROC interval, ECE and Brier score (studies, and views when scored)."""
    with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(METRICS_CSV_FIELDS)
        for name, g in stats.groups.items():
            m = g.metrics
            for key in RATES:
                interval = g.intervals[key]
                value = "" if key in m.undefined else f"{getattr(m, key):.6f}"
                writer.writerow([name, m.n, key, value, *_bounds(interval), interval.method,
                                 m.undefined.get(key) or interval.reason or ""])  # fmt: skip
            d = g.auroc_delong
            value = "" if "auroc" in m.undefined else f"{m.auroc:.6f}"
            writer.writerow([name, m.n, "auroc", value, *_bounds(d), d.method, d.reason or ""])
            for level, c in (("study", g.calibration), ("view", g.view_calibration)):
                if c is not None and c.n:
                    writer.writerow([name, c.n, f"ece_{level}", f"{c.ece:.6f}", "", "", "", ""])
                    writer.writerow([name, c.n, f"brier_{level}", f"{c.brier:.6f}", "", "", "", ""])


def is_metrics_csv(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a file ``write_metrics_csv`` wrote (by its header)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.readline().strip() == ",".join(METRICS_CSV_FIELDS)
    except OSError:
        return False


def _bounds(interval: Interval) -> tuple[str, str]:
    if not interval.ok:
        return "", ""
    return f"{interval.low:.6f}", f"{interval.high:.6f}"


def validation_note(provenance: Mapping, body_part: str | None) -> str | None:
    """What a bundle's validation says about studies of ``body_part``, from its provenance:
    ``hand: κ 0.39 [0.30, 0.48] on validation (167 studies)``; None when it has no figures
    for that part (an imported model, a part it was not validated on)."""
    metrics = provenance.get("metrics") if isinstance(provenance, Mapping) else None
    per_part = metrics.get("per_part") if isinstance(metrics, Mapping) else None
    part = per_part.get(body_part or "") if isinstance(per_part, Mapping) else None
    if not isinstance(part, Mapping):
        return None
    name, n = str(body_part).lower(), part.get("n")
    kappa = part.get("kappa")
    if kappa is None:
        reason = (part.get("undefined") or {}).get("kappa", "undefined")
        return f"{name}: κ {NOT_AVAILABLE} on validation ({reason}; {n} studies)"
    interval = Interval.from_dict((part.get("intervals") or {}).get("kappa") or {})
    if interval.ok and interval.low is not None:
        shown = f"[{interval.low:.2f}, {interval.high:.2f}]"
        return f"{name}: κ {kappa:.2f} {shown} on validation ({n} studies)"
    why = interval.reason or "no interval recorded"
    return f"{name}: κ {kappa:.2f} on validation ({n} studies; interval {NOT_AVAILABLE}: {why})"
