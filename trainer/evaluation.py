"""``mura-train evaluate``: score a labelled dataset with a bundle (or a run's best model)
through the engine's ``Predictor``, i.e. exactly what the viewer would show."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mura_desktop.core.discovery import discover
from mura_desktop.core.localisation import LocalisationSummary
from mura_desktop.core.metrics import BinaryMetrics
from mura_desktop.core.results import ResultSet, is_results_json
from mura_desktop.core.stats.summary import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    StudyStatistics,
    study_statistics,
)
from mura_desktop.inference.bundle import ModelBundle, load_bundle
from mura_desktop.inference.predictor import Predictor
from trainer.config import CONFIG_FILE
from trainer.data import DataError, dataset_root
from trainer.export import bundle_from_run
from trainer.localisation import LocalisationCheck, ground_truth_folder

SPLIT_CHOICES = ("auto", "valid", "train", "all")


@dataclass
class ModelEvaluation:
    """Per-study results and study-level metrics (``ALL`` and per body part), with their
    intervals and calibration in ``statistics``."""

    bundle: ModelBundle
    results: ResultSet
    statistics: StudyStatistics
    notes: list[str]
    scored_on: str = ""
    same_studies: bool = False
    # per map (model, resolution oracle) and group; None where the data has no masks
    localisation: dict[str, dict[str, LocalisationSummary]] | None = None

    @property
    def metrics(self) -> dict[str, BinaryMetrics]:
        return self.statistics.metrics

    @property
    def provenance_lines(self) -> list[str]:
        """Which split chose the model and which scored it (and a warning when the same)."""
        lines = [
            f"model chosen on: {selected_on(self.bundle)}",
            f"scored on:       {self.scored_on}",
        ]
        if self.same_studies:
            lines.append(SAME_STUDIES_WARNING)
        return lines


SAME_STUDIES_WARNING = (
    "note: the model was selected on these same studies; the figures are optimistic, "
    "not those of an unseen test set"
)


def selected_on(bundle: ModelBundle) -> str:
    """How the bundle's checkpoints were selected, from its provenance."""
    prov = bundle.provenance
    split, data = prov.get("split"), prov.get("data")
    if not split:
        return "unknown (no training record in the bundle)"
    return f"{split}" + (f" of {data}" if data else "")


def _same_studies(bundle: ModelBundle, root: Path, split: str) -> bool:
    """Whether ``split`` of ``root`` is the split that chose the bundle's checkpoints."""
    prov = bundle.provenance
    data, chosen_on = prov.get("data"), str(prov.get("split") or "")
    if not data or Path(data).resolve() != root.resolve():
        return False
    if chosen_on.startswith("shipped train/valid"):
        return split in ("valid", "all")
    return split in ("train", "all")  # a held-out fraction of train chose it


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
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    alternatives: Sequence[str] = (),
) -> ModelEvaluation:
    """Score the labelled studies of ``dataset`` (``split``: ``auto`` = the ``valid`` split
    when the data has one, else everything) and compute study-level metrics, with
    ``resamples`` patient-bootstrap resamples for their intervals (0: none). Where the data
    has masks, the heatmaps' localisation too, also of the ``alternatives`` maps."""
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
    results = ResultSet(model=bundle.record(source=str(source)))
    masks = ground_truth_folder(dataset)
    check = LocalisationCheck(masks, bundle, alternatives) if masks is not None else None
    with Predictor(bundle, device=device, threshold=threshold) as predictor:
        scored = predictor.predict_many(studies, heatmaps=check is not None, progress=progress)
        for prediction in scored:
            results.studies.append(prediction.result)
            if check is not None:
                check.add(prediction)
        notes = [note, *predictor.notes] if note else list(predictor.notes)
    localisation = None
    if check is not None:
        localisation = check.summaries()
        check.close()
    statistics = study_statistics(results.studies, resamples=resamples, seed=seed)
    results.metrics = statistics.to_dict()
    scored_on = f"{split} split of {root}, {len(studies)} studies"
    same = _same_studies(bundle, root, split)
    results.model = results.model.with_details(selected_on=selected_on(bundle), scored_on=scored_on)
    return ModelEvaluation(bundle, results, statistics, notes, scored_on, same, localisation)


def scored_results(
    source: str | os.PathLike[str],
    dataset: str | os.PathLike[str] | None,
    *,
    split: str = "auto",
    parts: Sequence[str] = (),
    device: str = "auto",
    top_k: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[str, ResultSet, list[str]]:
    """A model's name, study results and notes: read from a results file (``--json`` of
    ``evaluate`` or ``predict``), or scored now on ``dataset`` (a bundle or a run folder)."""
    if is_results_json(source):
        results = ResultSet.from_json(source)
        wanted = {p.upper() for p in parts}
        if wanted:
            results.studies = [s for s in results.studies if s.body_part in wanted]
        return results.model.name or Path(source).name, results, []
    if dataset is None:
        raise DataError(f"{source}: a model needs a DATASET to score (or give a results .json)")
    outcome = evaluate_model(
        source, dataset, split=split, parts=parts, device=device, top_k=top_k,
        progress=progress, resamples=0,
    )  # fmt: skip
    return outcome.bundle.name, outcome.results, outcome.notes
