"""Scores as plain data: per-view and per-study results with JSON and CSV round-trips."""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from mura_desktop.core import strict_json
from mura_desktop.core.atomic_write import atomic_open, write_atomically
from mura_desktop.core.labels import Label, Verdict
from mura_desktop.core.measure import Measurement
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.study import ScanProblem, Study
from mura_desktop.core.verdict import VerdictRule

RESULTS_FORMAT = "mura-desktop-results"
RESULTS_VERSION = 1
NON_FINITE_SCORE = "the model's score is not finite (NaN or infinity): the view is not scored"


@dataclass
class ViewResult:
    """One view's outcome: a probability, or the reason it could not be scored."""

    path: str
    probability: float | None = None
    error: str | None = None
    predicted_body_part: str | None = None

    def __post_init__(self) -> None:
        # The one gate for scores: a non-finite number is a failed view, never a score.
        if self.probability is not None and not math.isfinite(self.probability):
            self.probability = None
            self.error = self.error or NON_FINITE_SCORE

    @property
    def ok(self) -> bool:
        return self.error is None and self.probability is not None


@dataclass
class StudyResult:
    """One study's outcome. ``probability``/``verdict`` are None when no view could be scored."""

    uid: str
    name: str
    views: list[ViewResult] = field(default_factory=list)
    body_part: str | None = None
    label: Label | None = None
    patient_id: str | None = None
    split: str | None = None
    probability: float | None = None
    verdict: Verdict | None = None
    rule: VerdictRule = field(default_factory=VerdictRule)
    predicted_body_part: str | None = None

    def __post_init__(self) -> None:
        self.label = Label.of(self.label)
        self.verdict = None if self.verdict is None else Verdict(self.verdict)
        if self.probability is not None and not math.isfinite(self.probability):
            self.probability = None  # e.g. a results file from before non-finite scores failed
            self.verdict = None

    @property
    def n_failed(self) -> int:
        return sum(not v.ok for v in self.views)

    @property
    def rule_text(self) -> str:
        return self.rule.describe(sum(v.ok for v in self.views), self.body_part)

    @property
    def predicted_label(self) -> Label | None:
        if self.probability is None:
            return None
        return Label(int(self.rule.decide(self.probability, self.body_part)))

    @classmethod
    def from_views(
        cls,
        study: Study,
        views: list[ViewResult],
        rule: VerdictRule,
        predicted_body_part: str | None = None,
    ) -> StudyResult:
        """The study's result from its views' results: the one place the rule is applied."""
        scored = [v.probability for v in views if v.ok]
        probability = rule.aggregate(scored) if scored else None
        return cls(
            uid=study.uid,
            name=study.name,
            views=views,
            body_part=study.body_part,
            label=study.label,
            patient_id=study.patient_id,
            split=study.split,
            probability=probability,
            verdict=None if probability is None else rule.verdict(probability, study.body_part),
            rule=rule,
            predicted_body_part=predicted_body_part,
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["rule"] = self.rule.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> StudyResult:
        data = dict(data)
        views = [ViewResult(**v) for v in data.pop("views", [])]
        rule = VerdictRule.from_dict(data.pop("rule", {}) or {})
        return cls(views=views, rule=rule, **data)


@dataclass
class ResultSet:
    """Results of one scoring run plus what produced them."""

    studies: list[StudyResult] = field(default_factory=list)
    model: ModelRecord = field(default_factory=ModelRecord)
    created: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )
    # Paths the scan skipped or doubted, so that a saved batch can be audited on its own.
    problems: list[ScanProblem] = field(default_factory=list)
    # Study-level metrics per group as plain data (``BinaryMetrics.to_dict``), when known.
    metrics: dict[str, dict] = field(default_factory=dict)
    # The reader's measurements, by view path.
    measurements: dict[str, list[Measurement]] = field(default_factory=dict)

    def to_json(self, path: str | os.PathLike[str]) -> None:
        payload = {
            "format": RESULTS_FORMAT,
            "version": RESULTS_VERSION,
            "created": self.created,
            "model": self.model.to_dict(),
            "studies": [s.to_dict() for s in self.studies],
            "skipped": [p.to_dict() for p in self.problems],
            "metrics": self.metrics,
            "measurements": {
                path: [m.to_dict() for m in found] for path, found in self.measurements.items()
            },
        }
        text = strict_json.dumps(payload, indent=1, ensure_ascii=False)
        if not _encodes(text):  # names that are not UTF-8 (surrogate escapes): \u escapes
            text = strict_json.dumps(payload, indent=1, ensure_ascii=True)
        write_atomically(path, text)

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> ResultSet:
        path = Path(path)
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read results file: {exc}") from exc
        if not isinstance(payload, dict) or payload.get("format") != RESULTS_FORMAT:
            raise ValueError(f"{path}: not a MURA Desktop results file")
        if payload.get("version", 0) > RESULTS_VERSION:
            raise ValueError(
                f"{path}: results format version {payload['version']} is newer than this "
                f"program understands ({RESULTS_VERSION}); update MURA Desktop"
            )
        return cls(
            studies=[StudyResult.from_dict(s) for s in payload.get("studies", [])],
            model=ModelRecord.from_dict(payload.get("model")),
            created=payload.get("created", ""),
            problems=[ScanProblem.from_dict(p) for p in payload.get("skipped", [])],
            metrics=payload.get("metrics", {}),
            measurements={
                str(path): [Measurement.from_dict(m) for m in found]
                for path, found in (payload.get("measurements") or {}).items()
            },
        )

    CSV_FIELDS = (
        "study_uid", "study_name", "body_part", "patient_id", "split", "label",
        "study_probability", "verdict", "rule", "view_path", "view_probability", "view_error",
        "skipped",
    )  # fmt: skip

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """One row per view; the study's fields repeat on each of its rows.

        Paths the scan skipped follow, one row each: no study fields, ``view_path`` the
        path, ``view_error`` the reason and ``skipped`` its kind (empty on view rows).
        """
        # surrogateescape writes a file name that is not valid UTF-8 back as its own bytes
        with atomic_open(path, "w", newline="", encoding="utf-8", errors="surrogateescape") as fh:
            writer = csv.writer(fh)
            writer.writerow(self.CSV_FIELDS)
            for s in self.studies:
                for v in s.views:
                    writer.writerow([
                        s.uid, s.name, s.body_part or "", s.patient_id or "", s.split or "",
                        "" if s.label is None else s.label,
                        "" if s.probability is None else f"{s.probability:.6f}",
                        s.verdict or "", s.rule_text, v.path,
                        "" if v.probability is None else f"{v.probability:.6f}",
                        v.error or "", "",
                    ])  # fmt: skip
            for p in self.problems:
                writer.writerow(["", "", "", "", "", "", "", "", "", p.path, "", p.reason, p.kind])

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str], rule: VerdictRule | None = None) -> ResultSet:
        """Rebuild studies from a CSV written by ``to_csv``; the rule is not in the CSV."""
        rule = rule or VerdictRule()
        studies: dict[str, StudyResult] = {}
        problems: list[ScanProblem] = []
        with Path(path).open(newline="", encoding="utf-8", errors="surrogateescape") as fh:
            for row in csv.DictReader(fh):
                if row.get("skipped"):
                    problems.append(
                        ScanProblem(Path(row["view_path"]), row["view_error"], row["skipped"])
                    )
                    continue
                uid = row["study_uid"]
                if uid not in studies:
                    studies[uid] = StudyResult(
                        uid=uid,
                        name=row["study_name"],
                        body_part=row["body_part"] or None,
                        patient_id=row["patient_id"] or None,
                        split=row["split"] or None,
                        label=Label.of(int(row["label"])) if row["label"] else None,
                        probability=float(row["study_probability"])
                        if row["study_probability"]
                        else None,
                        verdict=row["verdict"] or None,
                        rule=rule,
                    )
                studies[uid].views.append(
                    ViewResult(
                        path=row["view_path"],
                        probability=float(row["view_probability"])
                        if row["view_probability"]
                        else None,
                        error=row["view_error"] or None,
                    )
                )
        return cls(studies=list(studies.values()), problems=problems)


def is_results_json(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a results file ``ResultSet.to_json`` wrote (by its marker)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return f'"format": "{RESULTS_FORMAT}"'.encode() in head


def is_results_csv(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a results file ``ResultSet.to_csv`` wrote (by its header)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            header = fh.readline().strip()
    except OSError:
        return False
    return header.split(",")[:3] == list(ResultSet.CSV_FIELDS[:3])


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
