"""Two models on the same studies: paired differences in AUROC and κ, and McNemar's test.

Studies are matched by ``uid``; a study whose uid has no partner is matched by its path
below the dataset root (``valid/XR_WRIST/patient11185/study1_positive``), so results of
the same dataset scored on another machine pair up. Each model decides with its own
verdict rule (its operating point).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np

from mura_desktop.core.metrics import NOT_AVAILABLE, BinaryMetrics, group_studies, study_metrics
from mura_desktop.core.results import StudyResult
from mura_desktop.core.stats.bootstrap import cluster_codes, paired_bootstrap_metrics
from mura_desktop.core.stats.delong import PairedAurocTest, delong_paired_test
from mura_desktop.core.stats.mcnemar import McNemarResult, mcnemar_test
from mura_desktop.core.stats.summary import (
    BOOTSTRAP,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    Interval,
    interval_reason,
    percentile_interval,
)

_PATH_TAIL = 4  # split / body part / patient / study


@dataclass(frozen=True)
class Disagreement:
    """A study the two models decide differently at their operating points.

    ``abnormal_a``/``abnormal_b`` are the binary decisions; a verdict may read
    ``indeterminate`` for both when the study lies in both models' bands.
    """

    uid: str
    name: str
    body_part: str | None
    label: int | None
    probability_a: float
    probability_b: float
    verdict_a: str | None
    verdict_b: str | None
    abnormal_a: bool
    abnormal_b: bool

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class GroupComparison:
    """One group: both models' metrics, the paired tests, or why a test is missing."""

    metrics_a: BinaryMetrics
    metrics_b: BinaryMetrics
    auroc: PairedAurocTest | None
    auroc_reason: str | None
    kappa_difference: float | None
    kappa_interval: Interval
    mcnemar: McNemarResult

    def to_dict(self) -> dict:
        return {
            "n": self.metrics_a.n,
            "n_positive": self.metrics_a.n_positive,
            "a": self.metrics_a.to_dict(),
            "b": self.metrics_b.to_dict(),
            "auroc_delong": None if self.auroc is None else self.auroc.to_dict(),
            "auroc_reason": self.auroc_reason,
            "kappa_difference": self.kappa_difference,
            "kappa_difference_interval": self.kappa_interval.to_dict(),
            "mcnemar": self.mcnemar.to_dict(),
        }


@dataclass
class Comparison:
    """A against B on their matched, scored studies."""

    name_a: str
    name_b: str
    matched: int
    matched_by_path: int
    only_a: int
    only_b: int
    unscored: int
    groups: dict[str, GroupComparison] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED

    def to_dict(self) -> dict:
        return {
            "a": self.name_a,
            "b": self.name_b,
            "matched": self.matched,
            "matched_by_path": self.matched_by_path,
            "only_in_a": self.only_a,
            "only_in_b": self.only_b,
            "unscored": self.unscored,
            "bootstrap": {"unit": "patient", "resamples": self.resamples, "seed": self.seed},
            "groups": {name: g.to_dict() for name, g in self.groups.items()},
            "disagreements": [d.to_dict() for d in self.disagreements],
        }


def match_studies(
    a: list[StudyResult], b: list[StudyResult]
) -> tuple[list[tuple[StudyResult, StudyResult]], int, int, int]:
    """Pairs (by uid, then by path below the dataset root), how many of them by path, and
    how many studies of A and of B found no partner."""
    by_uid = {s.uid: s for s in b}
    pairs = [(s, by_uid[s.uid]) for s in a if s.uid in by_uid]
    taken = {s.uid for s, _ in pairs}
    rest_a = [s for s in a if s.uid not in taken]
    rest_b = {_tail(s.uid): s for s in b if s.uid not in taken}
    by_path = [(s, rest_b[_tail(s.uid)]) for s in rest_a if _tail(s.uid) in rest_b]
    n_pairs = len(pairs) + len(by_path)
    return pairs + by_path, len(by_path), len(a) - n_pairs, len(b) - n_pairs


def _tail(uid: str) -> str:
    if uid.startswith("dicom:"):
        return uid
    return "/".join(PurePath(uid.replace("\\", "/")).parts[-_PATH_TAIL:])


def compare_results(
    a: list[StudyResult],
    b: list[StudyResult],
    *,
    name_a: str = "A",
    name_b: str = "B",
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> Comparison:
    """Paired comparison of A and B, overall and per body part (B's studies take A's
    labels, body parts and patients: the two must be the same studies)."""
    pairs, by_path, only_a, only_b = match_studies(a, b)
    scored = [(x, y) for x, y in pairs if x.probability is not None and y.probability is not None]
    out = Comparison(name_a, name_b, len(pairs), by_path, only_a, only_b,
                     len(pairs) - len(scored), resamples=resamples, seed=seed)  # fmt: skip
    for x, y in scored:
        if x.predicted_label != y.predicted_label:
            out.disagreements.append(
                Disagreement(x.uid, x.name, x.body_part, x.label, float(x.probability),
                             float(y.probability), x.verdict, y.verdict,
                             bool(x.predicted_label), bool(y.predicted_label))
            )  # fmt: skip
    labelled = [(x, y) for x, y in scored if x.label is not None]
    if not labelled:
        return out
    side_a = [x for x, _ in labelled]
    partner = {x.uid: y for x, y in labelled}
    metrics_a = study_metrics(side_a)
    for name, group in group_studies(side_a).items():
        other = [partner[x.uid] for x in group]
        metrics_b = study_metrics(_as_studies_of(other, group))[name]
        out.groups[name] = _compare_group(group, other, metrics_a[name], metrics_b, resamples, seed)
    return out


def _as_studies_of(b: list[StudyResult], a: list[StudyResult]) -> list[StudyResult]:
    """B's scores with A's labels, body parts and patients (the same studies)."""
    return [
        StudyResult(uid=x.uid, name=x.name, body_part=x.body_part, label=x.label,
                    patient_id=x.patient_id, probability=y.probability, verdict=y.verdict,
                    rule=y.rule)
        for y, x in zip(b, a, strict=True)
    ]  # fmt: skip


def _compare_group(
    a: list[StudyResult],
    b: list[StudyResult],
    ma: BinaryMetrics,
    mb: BinaryMetrics,
    resamples: int,
    seed: int,
) -> GroupComparison:
    labels = np.array([s.label for s in a], dtype=int)
    scores_a = np.array([s.probability for s in a])
    scores_b = np.array([s.probability for s in b])
    decide_a = np.array([s.predicted_label for s in a], dtype=bool)
    decide_b = np.array([s.predicted_label for s in b], dtype=bool)
    clusters = cluster_codes([s.patient_id for s in a], [s.uid for s in a])
    n_clusters = int(np.unique(clusters).size)
    auroc_reason = interval_reason("auroc", ma, ma.n)
    auroc = None if auroc_reason else delong_paired_test(labels, scores_a, scores_b)
    kappa_difference = None
    reason = interval_reason("kappa", ma, n_clusters) or interval_reason("kappa", mb, n_clusters)
    if "kappa" not in ma.undefined and "kappa" not in mb.undefined:
        kappa_difference = ma.kappa - mb.kappa
    if reason is None and not resamples:
        reason = "bootstrap off"
    if reason:
        kappa_interval = Interval.missing(BOOTSTRAP, reason)
    else:
        da, db = paired_bootstrap_metrics(
            labels, [(scores_a, decide_a), (scores_b, decide_b)], clusters,
            resamples=resamples, seed=seed,
        )  # fmt: skip
        kappa_interval = percentile_interval(da["kappa"] - db["kappa"])
    truth = labels.astype(bool)
    mcnemar = mcnemar_test(decide_a == truth, decide_b == truth)
    return GroupComparison(ma, mb, auroc, auroc_reason, kappa_difference, kappa_interval, mcnemar)


def format_comparison(c: Comparison) -> str:
    """The comparison as fixed-width tables, with the matching summary above them."""
    lines = [
        f"A: {c.name_a}",
        f"B: {c.name_b}",
        f"matched {c.matched} studies"
        + (f" ({c.matched_by_path} by their path below the dataset root)" if c.matched_by_path
           else "")
        + f"; unmatched: {c.only_a} only in A, {c.only_b} only in B"
        + (f"; {c.unscored} not scored by both" if c.unscored else ""),
        f"A and B disagree on {len(c.disagreements)} studies (each at its own operating point)",
    ]  # fmt: skip
    if not c.groups:
        return "\n".join([*lines, "no labelled study scored by both: nothing to compare"])
    head = (
        f"{'group':<10}{'n':>5}{'abn':>5}{'AUROC A':>9}{'AUROC B':>9}  {'diff [95% DeLong]':<24}"
        f"{'p':>7}"
    )
    lines += ["", "AUROC, DeLong's paired test", head, "-" * len(head)]
    for name, g in c.groups.items():
        row = f"{name:<10}{g.metrics_a.n:>5}{g.metrics_a.n_positive:>5}"
        row += f"{g.metrics_a.text('auroc'):>9}{g.metrics_b.text('auroc'):>9}  "
        if g.auroc is None:
            row += f"{NOT_AVAILABLE}: {g.auroc_reason}"
        else:
            t = g.auroc
            row += f"{f'{t.difference:+.3f} [{t.low:+.3f}, {t.high:+.3f}]':<24}{_p(t.p_value):>7}"
        lines.append(row)
    head = (
        f"{'group':<10}{'kappa A':>9}{'kappa B':>9}  {'diff [95% patient bootstrap]':<30}"
        f"{'A only':>7}{'B only':>7}{'p':>8}  McNemar"
    )
    lines += ["", "kappa (paired patient bootstrap) and McNemar's test of the decisions",
              "(A only: studies only A got right)", head, "-" * len(head)]  # fmt: skip
    for name, g in c.groups.items():
        if g.kappa_difference is None:
            diff = NOT_AVAILABLE
        elif g.kappa_interval.ok:
            diff = f"{g.kappa_difference:+.3f} {g.kappa_interval.text()}"
        else:
            diff = f"{g.kappa_difference:+.3f} [n/a]"
        m = g.mcnemar
        lines.append(
            f"{name:<10}{g.metrics_a.text('kappa'):>9}{g.metrics_b.text('kappa'):>9}  "
            f"{diff:<30}{m.only_a:>7}{m.only_b:>7}{_p(m.p_value):>8}  {m.method}"
        )
    notes = [
        f"  {name}: {g.kappa_interval.reason}"
        for name, g in c.groups.items()
        if not g.kappa_interval.ok
    ]
    if notes:
        lines += ["", "kappa difference without an interval:", *notes]
    return "\n".join(lines)


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"
