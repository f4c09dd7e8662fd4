"""Scoring a study the listener has received: results JSON (as ``predict --json`` writes),
optionally the DICOM SR and Secondary Captures, optionally sent on to another node."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from mura_desktop.core.dicom_results import (
    DicomResultFiles,
    NoDicomContext,
    write_dicom_results,
)
from mura_desktop.core.discovery import discover
from mura_desktop.core.display import HeatmapStyle
from mura_desktop.core.results import ResultSet, StudyResult
from mura_desktop.inference.bundle import ModelBundle
from mura_desktop.inference.predictor import Predictor
from mura_desktop.node.scu import Node, NodeUnreachable, SendReport, send_files

log = logging.getLogger(__name__)


@dataclass
class ScoredStudy:
    """One received study's outcome; ``result`` is None when nothing in it could be read."""

    study_uid: str
    folder: Path
    result: StudyResult | None = None
    json_path: Path | None = None
    dicom: DicomResultFiles | None = None
    sent: SendReport | None = None
    problems: list[str] = field(default_factory=list)


class StudyScorer:
    """Scores study folders with one model; writes ``out/results/<uid>.json`` and, when
    asked, ``out/dicom/<uid>/`` (SR + SCs), sending those to ``send_to``."""

    def __init__(
        self,
        bundle: ModelBundle,
        out: str | Path,
        *,
        device: str = "auto",
        threshold: float | None = None,
        dicom_results: bool = False,
        send_to: Node | None = None,
        calling_ae_title: str = "MURA",
        opacity: float = 0.5,
    ) -> None:
        self.out = Path(out)
        self.predictor = Predictor(bundle, device=device, threshold=threshold)
        self.model = bundle.record()
        self.dicom_results = dicom_results or send_to is not None
        self.send_to = send_to
        self.calling_ae_title = calling_ae_title
        self.opacity = opacity
        (self.out / "results").mkdir(parents=True, exist_ok=True)

    def __call__(self, folder: Path) -> ScoredStudy:
        scored = ScoredStudy(folder.name, folder)
        scan = discover([folder])
        scored.problems += [f"{p.path.name}: {p.reason}" for p in scan.problems]
        if not scan.studies:
            scored.problems.append("no readable instance in the study")
            return scored
        results = ResultSet(model=self.model, problems=list(scan.problems))
        for prediction in self.predictor.predict_many(scan.studies, heatmaps=self.dicom_results):
            result = prediction.result
            results.studies.append(result)
            scored.result = scored.result or result
            if self.dicom_results:
                self._write_dicom(scored, prediction)
        scored.problems += [
            f"{Path(v.path).name}: {v.error}" for s in results.studies for v in s.views if not v.ok
        ]
        scored.json_path = self.out / "results" / f"{scored.study_uid}.json"
        results.to_json(scored.json_path)
        if scored.dicom is not None and self.send_to is not None:
            self._send(scored)
        return scored

    def close(self) -> None:
        self.predictor.close()

    def _write_dicom(self, scored: ScoredStudy, prediction) -> None:
        try:
            floor = self.predictor.rule.map_floor(prediction.result.body_part)
            overlays = prediction.overlays(HeatmapStyle(opacity=self.opacity), floor)
            scored.dicom = write_dicom_results(
                prediction.result, self.model, self.out / "dicom", overlays
            )
        except (NoDicomContext, OSError) as exc:
            scored.problems.append(f"DICOM results not written: {exc}")
            return
        except Exception as exc:  # e.g. a source header highdicom cannot copy
            log.exception("DICOM results of %s failed", scored.study_uid)
            scored.problems.append(f"DICOM results not written: {type(exc).__name__}: {exc}")
            return
        scored.problems += scored.dicom.notes

    def _send(self, scored: ScoredStudy) -> None:
        assert scored.dicom is not None and self.send_to is not None
        files = [scored.dicom.report, *scored.dicom.overlays]
        try:
            scored.sent = send_files(self.send_to, files, self.calling_ae_title)
        except NodeUnreachable as exc:
            scored.problems.append(f"results not sent: {exc}")
            return
        scored.problems += [f"not sent: {p.name}: {why}" for p, why in scored.sent.failed]
