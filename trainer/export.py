"""From a run folder to the engine's model bundle: best checkpoint or an ensemble of the best k.

Operating points are chosen on the validation studies the run held out, from the
validation predictions each checkpoint carries (no data access needed): the ensemble's
study probability is the mean over members of the view probabilities (the Predictor's
ensemble rule) aggregated per study by the bundle's ``VerdictRule``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from mura_desktop import __version__
from mura_desktop.core.metrics import (
    OVERALL,
    BinaryMetrics,
    study_metrics,
    threshold_for_sensitivity,
    threshold_for_specificity,
)
from mura_desktop.core.results import StudyResult
from mura_desktop.core.study import BODY_PARTS
from mura_desktop.core.verdict import VerdictRule
from mura_desktop.inference.bundle import ModelBundle, save_bundle
from mura_desktop.inference.preprocess import IMAGENET_MEAN, IMAGENET_STD
from trainer.checkpoint import LAST, CheckpointError, load_checkpoint
from trainer.config import TrainConfig

CHECKPOINTS = "checkpoints"
BUNDLE_FILE = "model.mura"


class ExportError(Exception):
    """A run folder that cannot be exported, with the reason."""


@dataclass
class ValidationScores:
    """Study-level validation outcome of the exported model (for plots and provenance)."""

    studies: list[StudyResult]
    metrics: dict[str, BinaryMetrics]

    @property
    def labels(self) -> list[int]:
        return [int(s.label) for s in self.studies if s.probability is not None]

    @property
    def probabilities(self) -> list[float]:
        return [float(s.probability) for s in self.studies if s.probability is not None]


def operating_points(
    labels: list[int],
    probabilities: list[float],
    sensitivity_target: float = 0.95,
    specificity_target: float = 0.95,
) -> dict[str, float]:
    """``default`` 0.5 plus the thresholds reaching the sensitivity / specificity targets.

    When one threshold meets both targets the two points meet in the middle of the
    interval that does (the bundle requires high-sensitivity ≤ high-specificity).
    """
    points = {"default": 0.5}
    if len(set(labels)) < 2:
        return points
    sens = threshold_for_sensitivity(labels, probabilities, sensitivity_target)
    spec = threshold_for_specificity(labels, probabilities, specificity_target)
    if sens > spec:
        sens = spec = (sens + spec) / 2.0
    points["high_sensitivity"] = float(sens)
    points["high_specificity"] = float(spec)
    return points


def validation_studies(
    valid: dict[str, Any], view_probabilities: np.ndarray, rule: VerdictRule
) -> list[StudyResult]:
    """Study results from a checkpoint's stored validation layout and view probabilities."""
    view_study = valid["view_study"].numpy()
    results = []
    for s, (uid, label, part) in enumerate(
        zip(valid["study_uids"], valid["study_labels"].tolist(), valid["study_parts"], strict=True)
    ):
        probs = view_probabilities[view_study == s]
        probs = probs[np.isfinite(probs)]
        probability = rule.aggregate(probs) if probs.size else None
        results.append(
            StudyResult(
                uid=uid,
                name=uid,
                body_part=part or None,
                label=int(label),
                probability=probability,
                verdict=rule.verdict(probability) if probability is not None else None,
                rule=rule,
            )
        )
    return results


def ranked_checkpoints(run_dir: str | os.PathLike[str]) -> list[Path]:
    """The run's kept checkpoints, best first (from ``last.pt``'s record)."""
    folder = Path(run_dir) / CHECKPOINTS
    try:
        last = load_checkpoint(folder / LAST)
    except CheckpointError as exc:
        raise ExportError(f"{run_dir}: no finished epoch to export ({exc})") from exc
    paths = [folder / item["file"] for item in last.get("kept", [])]
    present = [p for p in paths if p.is_file()]
    if not present:
        raise ExportError(f"{folder}: none of the best checkpoints is present")
    return present


def metrics_summary(metrics: dict[str, BinaryMetrics]) -> dict[str, Any]:
    """Plain-data metrics for a bundle's provenance: overall scalars and a per-part table."""
    if OVERALL not in metrics:
        return {}
    overall = metrics[OVERALL].to_dict()
    summary: dict[str, Any] = {
        k: overall[k]
        for k in ("kappa", "auroc", "accuracy", "sensitivity", "specificity", "precision", "f1")
    }
    summary["studies"] = overall["n"]
    if overall["undefined"]:
        summary["undefined"] = overall["undefined"]
    summary["per_part"] = {}
    for name, m in metrics.items():
        if name != OVERALL:
            data = m.to_dict()
            part = {k: data[k] for k in ("n", "kappa", "auroc", "accuracy")}
            if data["undefined"]:
                part["undefined"] = data["undefined"]
            summary["per_part"][name] = part
    return summary


def bundle_from_run(
    run_dir: str | os.PathLike[str],
    top_k: int | None = None,
    *,
    demo: bool | None = None,
    name: str | None = None,
) -> tuple[ModelBundle, ValidationScores]:
    """A bundle holding the best ``top_k`` checkpoints of a run (default: the run's
    ``--top-k``), with operating points and metrics from the run's validation studies."""
    run_dir = Path(run_dir)
    config = TrainConfig.load(run_dir)
    top_k = config.export_top_k if top_k is None else top_k
    if top_k < 1:
        raise ExportError(f"--top-k {top_k} must be at least 1")
    paths = ranked_checkpoints(run_dir)
    if top_k > len(paths):
        raise ExportError(
            f"{run_dir}: asked for the best {top_k} checkpoints but the run kept {len(paths)} "
            f"(--keep-best {config.keep_best})"
        )
    states = [load_checkpoint(p) for p in paths[:top_k]]
    members = [s["model"] for s in states]
    stacked = np.stack([s["valid"]["view_probs"].double().numpy() for s in states])
    scored = np.isfinite(stacked)
    with np.errstate(invalid="ignore", divide="ignore"):
        view_probs = np.where(scored, stacked, 0.0).sum(0) / scored.sum(0)
    rule = VerdictRule()
    studies = validation_studies(states[0]["valid"], view_probs, rule)
    metrics = study_metrics(studies)
    scores = ValidationScores(studies, metrics)
    points = operating_points(
        scores.labels, scores.probabilities, config.sensitivity_target, config.specificity_target
    )
    epochs = [int(s["epoch"]) for s in states]
    provenance = {
        "name": name or config.name or f"{config.arch} {run_dir.name}",
        "data": str(states[0].get("dataset", config.data)),
        "split": str(states[0].get("split", "")),
        "metrics": metrics_summary(metrics),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "trainer_version": __version__,
        "config": config.to_dict(),
        "demo": bool(config.demo if demo is None else demo),
        "notes": (f"epoch {epochs[0]}" if len(epochs) == 1 else f"ensemble of epochs {epochs}")
        + f" selected by {config.select_metric}; operating points from the validation studies",
        "members_epochs": epochs,
        "trained_on": sorted({str(s["device"]) for s in states if s.get("device")}),
    }
    bundle = ModelBundle(
        architecture=config.arch,
        members=members,
        input_size=config.size,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        body_parts=BODY_PARTS if config.body_part_head else None,
        operating_points=points,
        aggregation=rule.aggregation,
        provenance=provenance,
    )
    return bundle, scores


def export_run(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    top_k: int | None = None,
    half: bool = False,
    demo: bool | None = None,
    name: str | None = None,
) -> tuple[ModelBundle, ValidationScores]:
    """Write ``bundle_from_run``'s bundle to ``out`` (float16 weights with ``half``)."""
    bundle, scores = bundle_from_run(run_dir, top_k, demo=demo, name=name)
    save_bundle(bundle, out, half=half)
    return bundle, scores
