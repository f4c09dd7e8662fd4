"""MURA's conventions: what folder names say about a study, and the official CSVs.

A MURA study folder is ``<root>/<split>/XR_<PART>/patientNNNNN/studyN_<positive|negative>``;
``<root>`` (``MURA-v1.1``) may hold ``{train,valid}_image_paths.csv`` and
``{train,valid}_labeled_studies.csv``, whose lines start with ``MURA-v1.1/``.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mura_desktop.core.labels import Label
from mura_desktop.core.study import ScanProblem, body_part_from_name

SPLITS: tuple[str, ...] = ("train", "valid")
IMAGE_PATHS_CSVS: tuple[str, ...] = tuple(f"{s}_image_paths.csv" for s in SPLITS)
LABELED_STUDIES_CSVS: tuple[str, ...] = tuple(f"{s}_labeled_studies.csv" for s in SPLITS)
CSV_NAMES: frozenset[str] = frozenset(IMAGE_PATHS_CSVS + LABELED_STUDIES_CSVS)

_PATIENT = re.compile(r"patient\d+", re.IGNORECASE)
_LABEL_SUFFIX = re.compile(r".*_(positive|negative)", re.IGNORECASE)

# A study folder relative to the dataset root: ('valid', 'XR_WRIST', 'patient1', 'study1_positive').
StudyKey = tuple[str, ...]


@dataclass(frozen=True)
class FolderFacts:
    """What a study folder's path says about the study.

    ``dataset_root`` is the folder above the ``train``/``valid`` ancestor (where the CSVs
    live) and ``key`` the study folder relative to it; both ``None`` without a split ancestor.
    """

    name: str
    body_part: str | None = None
    label: Label | None = None
    patient_id: str | None = None
    split: str | None = None
    dataset_root: str | None = None
    key: StudyKey | None = None


def folder_facts(folder: str) -> FolderFacts:
    """Read body part, label, patient and split from an absolute folder path.

    The nearest ancestor wins for each: ``XR_<PART>`` (or a bare part name) for the body
    part, ``patientNNNNN`` for the patient, ``train``/``valid`` for the split. The label comes
    from the folder's own ``_positive``/``_negative`` suffix. The name runs from the body-part
    or patient folder down, three folders at most (``XR_WRIST/patient1/study1_positive``).
    """
    parts = folder.split(os.sep)
    body_at = patient_at = split_at = None
    for i in range(len(parts) - 1, 0, -1):
        part = parts[i]
        if body_at is None and body_part_from_name(part) is not None:
            body_at = i
        elif patient_at is None and _PATIENT.fullmatch(part):
            patient_at = i
        elif split_at is None and part.lower() in SPLITS:
            split_at = i
        if body_at is not None and patient_at is not None and split_at is not None:
            break
    suffix = _LABEL_SUFFIX.fullmatch(parts[-1])
    label = None
    if suffix is not None:
        label = Label.ABNORMAL if suffix.group(1).lower() == "positive" else Label.NORMAL
    last = len(parts) - 1
    named_from = max(min(i for i in (body_at, patient_at, last) if i is not None), last - 2)
    return FolderFacts(
        name="/".join(parts[named_from:]),
        body_part=body_part_from_name(parts[body_at]) if body_at is not None else None,
        label=label,
        patient_id=parts[patient_at] if patient_at is not None else None,
        split=parts[split_at].lower() if split_at is not None else None,
        dataset_root=(
            os.path.join(parts[0] + os.sep, *parts[1:split_at]) if split_at is not None else None
        ),
        key=tuple(parts[split_at:]) if split_at is not None else None,
    )


@dataclass
class MuraCsvs:
    """The official CSVs found in one dataset root.

    ``labels`` maps a study key to ``(label, csv file name)``; ``images`` maps a study key to
    the image file names the image-path CSVs list for it.
    """

    root: Path
    labels: dict[StudyKey, tuple[Label, str]] = field(default_factory=dict)
    images: dict[StudyKey, list[str]] = field(default_factory=dict)
    problems: list[ScanProblem] = field(default_factory=list)


def read_mura_csvs(root: str | os.PathLike[str]) -> MuraCsvs | None:
    """Read whichever of the four official CSVs ``root`` holds; ``None`` if it holds none.

    A CSV path's first component (``MURA-v1.1``) stands for ``root`` itself, so a renamed
    dataset folder still matches. Unreadable files and malformed lines become problems.
    """
    root = Path(root)
    present = [name for name in sorted(CSV_NAMES) if (root / name).is_file()]
    if not present:
        return None
    found = MuraCsvs(root=root)
    for name in present:
        rows = _read_rows(root / name, found.problems)
        if name in LABELED_STUDIES_CSVS:
            _take_labels(root / name, rows, found)
        else:
            _take_image_paths(root / name, rows, found)
    return found


def _read_rows(path: Path, problems: list[ScanProblem]) -> list[list[str]]:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(ScanProblem(path, f"cannot read MURA CSV: {exc}"))
        return []


def _csv_parts(text: str) -> list[str]:
    return [p for p in text.strip().replace("\\", "/").split("/") if p]


def _take_labels(path: Path, rows: list[list[str]], found: MuraCsvs) -> None:
    bad: list[int] = []
    for n, row in enumerate(rows, start=1):
        parts = _csv_parts(row[0]) if row else []
        if len(row) != 2 or len(parts) < 2 or row[1].strip() not in ("0", "1"):
            if any(cell.strip() for cell in row):
                bad.append(n)
            continue
        found.labels[tuple(parts[1:])] = (Label(int(row[1])), path.name)
    _report_bad_lines(path, bad, "'MURA-v1.1/<split>/XR_<PART>/<patient>/<study>/,<0|1>'", found)


def _take_image_paths(path: Path, rows: list[list[str]], found: MuraCsvs) -> None:
    bad: list[int] = []
    for n, row in enumerate(rows, start=1):
        parts = _csv_parts(row[0]) if len(row) == 1 else []
        if len(parts) < 3:
            if any(cell.strip() for cell in row):
                bad.append(n)
            continue
        found.images.setdefault(tuple(parts[1:-1]), []).append(parts[-1])
    _report_bad_lines(path, bad, "'MURA-v1.1/<split>/XR_<PART>/<patient>/<study>/<image>'", found)


def _report_bad_lines(path: Path, bad: Sequence[int], expected: str, found: MuraCsvs) -> None:
    if bad:
        shown = ", ".join(str(n) for n in bad[:5]) + (", ..." if len(bad) > 5 else "")
        found.problems.append(
            ScanProblem(path, f"{len(bad)} malformed line(s) (line {shown}); expected {expected}")
        )
