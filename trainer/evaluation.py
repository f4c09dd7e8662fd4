"""``mura-train evaluate``: score a labelled dataset with a bundle (or a run's best model)
through the engine's ``Predictor``, i.e. exactly what the viewer would show."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mura_desktop.core.discovery import discover
from mura_desktop.core.metrics import BinaryMetrics, study_metrics
from mura_desktop.core.results import ResultSet
from mura_desktop.inference.bundle import ModelBundle, load_bundle
from mura_desktop.inference.predictor import Predictor
from trainer.config import CONFIG_FILE
from trainer.data import DataError, dataset_root
from trainer.export import bundle_from_run

SPLIT_CHOICES = ("auto", "valid", "train", "all")


@dataclass
class ModelEvaluation:
    """Per-study results and study-level metrics (``ALL`` and per body part)."""

    bundle: ModelBundle
    results: ResultSet
    metrics: dict[str, BinaryMetrics]
    notes: list[str]


def load_model(source: str | os.PathLike[str], top_k: int | None = None) -> ModelBundle:
    """A bundle file, or a run folder (its best ``top_k`` checkpoints, as export would)."""
    source = Path(source)
    if source.is_dir() and (source / CONFIG_FILE).is_file():
        return bundle_from_run(source, top_k)[0]
    return load_bundle(source)


def evaluate_model(
    source: str | os.PathLike[str],
    dataset: str | os.PathLike[str],
    *,
    split: str = "auto",
    parts: Sequence[str] = (),
    device: str = "auto",
    threshold: float | None = None,
    top_k: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ModelEvaluation:
    """Score the labelled studies of ``dataset`` (``split``: ``auto`` = the ``valid`` split
    when the data has one, else everything) and compute study-level metrics."""
    if split not in SPLIT_CHOICES:
        raise ValueError(f"split {split!r}: choose one of {', '.join(SPLIT_CHOICES)}")
    bundle = load_model(source, top_k)
    wanted = {p.upper() for p in parts}
    root, note = dataset_root(dataset)
    studies = [
        s
        for s in discover([root]).studies
        if s.label is not None and (not wanted or s.body_part in wanted)
    ]
    if split == "auto":
        split = "valid" if any(s.split == "valid" for s in studies) else "all"
    if split != "all":
        studies = [s for s in studies if s.split == split]
    if not studies:
        raise DataError(f"{dataset}: no labelled studies in split {split!r}")
    results = ResultSet(model={**bundle.summary(), "source": str(source)})
    with Predictor(bundle, device=device, threshold=threshold) as predictor:
        for prediction in predictor.predict_many(studies, heatmaps=False, progress=progress):
            results.studies.append(prediction.result)
        notes = [note, *predictor.notes] if note else list(predictor.notes)
    return ModelEvaluation(bundle, results, study_metrics(results.studies), notes)
