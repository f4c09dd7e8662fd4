"""Study discovery: turn any mix of folders, image files and DICOMs into studies.

Nothing here decodes pixels. Raster images are recognised by extension; only DICOM
candidates (``.dcm``, ``.dicom``, no or unknown extension) are opened, for 132 bytes and,
if DICOM, for a header read that stops before the pixel data. Whatever cannot be used
becomes a ``ScanProblem``; discovery itself does not raise for bad input.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mura_desktop.core.dicom_index import (
    DicomdirError,
    DicomHeader,
    dicomdir_instances,
    read_dicom_header,
)
from mura_desktop.core.errors import ImageLoadError, os_error_reason
from mura_desktop.core.formats import sniff_format
from mura_desktop.core.mura_layout import (
    CSV_NAMES,
    MuraCsvs,
    folder_facts,
    read_mura_csvs,
)
from mura_desktop.core.study import FAILED, IGNORED, WARNING, Scan, ScanProblem, Study, View

RASTER_EXTENSIONS: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})
DICOM_EXTENSIONS: frozenset[str] = frozenset({".dcm", ".dicom"})

# Extensions that are never images, so need no sniffing to be reported as junk.
_NOT_IMAGE_EXTENSIONS = frozenset(
    {".txt", ".csv", ".json", ".md", ".pdf", ".html", ".xml", ".ini", ".db", ".zip", ".log"}
    | {".py", ".doc", ".docx", ".xls", ".xlsx", ".pt", ".pth", ".pkl", ".npy", ".npz"}
)
_SYSTEM_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
_DIGITS = re.compile(r"(\d+)")

_FolderChain = tuple[tuple[int, int], "_FolderChain | None"]


@functools.lru_cache(maxsize=1 << 16)  # names repeat across folders: image1.png, study1_...
def natural_sort_key(text: str) -> tuple[tuple[str | int, ...], str]:
    """Sort key that orders digit runs by value: ``image2`` before ``image10``."""
    parts: list[str | int] = [*_DIGITS.split(text.casefold())]
    parts[1::2] = [int(p) for p in parts[1::2]]
    return tuple(parts), text


def discover(paths: Iterable[str | os.PathLike[str]]) -> Scan:
    """Find the studies under ``paths``, in the order given, without decoding pixels.

    Each path may be a study, patient, body-part or dataset folder (MURA layout, with or
    without the official CSVs), any folder of images, a loose image file, a DICOM file or
    folder, or a DICOMDIR. Folder studies get ``uid`` = resolved folder path and views in
    natural order; loose files join their folder's study in the order given; DICOM
    instances are grouped by StudyInstanceUID (``uid`` = ``dicom:<UID>``) and ordered by
    SeriesNumber, InstanceNumber, path. A file reached twice (overlapping paths, links)
    counts once. Unusable paths are listed in ``Scan.problems`` with the reason.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    run = _Discovery()
    for path in paths:
        run.add(os.path.abspath(os.fspath(path)))
    return run.finish()


@dataclass
class _Pending:
    study: Study
    # DICOM studies only: (sort key, header, view), ordered when discovery finishes.
    instances: list[tuple[tuple[object, ...], DicomHeader, View]] | None = None


class _Discovery:
    def __init__(self) -> None:
        self.pending: dict[str, _Pending] = {}
        self.problems: list[ScanProblem] = []
        self.files_seen: set[tuple[int, int]] = set()
        self.dirs_seen: set[tuple[int, int]] = set()
        self.csvs: dict[str, MuraCsvs | None] = {}
        self.dicomdirs: dict[str, bool] = {}
        self.walked: set[str] = set()  # folders whose files were all looked at
        self.roots: list[str] = []  # resolved folders the user opened

    def add(self, path: str) -> None:
        try:
            st = os.stat(path)
        except OSError as exc:
            self._problem(path, os_error_reason(exc, path))
            return
        if stat.S_ISDIR(st.st_mode):
            self._walk(path, st)
            return
        if not stat.S_ISREG(st.st_mode):
            self._problem(path, "not a regular file or folder")
            return
        folder, name = os.path.split(path)
        folder = os.path.realpath(folder)
        if name in CSV_NAMES:
            self._add_csv_target(folder, name)
        elif name.upper() == "DICOMDIR":
            if not self._take_dicomdir(os.path.join(folder, name)):
                self.add(folder)
        else:
            view = self._take_file(os.path.join(folder, name), st)
            if view is not None:
                self._folder_study(folder).study.views.append(view)

    def _add_csv_target(self, folder: str, name: str) -> None:
        # A dropped MURA CSV stands for the split it describes (or the dataset, failing that).
        split = os.path.join(folder, name.split("_", 1)[0])
        self.add(split if os.path.isdir(split) else folder)

    def _walk(self, top: str, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if key in self.dirs_seen:
            return
        self.dirs_seen.add(key)
        self.roots.append(os.path.realpath(top))
        stack: list[tuple[str, _FolderChain]] = [(os.path.realpath(top), (key, None))]
        while stack:
            folder, chain = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: natural_sort_key(e.name))
            except OSError as exc:
                self._problem(folder, f"cannot read folder: {os_error_reason(exc)}")
                continue
            dicomdir = next(
                (e for e in entries if e.name.upper() == "DICOMDIR" and not _is_dir(e)), None
            )
            if dicomdir is not None:
                # Its instances first; the walk below then adds what it does not list.
                self._take_dicomdir(dicomdir.path)
            views: list[View] = []
            subfolders: list[tuple[str, _FolderChain]] = []
            for entry in entries:
                if _is_dir(entry):
                    sub = self._subfolder(entry, chain)
                    if sub is not None:
                        subfolders.append(sub)
                    continue
                if entry.name in CSV_NAMES or entry is dicomdir:
                    continue
                view = self._take_file(entry.path, entry)
                if view is not None:
                    views.append(view)
            self.walked.add(folder)
            if views:
                self._folder_study(folder).study.views.extend(views)
            stack.extend(reversed(subfolders))

    def _subfolder(
        self, entry: os.DirEntry[str], chain: _FolderChain
    ) -> tuple[str, _FolderChain] | None:
        if entry.name.startswith(".") or entry.name == "__MACOSX":
            self._problem(entry.path, "hidden or system folder, not scanned", IGNORED)
            return None
        try:
            st = entry.stat()
        except OSError as exc:
            self._problem(entry.path, os_error_reason(exc, entry.path))
            return None
        key = (st.st_dev, st.st_ino)
        if key in self.dirs_seen:
            if _in_chain(key, chain):
                self._problem(entry.path, "symbolic link loop: leads back to a folder above it")
            return None
        real = entry.path
        if entry.is_symlink():
            real = os.path.realpath(entry.path)
            if not any(_is_within(real, root) for root in self.roots):
                self._problem(
                    entry.path,
                    f"symbolic link to {real}, outside the folders opened: not followed "
                    "(open that folder itself to include it)",
                    WARNING,
                )
                return None
        self.dirs_seen.add(key)
        return real, (key, chain)

    def _take_file(
        self, path: str, entry_or_stat: os.DirEntry[str] | os.stat_result
    ) -> View | None:
        """Classify one file. Returns a view for its folder's study, or ``None`` if the file
        was a duplicate, a problem, or a DICOM instance filed under its own study."""
        if isinstance(entry_or_stat, os.stat_result):
            st = entry_or_stat
        else:
            try:
                st = entry_or_stat.stat()
            except OSError as exc:
                self._problem(path, os_error_reason(exc, path))
                return None
        lower = os.path.basename(path).lower()
        ext = os.path.splitext(lower)[1]
        looks_like_image = ext in RASTER_EXTENSIONS or ext in DICOM_EXTENSIONS
        if not stat.S_ISREG(st.st_mode):
            self._problem(path, "not a regular file", FAILED if looks_like_image else IGNORED)
            return None
        key = (st.st_dev, st.st_ino)
        if key in self.files_seen:
            return None
        self.files_seen.add(key)
        if lower.startswith("._") or lower in _SYSTEM_FILES:
            self._problem(path, "not an image: operating-system metadata file", IGNORED)
            return None
        if st.st_size == 0:
            self._problem(path, "empty file (0 bytes)", FAILED if looks_like_image else IGNORED)
            return None
        if ext in RASTER_EXTENSIONS:
            return View(Path(path))
        if ext in _NOT_IMAGE_EXTENSIONS:
            self._problem(path, "not an image or DICOM file", IGNORED)
            return None
        kind = "dicom" if ext in DICOM_EXTENSIONS else self._sniff(path)
        if kind == "dicom":
            return self._take_dicom(path)
        if kind == "image":
            return View(Path(path))
        if kind is None:
            self._problem(path, "not an image or DICOM file", IGNORED)
        return None

    def _sniff(self, path: str) -> str | None:
        """``'dicom'``, ``'image'``, ``None`` for neither, or ``''`` if unreadable (reported)."""
        try:
            return sniff_format(path)
        except OSError as exc:
            self._problem(path, f"cannot read file: {os_error_reason(exc)}")
            return ""

    def _take_dicom(self, path: str) -> View | None:
        try:
            header = read_dicom_header(path)
        except ImageLoadError as exc:
            self._problem(path, exc.reason)
            return None
        except OSError as exc:
            self._problem(path, f"cannot read file: {os_error_reason(exc)}")
            return None
        if not header.has_image:
            self._problem(path, "DICOM without an image (no Rows): not a radiograph view", IGNORED)
            return None
        view = View(Path(path), is_dicom=True)
        if header.study_uid is None:
            return view
        uid = f"dicom:{header.study_uid}"
        pending = self.pending.get(uid)
        if pending is None:
            pending = self.pending[uid] = _Pending(Study(uid=uid, name=uid), instances=[])
        assert pending.instances is not None
        order = (
            header.series_number is None,
            header.series_number or 0,
            header.instance_number is None,
            header.instance_number or 0,
            natural_sort_key(path),
        )
        pending.instances.append((order, header, view))
        return None

    def _take_dicomdir(self, path: str) -> bool:
        """File the instances a DICOMDIR lists; ``False`` (reported once) if it is unusable."""
        if path in self.dicomdirs:
            return self.dicomdirs[path]
        self.dicomdirs[path] = False
        try:
            instances = dicomdir_instances(path)
        except DicomdirError as exc:
            self._problem(path, f"{exc.reason}; scanned its folder instead")
            return False
        real_folders: dict[str, str] = {}
        for instance in instances:
            try:
                st = os.stat(instance)
            except OSError as exc:
                reason = os_error_reason(exc, instance)
                self._problem(instance, f"listed in DICOMDIR but {reason}")
                continue
            folder, name = os.path.split(instance)
            if folder not in real_folders:
                real_folders[folder] = os.path.realpath(folder)
            real = real_folders[folder]
            view = self._take_file(os.path.join(real, name), st)
            if view is not None:
                self._folder_study(real).study.views.append(view)
        self.dicomdirs[path] = True
        return True

    def _folder_study(self, folder: str) -> _Pending:
        pending = self.pending.get(folder)
        if pending is not None:
            return pending
        facts = folder_facts(folder)
        label = facts.label
        csvs = self._csvs_for(facts.dataset_root)
        if csvs is not None and facts.key in csvs.labels:
            csv_label, csv_name = csvs.labels[facts.key]
            if label is not None and label != csv_label:
                self._problem(
                    folder,
                    f"{csv_name} labels this study {csv_label.word} but its folder name "
                    f"says {label.word}; using {csv_name}",
                    WARNING,
                )
            label = csv_label
        study = Study(
            uid=folder,
            name=facts.name,
            body_part=facts.body_part,
            label=label,
            patient_id=facts.patient_id,
            split=facts.split,
            folder=Path(folder),
        )
        pending = self.pending[folder] = _Pending(study)
        return pending

    def _check_csv_listings(self) -> None:
        """Report images the image-path CSVs list in walked folders but the disk lacks."""
        for csvs in self.csvs.values():
            for key, listed in [] if csvs is None else csvs.images.items():
                folder = os.path.join(csvs.root, *key)
                if folder not in self.walked:
                    continue
                pending = self.pending.get(folder)
                have = {v.path.name for v in pending.study.views} if pending else set()
                for name in listed:
                    path = os.path.join(folder, name)
                    if name not in have and not os.path.lexists(path):
                        self._problem(path, "listed in the MURA image-path CSV but missing")

    def _csvs_for(self, root: str | None) -> MuraCsvs | None:
        if root is None:
            return None
        if root not in self.csvs:
            found = self.csvs[root] = read_mura_csvs(root)
            if found is not None:
                self.problems.extend(found.problems)
        return self.csvs[root]

    def _problem(self, path: str | os.PathLike[str], reason: str, kind: str = FAILED) -> None:
        self.problems.append(ScanProblem(Path(path), reason, kind))

    def finish(self) -> Scan:
        self._check_csv_listings()
        for pending in self.pending.values():
            if pending.instances is not None:
                _finish_dicom_study(pending.study, pending.instances)
        return Scan(studies=[p.study for p in self.pending.values()], problems=self.problems)


def _finish_dicom_study(
    study: Study, instances: list[tuple[tuple[object, ...], DicomHeader, View]]
) -> None:
    instances.sort(key=lambda item: item[0])
    headers = [header for _, header, _ in instances]
    study.views = [view for _, _, view in instances]
    study.body_part = next((h.body_part for h in headers if h.body_part), None)
    study.patient_id = next((h.patient_id for h in headers if h.patient_id), None)
    description = next((h.study_description for h in headers if h.study_description), "")
    date = next((h.study_date for h in headers if h.study_date), "")
    if len(date) == 8 and date.isdigit():
        date = f"{date[:4]}-{date[4:6]}-{date[6:]}"
    what = " ".join(t for t in (description, date) if t) or study.uid.removeprefix("dicom:")
    study.name = f"{study.patient_id or 'unknown patient'}/{what}"
    try:
        study.folder = Path(os.path.commonpath([os.path.dirname(v.path) for v in study.views]))
    except ValueError:
        study.folder = None


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _in_chain(key: tuple[int, int], chain: _FolderChain | None) -> bool:
    while chain is not None:
        if chain[0] == key:
            return True
        chain = chain[1]
    return False
