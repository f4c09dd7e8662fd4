"""What the viewer has open: studies, their scores, the model that made them, heatmaps.

Plain Python (no widgets), used from the GUI thread only. One session holds scores of one
model: its record's ``content_hash`` names it, and scores from another model are never
mixed in.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mura_desktop.core.display import EXACT_MAP
from mura_desktop.core.measure import Measurement
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.results import ResultSet, StudyResult
from mura_desktop.core.study import Scan, ScanProblem, Study, View
from mura_desktop.core.verdict import VerdictRule

HEATMAP_STUDIES = 16
DICOM_SUFFIXES = frozenset({".dcm", ".dicom", ""})


@dataclass
class Session:
    """Open studies grouped under the inputs they came from, plus their results."""

    groups: list[tuple[str, list[Study]]] = field(default_factory=list)
    results: dict[str, StudyResult] = field(default_factory=dict)
    model: ModelRecord = field(default_factory=ModelRecord)
    problems: list[ScanProblem] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)
    results_file: Path | None = None
    measurements: dict[Path, list[Measurement]] = field(default_factory=dict)
    _by_uid: dict[str, Study] = field(default_factory=dict, repr=False)
    _heatmaps: OrderedDict[tuple[str, str], dict[Path, np.ndarray]] = field(
        default_factory=OrderedDict, repr=False
    )

    def __post_init__(self) -> None:
        self._by_uid = {s.uid: s for _, studies in self.groups for s in studies}

    def data_roots(self) -> list[Path]:
        """Folders the user opened and study folders: nothing is ever written inside them."""
        return [*self.sources, *(s.folder for s in self.studies if s.folder is not None)]

    def measurements_of(self, path: Path) -> list[Measurement]:
        return list(self.measurements.get(path, []))

    def add_measurement(self, path: Path, measurement: Measurement) -> None:
        self.measurements.setdefault(path, []).append(measurement)

    def remove_measurement(self, path: Path, index: int) -> bool:
        """Delete a view's ``index``-th measurement; False when there is none."""
        found = self.measurements.get(path, [])
        if not 0 <= index < len(found):
            return False
        del found[index]
        return True

    # --- construction -------------------------------------------------------------------

    @classmethod
    def from_scan(cls, scan: Scan, inputs: Sequence[str | os.PathLike[str]]) -> Session:
        """Group the scan's studies under the input path that holds each (first match)."""
        roots = [Path(os.path.abspath(p)) for p in inputs]
        buckets: dict[int, list[Study]] = {i: [] for i in range(len(roots))}
        for study in scan.studies:
            buckets[_owner(study, roots)].append(study)
        labels = [_label(root) for root in roots]
        names = [  # two folders called "dicom": say whose
            f"{root.parent.name}/{root.name}" if labels.count(label) > 1 else label
            for root, label in zip(roots, labels, strict=True)
        ]
        groups = [(names[i], studies) for i, studies in buckets.items() if studies]
        return cls(groups=groups, problems=list(scan.problems), sources=roots)

    @classmethod
    def from_results(cls, results: ResultSet, path: Path) -> Session:
        """Studies rebuilt from a results file; views point at the files that were scored."""
        studies = [_study_from_result(r) for r in results.studies]
        return cls(
            groups=[(f"{path.name} (results)", studies)] if studies else [],
            results={r.uid: r for r in results.studies},
            model=results.model,
            problems=list(results.problems),
            results_file=path,
            measurements={Path(p): list(found) for p, found in results.measurements.items()},
        )

    # --- lookups ------------------------------------------------------------------------

    @property
    def studies(self) -> list[Study]:
        return [s for _, studies in self.groups for s in studies]

    def study(self, uid: str) -> Study | None:
        return self._by_uid.get(uid)

    @property
    def n_scored(self) -> int:
        return sum(1 for r in self.results.values() if r.probability is not None)

    # --- scores -------------------------------------------------------------------------

    def adopt_model(self, record: ModelRecord) -> bool:
        """Make ``record`` the session's model. Scores of a different model are dropped;
        returns True when some were."""
        dropped = bool(self.results) and self.model.content_hash != record.content_hash
        if dropped:
            self.results.clear()
            self._heatmaps.clear()
        self.model = record
        return dropped

    def put_result(self, result: StudyResult) -> None:
        self.results[result.uid] = result

    def put_heatmaps(
        self, uid: str, heatmaps: dict[Path, np.ndarray], kind: str = EXACT_MAP
    ) -> None:
        """A study's maps of one kind (a key of ``core.display.MAP_KINDS``); the last
        ``HEATMAP_STUDIES`` sets stored (a study and a kind each) are kept."""
        self._heatmaps[uid, kind] = heatmaps
        self._heatmaps.move_to_end((uid, kind))
        while len(self._heatmaps) > HEATMAP_STUDIES:
            self._heatmaps.popitem(last=False)

    def heatmaps(self, uid: str, kind: str = EXACT_MAP) -> dict[Path, np.ndarray] | None:
        return self._heatmaps.get((uid, kind))

    def apply_rule(self, rule: VerdictRule) -> None:
        """Re-decide every stored study with ``rule`` (a new threshold): no recomputation."""
        for result in self.results.values():
            result.rule = rule
            result.verdict = (
                None
                if result.probability is None
                else rule.verdict(result.probability, result.body_part)
            )

    def result_set(self) -> ResultSet:
        order = [s.uid for s in self.studies]
        return ResultSet(
            studies=[self.results[uid] for uid in order if uid in self.results],
            model=self.model,
            problems=list(self.problems),
            measurements={str(p): list(found) for p, found in self.measurements.items() if found},
        )


def _owner(study: Study, roots: list[Path]) -> int:
    first = study.views[0].path if study.views else study.folder
    if first is not None:
        resolved = Path(os.path.abspath(first))
        for i, root in enumerate(roots):
            if resolved == root or root in resolved.parents:
                return i
    return 0


def _label(root: Path) -> str:
    return root.name or str(root)


def _study_from_result(result: StudyResult) -> Study:
    views = [
        View(Path(v.path), is_dicom=Path(v.path).suffix.lower() in DICOM_SUFFIXES)
        for v in result.views
    ]
    folder = views[0].path.parent if views and not views[0].is_dicom else None
    return Study(
        uid=result.uid,
        name=result.name,
        views=views,
        body_part=result.body_part,
        label=result.label,
        patient_id=result.patient_id,
        split=result.split,
        folder=folder,
    )
