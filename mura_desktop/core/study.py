"""What the engine knows about a study before any pixel is decoded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mura_desktop.core.labels import Label

BODY_PARTS: tuple[str, ...] = ("ELBOW", "FINGER", "FOREARM", "HAND", "HUMERUS", "SHOULDER", "WRIST")


@dataclass(frozen=True)
class View:
    """One image of a study: a file on disk (a PNG/JPEG/... or a DICOM instance)."""

    path: Path
    is_dicom: bool = False


@dataclass
class Study:
    """A set of views of one body part of one patient, read together.

    ``uid`` is a stable key: the study folder's resolved path, ``dicom:<StudyInstanceUID>``
    for DICOM studies; loose images join the study of their (resolved) folder.
    ``label`` is a ``Label`` when known, else ``None``.
    """

    uid: str
    name: str
    views: list[View] = field(default_factory=list)
    body_part: str | None = None
    label: Label | None = None
    patient_id: str | None = None
    split: str | None = None
    folder: Path | None = None

    def __post_init__(self) -> None:
        self.label = Label.of(self.label)


IGNORED = "ignored"
FAILED = "failed"
WARNING = "warning"
PROBLEM_KINDS: tuple[str, ...] = (FAILED, WARNING, IGNORED)


@dataclass(frozen=True)
class ScanProblem:
    """A path discovery skipped or doubted, and why.

    ``kind`` says what it means for a run: ``FAILED`` is an image, DICOM, folder or MURA CSV
    that could not be read (a run with one is partial); ``IGNORED`` is something that is not
    a radiograph view at all (a README, ``.DS_Store``, a hidden folder, a DICOM report);
    ``WARNING`` is data that was used but disagrees with itself (a CSV label against a
    folder name).
    """

    path: Path
    reason: str
    kind: str = FAILED

    def __post_init__(self) -> None:
        if self.kind not in PROBLEM_KINDS:
            raise ValueError(f"unknown problem kind {self.kind!r}; expected one of {PROBLEM_KINDS}")

    def to_dict(self) -> dict[str, str]:
        return {"path": str(self.path), "kind": self.kind, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict) -> ScanProblem:
        return cls(Path(data["path"]), str(data["reason"]), str(data.get("kind", FAILED)))


@dataclass
class Scan:
    """What discovery found under the paths it was given."""

    studies: list[Study] = field(default_factory=list)
    problems: list[ScanProblem] = field(default_factory=list)

    @property
    def n_views(self) -> int:
        return sum(len(s.views) for s in self.studies)

    @property
    def failures(self) -> list[ScanProblem]:
        """The problems that make a run partial: things that should have been read."""
        return [p for p in self.problems if p.kind == FAILED]


def body_part_from_name(name: str) -> str | None:
    """``XR_WRIST`` -> ``WRIST``; a bare known part name (any case) is accepted too."""
    upper = name.upper()
    if upper.startswith("XR_"):
        upper = upper[3:]
    return upper if upper in BODY_PARTS else None
