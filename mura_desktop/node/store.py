"""Where a listener files what arrives: one folder per study, each instance written whole.

``incoming/<StudyInstanceUID>/<SOPInstanceUID>.dcm`` while a study is still arriving; once
quiet it moves to ``studies/<StudyInstanceUID>/`` (a rename: a study in ``studies/`` is
never half there). Each file is written atomically (hidden temporary name, then renamed),
so nothing half-written ever looks complete. An instance whose header cannot be parsed is
kept as received in ``unfiled/`` and reported; our own heatmap Secondary Captures, sent
back to us, go to ``ours/<StudyInstanceUID>/`` and are never scored as views; a full disk
is refused with C-STORE status 0xA700 and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread

from mura_desktop.core.atomic_write import write_atomically
from mura_desktop.core.dicom_results import MANUFACTURER

log = logging.getLogger(__name__)

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000

FOLDERS = ("incoming", "studies", "unfiled", "ours")
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")


@dataclass(frozen=True)
class Stored:
    """What became of one instance: the C-STORE status, where it went, and any problem
    (with a success status: a note, such as an instance of ours kept aside)."""

    status: int
    path: Path | None = None
    study_uid: str | None = None
    problem: str | None = None


class StudyStore:
    """Files instances by study and tells which studies have gone quiet.

    Parameters
    ----------
    root
        The listener's output folder; ``incoming``, ``studies`` and ``unfiled`` go there.
    min_free_bytes
        Refuse an instance (0xA700) that would leave less than this free on the disk.
    clock
        Seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        root: str | Path,
        *,
        min_free_bytes: int = 64 << 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = Path(root)
        self.min_free_bytes = min_free_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._last_arrival: dict[str, float] = {}
        for name in FOLDERS:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        # a study left arriving by an earlier run completes after a quiet period from now
        for folder in (self.root / "incoming").iterdir():
            if folder.is_dir() and _UID.fullmatch(folder.name):
                self._last_arrival[folder.name] = clock()

    def store(self, sop_instance_uid: str, data: bytes) -> Stored:
        """File one instance (``data``: a DICOM file, meta header included)."""
        name = sop_instance_uid if _UID.fullmatch(sop_instance_uid or "") else None
        try:
            study_uid, ours = _study_uid(data)
        except Exception as exc:  # pydicom raises many types on damaged data
            return self._unfiled(name, data, f"unreadable DICOM header: {exc}")
        if study_uid is None or name is None:
            return self._unfiled(name, data, "no usable Study or SOP Instance UID")
        free = shutil.disk_usage(self.root).free
        if free - len(data) < self.min_free_bytes:
            return Stored(
                OUT_OF_RESOURCES, study_uid=study_uid,
                problem=f"disk nearly full ({free >> 20} MiB free): instance {name} refused",
            )  # fmt: skip
        path = self.root / ("ours" if ours else "incoming") / study_uid / f"{name}.dcm"
        with self._lock:
            try:
                path.parent.mkdir(exist_ok=True)
                write_atomically(path, data)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    path.parent.rmdir()  # only if this was to be its first instance
                full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
                what = "disk full" if full else f"cannot write ({exc.strerror or exc})"
                return Stored(OUT_OF_RESOURCES, study_uid=study_uid, problem=f"{what}: {name}")
            if not ours:
                self._last_arrival[study_uid] = self._clock()
        return Stored(
            SUCCESS, path, study_uid, "our own result object: kept, not scored" if ours else None
        )

    def quiet_studies(self, quiet_seconds: float) -> list[str]:
        """Studies whose last instance came ``quiet_seconds`` ago or longer."""
        now = self._clock()
        with self._lock:
            return [u for u, t in self._last_arrival.items() if now - t >= quiet_seconds]

    def complete(self, study_uid: str) -> Path:
        """Move a quiet study's instances to ``studies/<uid>/`` (joining any that came in
        an earlier batch) and return that folder."""
        with self._lock:
            self._last_arrival.pop(study_uid, None)
            source = self.root / "incoming" / study_uid
            target = self.root / "studies" / study_uid
            for stale in source.glob(".*"):  # a temporary file of a writer that was killed
                stale.unlink(missing_ok=True)
            if not target.exists():
                source.rename(target)
                return target
            for item in source.iterdir():
                item.replace(target / item.name)
            shutil.rmtree(source, ignore_errors=True)
            return target

    def _unfiled(self, name: str | None, data: bytes, problem: str) -> Stored:
        path = self.root / "unfiled" / f"{name or 'instance'}-{time.time_ns()}.dcm"
        try:
            write_atomically(path, data)
        except OSError as exc:
            return Stored(OUT_OF_RESOURCES, problem=f"{problem}; not kept: {exc.strerror}")
        return Stored(CANNOT_UNDERSTAND, path, problem=f"{problem}; kept as {path.name}")


def _study_uid(data: bytes) -> tuple[str | None, bool]:
    """The instance's Study Instance UID (None if unusable), and whether we made it."""
    ds = dcmread(
        io.BytesIO(data), stop_before_pixels=True,
        specific_tags=["StudyInstanceUID", "Manufacturer"],
    )  # fmt: skip
    uid = str(ds.get("StudyInstanceUID", "")).strip()
    return (uid if _UID.fullmatch(uid) else None), ds.get("Manufacturer") == MANUFACTURER
