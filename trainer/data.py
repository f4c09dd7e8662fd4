"""Which studies and views a run trains and validates on.

Studies come from the engine's discovery (``mura_desktop.core.discovery.discover``) with
their labels. The validation set is MURA's shipped ``valid`` split, or a held-out fraction
of the training studies grouped by patient: a patient's studies are never on both sides.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mura_desktop.core.mura_layout import CSV_NAMES
from mura_desktop.core.study import BODY_PARTS, Study

AUTO_VALID_FRACTION = 0.15
"""Held-out fraction used when a dataset has no ``valid`` split and none was asked for."""


@dataclass(frozen=True)
class ViewSample:
    """One training image: its file, its study's index in the split, label and body part.

    ``part`` indexes ``BODY_PARTS``; ``-1`` when the study's body part is unknown.
    """

    path: str
    study: int
    label: int
    part: int


@dataclass
class DataSplit:
    """Labelled studies for training and validation, and what was left out and why."""

    train: list[Study]
    valid: list[Study]
    description: str
    excluded: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        def counts(studies: list[Study]) -> str:
            n_abn = sum(s.label == 1 for s in studies)
            n_views = sum(len(s.views) for s in studies)
            return f"{len(studies)} studies ({n_abn} abnormal), {n_views} views"

        lines = [
            f"split: {self.description}",
            f"  train {counts(self.train)}",
            f"  valid {counts(self.valid)}",
        ]
        if self.excluded:
            lines.append(
                "  left out: " + ", ".join(f"{n} {why}" for why, n in self.excluded.items())
            )
        return "\n".join(lines)


class DataError(ValueError):
    """The dataset cannot make a training run (nothing labelled, an empty side, ...)."""


def dataset_root(path: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """The folder to discover studies in, and a note when it is not ``path`` itself.

    A folder without MURA's CSVs that holds exactly one subfolder with them (``OUT`` of
    ``mura-train phantoms``, or a download folder around ``MURA-v1.1``) means that
    subfolder: whatever lies beside it (a ``dicom/`` copy of the phantoms, other
    downloads) is not training data.
    """
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    if any((root / name).is_file() for name in CSV_NAMES):
        return root, None
    try:
        children = [c for c in root.iterdir() if c.is_dir()]
    except OSError as exc:
        raise DataError(f"{root}: cannot list the folder ({exc.strerror or exc})") from exc
    with_csvs = [c for c in children if any((c / name).is_file() for name in CSV_NAMES)]
    if len(with_csvs) == 1:
        return with_csvs[0], f"using {with_csvs[0]}, the MURA dataset root inside {root}"
    return root, None


def patient_key(study: Study) -> str:
    """The grouping key of a study: its patient, or the study itself when unknown."""
    return study.patient_id or f"study:{study.uid}"


def patient_grouped_split(
    studies: Sequence[Study], valid_fraction: float, seed: int
) -> tuple[list[Study], list[Study]]:
    """Split ``studies`` so that about ``valid_fraction`` of them are held out, by patient.

    Patients are shuffled with ``seed`` and taken for validation until the held-out share
    of studies reaches the fraction. The result does not depend on the input order.
    """
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid fraction {valid_fraction} must be in (0, 1)")
    by_patient: dict[str, list[Study]] = {}
    for study in studies:
        by_patient.setdefault(patient_key(study), []).append(study)
    patients = sorted(by_patient)
    order = np.random.default_rng(seed).permutation(len(patients))
    target = valid_fraction * len(studies)
    held: set[str] = set()
    n_held = 0
    for i in order:
        if n_held >= target:
            break
        held.add(patients[i])
        n_held += len(by_patient[patients[i]])
    train = [s for s in studies if patient_key(s) not in held]
    valid = [s for s in studies if patient_key(s) in held]
    return train, valid


def make_split(
    studies: Iterable[Study],
    *,
    parts: Sequence[str] = (),
    valid_fraction: float | None = None,
    seed: int = 0,
) -> DataSplit:
    """Choose the training and validation studies.

    Parameters
    ----------
    studies
        Discovered studies; unlabelled ones and those of other body parts are left out.
    parts
        Body parts to keep (empty: all).
    valid_fraction
        None: MURA's shipped ``train``/``valid`` split (studies with no split count as
        training). A number: hold out that fraction of the training studies by patient
        (shipped ``valid`` studies are then not used). When the data has no ``valid`` split
        and no fraction is given, ``AUTO_VALID_FRACTION`` is held out.
    """
    wanted = {p.upper() for p in parts}
    excluded: Counter[str] = Counter()
    kept: list[Study] = []
    for study in studies:
        if study.label is None:
            excluded["unlabelled studies"] += 1
        elif wanted and study.body_part not in wanted:
            excluded["studies of other body parts"] += 1
        elif not study.views:
            excluded["studies without views"] += 1
        else:
            kept.append(study)
    kept.sort(key=lambda s: s.uid)
    shipped_valid = [s for s in kept if s.split == "valid"]
    training = [s for s in kept if s.split != "valid"]
    if valid_fraction is None and shipped_valid:
        train, valid = training, shipped_valid
        description = "shipped train/valid"
    else:
        fraction = AUTO_VALID_FRACTION if valid_fraction is None else valid_fraction
        if shipped_valid:
            excluded["shipped valid studies (not used with a held-out fraction)"] += len(
                shipped_valid
            )
        train, valid = patient_grouped_split(training, fraction, seed)
        why = "" if valid_fraction is not None else " (the data has no valid split)"
        description = f"{fraction:.0%} of train held out by patient, seed {seed}{why}"
    if not train or not valid:
        side = "training" if not train else "validation"
        raise DataError(
            f"no labelled {side} studies (found {len(kept)} labelled studies"
            + (f" of {', '.join(sorted(wanted))}" if wanted else "")
            + ")"
        )
    return DataSplit(train=train, valid=valid, description=description, excluded=dict(excluded))


def view_samples(studies: Sequence[Study]) -> list[ViewSample]:
    """One sample per view, in study order; ``ViewSample.study`` indexes ``studies``."""
    return [
        ViewSample(
            path=os.fspath(view.path),
            study=i,
            label=int(study.label or 0),
            part=BODY_PARTS.index(study.body_part) if study.body_part in BODY_PARTS else -1,
        )
        for i, study in enumerate(studies)
        for view in study.views
    ]
