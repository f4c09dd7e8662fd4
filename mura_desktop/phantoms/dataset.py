"""A whole synthetic dataset in MURA's layout, with per-view ground truth beside it.

``OUT/MURA-v1.1/{train,valid}/XR_<PART>/patientNNNNN/studyN_{positive,negative}/imageN.png``
plus MURA's four CSVs; ``OUT/masks.zip`` holds each view's abnormality region (see
``ground_truth``); ``OUT/ground_truth.csv`` one row per view; ``OUT/README.txt`` what
made it. Everything is a function of the seed and the options: the plan (parts,
patients, splits, labels, view counts) comes from one generator, each study's pixels
from its own ``SeedSequence(seed, spawn_key=(1, index))``, so the worker count changes
nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from mura_desktop.core.study import BODY_PARTS
from mura_desktop.phantoms import dicom_out
from mura_desktop.phantoms.anatomy import sample_anatomy, sample_view
from mura_desktop.phantoms.ground_truth import (
    GROUND_TRUTH_COLUMNS,
    GROUND_TRUTH_CSV,
    MASKS_ARCHIVE,
    GroundTruthRow,
    mask_png,
    write_ground_truth,
)
from mura_desktop.phantoms.lesions import KINDS, MASK_MIN_RADIUS, sample_lesion
from mura_desktop.phantoms.render import PhantomView, draw_view

ROOT_NAME = "MURA-v1.1"
SPLITS = ("train", "valid")
README_SIGNATURE = "MURA Desktop synthetic phantom dataset"
# "masks" is the folder tree earlier versions wrote; a rerun clears it too.
_OWNED = (ROOT_NAME, MASKS_ARCHIVE, "masks", "dicom", GROUND_TRUTH_CSV, "README.txt")
_VIEW_COUNTS = (1, 2, 3, 4)
_VIEW_COUNT_P = (0.1, 0.42, 0.36, 0.12)
_KIND_P = (0.45, 0.25, 0.3)
_SECOND_LESION_P = 0.15
_SHOW_P = 0.9


class OutputNotEmptyError(Exception):
    """The output folder holds files that are not a previous phantom dataset."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class StudyPlan:
    """One study to generate: where it goes and what it is."""

    index: int
    split: str
    part: str
    patient: str
    number: int
    abnormal: bool
    n_views: int

    @property
    def folder(self) -> str:
        """Path relative to ``MURA-v1.1``, e.g. ``train/XR_WRIST/patient00001/study1_positive``."""
        label = "positive" if self.abnormal else "negative"
        return f"{self.split}/XR_{self.part}/{self.patient}/study{self.number}_{label}"


@dataclass
class DatasetSummary:
    """What ``generate_dataset`` wrote and how long it took."""

    root: Path
    n_studies: int
    n_views: int
    n_abnormal_studies: int
    n_abnormal_views: int
    studies_per_split: dict[str, int] = field(default_factory=dict)
    views_per_split: dict[str, int] = field(default_factory=dict)
    studies_per_part: dict[str, int] = field(default_factory=dict)
    views_per_part: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return self.n_views / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        splits = ", ".join(f"{s} {self.studies_per_split.get(s, 0)}" for s in SPLITS)
        return (
            f"{self.n_studies} studies ({self.n_abnormal_studies} abnormal; {splits}), "
            f"{self.n_views} images ({self.n_abnormal_views} abnormal) in {self.root} "
            f"in {self.seconds:.1f} s ({self.images_per_second:.0f} images/s)"
        )


def plan_studies(
    n_studies: int,
    *,
    seed: int = 0,
    parts: Sequence[str] = BODY_PARTS,
    abnormal_fraction: float = 0.45,
    valid_fraction: float = 0.2,
) -> list[StudyPlan]:
    """Decide every study's part, patient, split, label and view count.

    Studies are shared out evenly over ``parts``; patients have one or two studies of
    one part; the split is drawn by patient within each part, and the abnormal studies
    are shared out over splits and parts in proportion to their sizes.
    """
    parts = _check_options(n_studies, parts, abnormal_fraction, valid_fraction)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    per_part = np.full(len(parts), n_studies // len(parts))
    per_part[rng.choice(len(parts), n_studies % len(parts), replace=False)] += 1

    # patients[split][part] -> list of study counts, one entry per patient
    patients: dict[str, dict[str, list[int]]] = {s: {p: [] for p in parts} for s in SPLITS}
    for part, count in zip(parts, per_part, strict=True):
        sizes: list[int] = []
        left = int(count)
        while left > 0:
            size = 2 if left >= 2 and rng.random() < 0.3 else 1
            sizes.append(size)
            left -= size
        n_valid = round(valid_fraction * len(sizes))
        if valid_fraction > 0 and len(sizes) >= 2:
            n_valid = min(max(n_valid, 1), len(sizes) - 1)
        valid = set(rng.choice(len(sizes), n_valid, replace=False).tolist())
        for i, size in enumerate(sizes):
            patients["valid" if i in valid else "train"][part].append(size)

    groups = [(split, part) for split in SPLITS for part in parts]
    quotas = _share(
        round(abnormal_fraction * n_studies),
        [sum(patients[s][p]) for s, p in groups],
        rng,
    )
    plans: list[StudyPlan] = []
    patient_no = 0
    for (split, part), n_abnormal in zip(groups, quotas, strict=True):
        sizes = patients[split][part]
        m = sum(sizes)
        abnormal = np.zeros(m, bool)
        abnormal[rng.choice(m, n_abnormal, replace=False)] = True
        views = rng.choice(_VIEW_COUNTS, size=m, p=_VIEW_COUNT_P)
        k = 0
        for size in sizes:
            patient_no += 1
            for number in range(1, size + 1):
                plans.append(
                    StudyPlan(
                        index=len(plans),
                        split=split,
                        part=part,
                        patient=f"patient{patient_no:05d}",
                        number=number,
                        abnormal=bool(abnormal[k]),
                        n_views=int(views[k]),
                    )
                )
                k += 1
    return plans


def _share(total: int, sizes: list[int], rng: np.random.Generator) -> list[int]:
    """Split ``total`` over groups in proportion to ``sizes`` (largest remainders, random ties)."""
    n = sum(sizes)
    exact = np.array([total * m / n for m in sizes]) if n else np.zeros(len(sizes))
    out = np.floor(exact).astype(int)
    order = sorted(range(len(sizes)), key=lambda i: (-(exact[i] - out[i]), rng.random()))
    for i in order[: total - int(out.sum())]:
        out[i] += 1
    return [int(min(q, m)) for q, m in zip(out, sizes, strict=True)]


def make_study(plan: StudyPlan, seed: int, size: int) -> list[PhantomView]:
    """Draw every view of ``plan``'s study from its own seed.

    An abnormal study has one lesion (sometimes two); hardware shows on every view, a
    fracture or lucency on each view with probability 0.9, and at least one view is
    made to show all of them.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, plan.index)))
    anat = sample_anatomy(plan.part, rng)
    lesions = []
    if plan.abnormal:
        n = 2 if rng.random() < _SECOND_LESION_P else 1
        kinds = rng.choice(KINDS, size=n, replace=False, p=_KIND_P)
        lesions = [sample_lesion(str(k), anat, rng) for k in kinds]
    shows = [
        [les for les in lesions if les.kind == "hardware" or rng.random() < _SHOW_P]
        for _ in range(plan.n_views)
    ]
    must = -1
    if lesions:
        must = next((i for i, s in enumerate(shows) if s), int(rng.integers(plan.n_views)))
        shows[must] = list(lesions)
    return [
        draw_view(anat, sample_view(plan.part, rng), shows[v], rng, size=size, require=v == must)
        for v in range(plan.n_views)
    ]


def generate_dataset(
    out_dir: str | os.PathLike[str],
    n_studies: int,
    *,
    seed: int = 0,
    size: int = 384,
    parts: Sequence[str] = BODY_PARTS,
    abnormal_fraction: float = 0.45,
    valid_fraction: float = 0.2,
    dicom: bool = False,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    force: bool = False,
) -> DatasetSummary:
    """Write a synthetic MURA-style dataset of ``n_studies`` studies under ``out_dir``.

    Refuses (``OutputNotEmptyError``) to write into a non-empty folder that is not a
    previous phantom dataset unless ``force``; a previous phantom dataset there is
    replaced. ``progress(done, total)`` is called after each study.
    """
    started = time.perf_counter()
    if size < 32:
        raise ValueError(f"size must be at least 32 pixels, got {size}")
    plans = plan_studies(
        n_studies,
        seed=seed,
        parts=parts,
        abnormal_fraction=abnormal_fraction,
        valid_fraction=valid_fraction,
    )
    out = Path(out_dir)
    prepare_output(out, force=force)
    jobs = [(plan, seed, size, str(out), dicom) for plan in plans]
    rows: list[GroundTruthRow] = []
    masks: list[tuple[str, bytes]] = []

    def collect(outputs: Iterable[_StudyOutput]) -> None:
        for done, (study_rows, study_masks) in enumerate(outputs, start=1):
            rows.extend(study_rows)
            masks.extend(study_masks)
            if progress:
                progress(done, len(jobs))

    workers = max(1, min(workers, len(jobs)))
    if workers == 1:
        collect(map(_write_study, jobs))
    else:
        chunk = max(1, min(16, len(jobs) // (workers * 8)))
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            collect(pool.imap(_write_study, jobs, chunk))
    _write_csvs(out, plans, rows)
    write_ground_truth(out, rows, masks)
    summary = _summarise(out / ROOT_NAME, plans, rows, time.perf_counter() - started)
    _write_readme(out, summary, seed, size, parts, abnormal_fraction, valid_fraction, dicom)
    return summary


def is_phantom_dataset(path: Path) -> bool:
    """True when ``path`` holds a README written by ``generate_dataset``."""
    readme = path / "README.txt"
    try:
        with readme.open(encoding="utf-8") as fh:
            return fh.readline().strip() == README_SIGNATURE
    except OSError:
        return False


def prepare_output(out: Path, *, force: bool = False) -> None:
    """Make ``out`` ready: create it, or clear a previous phantom dataset's files from it.

    A non-empty folder of anything else is refused unless ``force`` (then nothing in it
    is deleted; same-named files are overwritten).
    """
    if out.exists() and not out.is_dir():
        raise OutputNotEmptyError(out, "exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if is_phantom_dataset(out):
            for name in _OWNED:
                target = out / name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
        elif not force:
            raise OutputNotEmptyError(
                out,
                "folder is not empty and holds no phantom dataset (use --force to write into it)",
            )
    out.mkdir(parents=True, exist_ok=True)


def _check_options(
    n_studies: int, parts: Sequence[str], abnormal_fraction: float, valid_fraction: float
) -> list[str]:
    if n_studies < 1:
        raise ValueError(f"need at least one study, got {n_studies}")
    unknown = [p for p in parts if p not in BODY_PARTS]
    if unknown or not parts:
        raise ValueError(
            f"unknown body part(s) {unknown}; expected some of {', '.join(BODY_PARTS)}"
        )
    if not 0.0 <= abnormal_fraction <= 1.0:
        raise ValueError(f"abnormal_fraction must be in [0, 1], got {abnormal_fraction}")
    if not 0.0 <= valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
    return [p for p in BODY_PARTS if p in set(parts)]


_StudyOutput = tuple[list[GroundTruthRow], list[tuple[str, bytes]]]


def _write_study(job: tuple[StudyPlan, int, int, str, bool]) -> _StudyOutput:
    """Write one study's images; return its ground-truth rows and mask PNGs for the archive."""
    plan, seed, size, out_dir, dicom = job
    out = Path(out_dir)
    views = make_study(plan, seed, size)
    image_dir = out / ROOT_NAME / plan.folder
    image_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    masks = []
    for n, view in enumerate(views, start=1):
        name = f"image{n}.png"
        Image.fromarray(view.image, mode="L").save(image_dir / name, format="PNG", compress_level=1)
        member = f"{plan.folder}/{name}"
        masks.append((member, mask_png(view.mask)))
        rows.append(
            GroundTruthRow(
                image=f"{ROOT_NAME}/{plan.folder}/{name}",
                body_part=plan.part,
                study_label=int(plan.abnormal),
                view_abnormal=int(bool(view.kinds)),
                kinds="+".join(view.kinds),
                mask=member,
                patient=plan.patient,
                split=plan.split,
            )
        )
    if dicom:
        dicom_out.write_study(
            out / "dicom" / plan.patient / plan.folder.rsplit("/", 1)[1],
            [v.image for v in views],
            seed=seed,
            index=plan.index,
            part=plan.part,
            patient=plan.patient,
            study=plan.folder.rsplit("/", 1)[1],
            abnormal=plan.abnormal,
            rng=np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, plan.index))),
        )
    return rows, masks


def _write_csvs(out: Path, plans: list[StudyPlan], rows: list[GroundTruthRow]) -> None:
    root = out / ROOT_NAME
    root.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        with (root / f"{split}_image_paths.csv").open("w", encoding="utf-8", newline="") as fh:
            fh.writelines(f"{r.image}\n" for r in rows if r.split == split)
        with (root / f"{split}_labeled_studies.csv").open("w", encoding="utf-8", newline="") as fh:
            fh.writelines(
                f"{ROOT_NAME}/{p.folder}/,{int(p.abnormal)}\n" for p in plans if p.split == split
            )


def _summarise(
    root: Path, plans: list[StudyPlan], rows: list[GroundTruthRow], seconds: float
) -> DatasetSummary:
    s = DatasetSummary(
        root=root,
        n_studies=len(plans),
        n_views=len(rows),
        n_abnormal_studies=sum(p.abnormal for p in plans),
        n_abnormal_views=sum(r.view_abnormal for r in rows),
        seconds=seconds,
    )
    for p in plans:
        s.studies_per_split[p.split] = s.studies_per_split.get(p.split, 0) + 1
        s.studies_per_part[p.part] = s.studies_per_part.get(p.part, 0) + 1
    for r in rows:
        s.views_per_split[r.split] = s.views_per_split.get(r.split, 0) + 1
        s.views_per_part[r.body_part] = s.views_per_part.get(r.body_part, 0) + 1
    return s


def _write_readme(
    out: Path,
    summary: DatasetSummary,
    seed: int,
    size: int,
    parts: Sequence[str],
    abnormal_fraction: float,
    valid_fraction: float,
    dicom: bool,
) -> None:
    parts_opt = ",".join(p for p in BODY_PARTS if p in set(parts))
    command = (
        f"python -m mura_desktop.phantoms.cli OUT --studies {summary.n_studies} --seed {seed} "
        f"--size {size} --parts {parts_opt} --abnormal-fraction {abnormal_fraction} "
        f"--valid-fraction {valid_fraction}{' --dicom' if dicom else ''}"
    )
    per_part = ", ".join(f"{p} {n}" for p, n in summary.studies_per_part.items())
    layout = "{train,valid}/XR_<PART>/patientNNNNN/studyN_{positive,negative}/imageN.png"
    lines = [
        README_SIGNATURE,
        "",
        "Synthetic radiographs drawn by mura_desktop.phantoms, NOT patient data. They stand in",
        "for the Stanford MURA dataset (which cannot be shipped) in tests, benchmarks and demos.",
        "",
        f"Seed: {seed}",
        f"Command: {command}",
        "The same seed and options give byte-identical images and CSVs, whatever the worker count.",
        "",
        "Contents",
        f"  {ROOT_NAME}/  MURA's layout: {layout}",
        "      and {train,valid}_image_paths.csv, {train,valid}_labeled_studies.csv",
        f"  {MASKS_ARCHIVE}  one 8-bit PNG per image, named by its path under {ROOT_NAME}/: 255",
        "      marks the abnormality's region (its footprint plus a margin, at least a disc of",
        f"      radius {MASK_MIN_RADIUS:.0%} of the image's long side); all zero where the view "
        "shows no",
        "      abnormality. An archive, not a folder, so that no scanner takes the masks for",
        "      radiograph studies.",
        f"  {GROUND_TRUTH_CSV}  one row per image: {', '.join(GROUND_TRUTH_COLUMNS)};",
        f"      'mask' is the member name in {MASKS_ARCHIVE}.",
    ]
    if dicom:
        lines.append(
            "  dicom/  the same images as DICOM (CR, 12 bits): dicom/<patient>/<study>/imageN.dcm"
        )
    lines += [
        "",
        f"Studies: {summary.n_studies} ({summary.n_abnormal_studies} abnormal), images: "
        f"{summary.n_views} ({summary.n_abnormal_views} showing an abnormality).",
        f"Studies per part: {per_part}.",
        "Splits are by patient. An abnormal study shows a fracture, a lytic lesion or metal",
        "hardware on at least one of its views; its other views may look normal.",
        "",
    ]
    text = "\n".join(lines)
    (out / "README.txt").write_text(text, encoding="utf-8")
