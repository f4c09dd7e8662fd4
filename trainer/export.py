"""From a run folder to the engine's model bundle: best checkpoint or an ensemble of the best k.

Operating points are chosen on the validation studies the run held out, from the
validation predictions each checkpoint carries (no data access needed): the ensemble's
study probability is the mean over members of the view probabilities (the Predictor's
ensemble rule) aggregated per study by the bundle's ``VerdictRule``.

With ``calibrate`` one temperature is fitted first on the validation views' logits (from
the stored probabilities: ``logit(p)``, clipped), and everything after it (operating
points, per-part thresholds, metrics) uses the calibrated probabilities. The thresholds
and the temperature are fitted on the very studies the metrics are computed on: the
provenance's figures are the model's selection split, not a test.
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
    cohen_kappa,
    study_metrics,
    threshold_for_sensitivity,
    threshold_for_specificity,
)
from mura_desktop.core.results import StudyResult
from mura_desktop.core.stats.calibration import (
    calibration,
    fit_temperature,
    logit,
    scaled_probabilities,
)
from mura_desktop.core.stats.summary import MIN_PER_CLASS, MIN_STUDIES, study_statistics
from mura_desktop.core.study import BODY_PARTS
from mura_desktop.core.verdict import VerdictRule
from mura_desktop.inference.bundle import ModelBundle, save_bundle
from mura_desktop.inference.preprocess import IMAGENET_MEAN, IMAGENET_STD
from trainer.checkpoint import LAST, CheckpointError, load_checkpoint
from trainer.config import TrainConfig

CHECKPOINTS = "checkpoints"


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
    # checkpoints from before patients were recorded: each study is its own patient
    patients = valid.get("study_patients") or [""] * len(valid["study_uids"])
    results = []
    for s, (uid, label, part, patient) in enumerate(
        zip(valid["study_uids"], valid["study_labels"].tolist(), valid["study_parts"], patients,
            strict=True)
    ):  # fmt: skip
        probs = view_probabilities[view_study == s]
        probs = probs[np.isfinite(probs)]
        probability = rule.aggregate(probs) if probs.size else None
        results.append(
            StudyResult(
                uid=uid,
                name=uid,
                body_part=part or None,
                label=int(label),
                patient_id=patient or None,
                probability=probability,
                verdict=None if probability is None else rule.verdict(probability, part or None),
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


def metrics_summary(studies: list[StudyResult]) -> dict[str, Any]:
    """Plain-data metrics for a bundle's provenance: overall scalars and a per-part table,
    each κ and AUROC with its 95% patient-bootstrap interval (or the reason for none)."""
    stats = study_statistics(studies)
    if OVERALL not in stats.groups:
        return {}
    overall = stats.groups[OVERALL].metrics.to_dict()
    summary: dict[str, Any] = {
        k: overall[k]
        for k in ("kappa", "auroc", "accuracy", "sensitivity", "specificity", "precision", "f1")
    }
    summary["studies"] = overall["n"]
    if overall["undefined"]:
        summary["undefined"] = overall["undefined"]
    summary["intervals"] = _kappa_auroc_intervals(stats.groups[OVERALL])
    summary["bootstrap"] = {"unit": "patient", "resamples": stats.resamples, "seed": stats.seed}
    summary["per_part"] = {}
    for name, group in stats.groups.items():
        if name != OVERALL:
            data = group.metrics.to_dict()
            part = {k: data[k] for k in ("n", "kappa", "auroc", "accuracy")}
            if data["undefined"]:
                part["undefined"] = data["undefined"]
            part["intervals"] = _kappa_auroc_intervals(group)
            summary["per_part"][name] = part
    return summary


def _kappa_auroc_intervals(group) -> dict[str, dict]:
    return {k: group.intervals[k].to_dict() for k in ("kappa", "auroc")}


def part_thresholds(studies: list[StudyResult]) -> dict[str, float]:
    """Per body part with enough studies of both classes, the threshold of highest κ on
    them (of ties, the one nearest 0.5); parts without enough keep the default."""
    by_part: dict[str, list[StudyResult]] = {}
    for s in studies:
        if s.body_part and s.probability is not None and s.label is not None:
            by_part.setdefault(s.body_part, []).append(s)
    chosen = {}
    for part, group in sorted(by_part.items()):
        labels = np.array([s.label for s in group], dtype=bool)
        probs = np.array([s.probability for s in group])
        if len(group) < MIN_STUDIES or min(labels.sum(), (~labels).sum()) < MIN_PER_CLASS:
            continue
        candidates = np.unique(probs)
        kappas = np.array([cohen_kappa(labels, probs >= c) for c in candidates])
        best = np.flatnonzero(np.nan_to_num(kappas, nan=-2.0) >= np.nanmax(kappas) - 1e-12)
        chosen[part] = float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])
    return chosen


def _calibrated(
    stacked: np.ndarray, valid: dict[str, Any]
) -> tuple[np.ndarray, float, dict[str, Any]]:
    """View probabilities after temperature scaling, the temperature, and the record of
    the fit for the provenance (ECE and Brier before and after, views and studies)."""
    view_labels = valid["study_labels"].numpy()[valid["view_study"].numpy()]
    usable = np.isfinite(stacked).all(0)
    logits = logit(stacked[:, usable])
    temperature = fit_temperature(logits, view_labels[usable])
    before = scaled_probabilities(logits, 1.0)
    after = scaled_probabilities(logits, temperature)
    calibrated = np.full(stacked.shape[1], np.nan)
    calibrated[usable] = after
    record: dict[str, Any] = {
        "temperature": temperature,
        "fitted_on": f"{int(usable.sum())} validation views (logits from the stored probabilities)",
    }
    for when, probs in (("before", before), ("after", after)):
        views = calibration(view_labels[usable], probs)
        record[f"ece_views_{when}"] = views.ece
        record[f"brier_views_{when}"] = views.brier
    return calibrated, temperature, record


def bundle_from_run(
    run_dir: str | os.PathLike[str],
    top_k: int | None = None,
    *,
    demo: bool | None = None,
    name: str | None = None,
    calibrate: bool = False,
    per_part_thresholds: bool = False,
    flip_average: bool | None = None,
) -> tuple[ModelBundle, ValidationScores]:
    """A bundle holding the best ``top_k`` checkpoints of a run (default: the run's
    ``--top-k``), with operating points and metrics from the run's validation studies;
    ``calibrate`` fits a temperature first, ``per_part_thresholds`` one threshold per
    body part; ``flip_average`` (default: the run's ``--flip-average``) sets the bundle's
    test-time flips (the validation scores behind the operating points are unflipped)."""
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
    temperature, calibration_record = 1.0, None
    if calibrate:
        uncalibrated = validation_studies(states[0]["valid"], view_probs, VerdictRule())
        view_probs, temperature, calibration_record = _calibrated(stacked, states[0]["valid"])
    rule = VerdictRule()
    studies = validation_studies(states[0]["valid"], view_probs, rule)
    thresholds = part_thresholds(studies) if per_part_thresholds else {}
    if thresholds:
        rule = VerdictRule(part_thresholds=thresholds)
        studies = validation_studies(states[0]["valid"], view_probs, rule)
    if calibration_record is not None:
        for when, group in (("before", uncalibrated), ("after", studies)):
            c = calibration(
                [s.label for s in group if s.probability is not None],
                [s.probability for s in group if s.probability is not None],
            )
            calibration_record[f"ece_studies_{when}"] = c.ece
            calibration_record[f"brier_studies_{when}"] = c.brier
    scores = ValidationScores(studies, study_metrics(studies))
    points = operating_points(
        scores.labels, scores.probabilities, config.sensitivity_target, config.specificity_target
    )
    epochs = [int(s["epoch"]) for s in states]
    provenance = {
        "name": name or config.name or f"{config.arch} {run_dir.name}",
        "data": str(states[0].get("dataset", config.data)),
        "split": str(states[0].get("split", "")),
        "metrics": metrics_summary(studies),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "trainer_version": __version__,
        "config": config.to_dict(),
        "demo": bool(config.demo if demo is None else demo),
        "notes": (f"epoch {epochs[0]}" if len(epochs) == 1 else f"ensemble of epochs {epochs}")
        + f" selected by {config.select_metric}; operating points"
        + (" and per-part thresholds" if thresholds else "")
        + (" chosen after temperature scaling" if calibrate else "")
        + " from the validation studies",
        "members_epochs": epochs,
        "trained_on": sorted({str(s["device"]) for s in states if s.get("device")}),
    }
    if calibration_record is not None:
        provenance["calibration"] = calibration_record
    if thresholds:
        provenance["part_thresholds_chosen_on"] = "validation studies, highest kappa per part"
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
        temperature=temperature,
        part_thresholds=thresholds,
        output_stride=config.output_stride,
        flip_average=config.flip_average if flip_average is None else flip_average,
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
    calibrate: bool = False,
    per_part_thresholds: bool = False,
    flip_average: bool | None = None,
) -> tuple[ModelBundle, ValidationScores]:
    """Write ``bundle_from_run``'s bundle to ``out`` (float16 weights with ``half``)."""
    bundle, scores = bundle_from_run(
        run_dir, top_k, demo=demo, name=name, calibrate=calibrate,
        per_part_thresholds=per_part_thresholds, flip_average=flip_average,
    )  # fmt: skip
    save_bundle(bundle, out, half=half)
    return bundle, scores
