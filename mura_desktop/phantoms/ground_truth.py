"""A phantom dataset's ground truth: ``ground_truth.csv`` and the masks archive beside it.

The masks are PNGs, but they live inside one uncompressed zip (``masks.zip``) rather than
as a folder tree beside the images: a tree of PNGs laid out like studies is a dataset to
every scanner (ours, a glob, another MURA loader), and would be scored as one. The
archive's member names are the image paths relative to ``MURA-v1.1/``.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

GROUND_TRUTH_CSV = "ground_truth.csv"
MASKS_ARCHIVE = "masks.zip"
GROUND_TRUTH_COLUMNS = (
    "image",
    "body_part",
    "study_label",
    "view_abnormal",
    "kinds",
    "mask",
    "patient",
    "split",
)
# Fixed member timestamps keep the archive byte-identical for a given seed.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class GroundTruthRow:
    """One line of ``ground_truth.csv``; ``mask`` is the member name in ``masks.zip``."""

    image: str
    body_part: str
    study_label: int
    view_abnormal: int
    kinds: str
    mask: str
    patient: str
    split: str


def mask_png(mask: np.ndarray) -> bytes:
    """A boolean mask as the 8-bit PNG stored in the archive (255 marks the region)."""
    buffer = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(
        buffer, format="PNG", compress_level=6
    )
    return buffer.getvalue()


def write_ground_truth(
    out: Path, rows: Iterable[GroundTruthRow], masks: Iterable[tuple[str, bytes]]
) -> None:
    """Write ``ground_truth.csv`` and ``masks.zip`` (``masks``: member name, PNG bytes)."""
    with (out / GROUND_TRUTH_CSV).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(GROUND_TRUTH_COLUMNS)
        for r in rows:
            writer.writerow([getattr(r, column) for column in GROUND_TRUTH_COLUMNS])
    with zipfile.ZipFile(out / MASKS_ARCHIVE, "w", zipfile.ZIP_STORED) as archive:
        for name, png in masks:
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_DATE), png)


class GroundTruth:
    """Read a phantom dataset's ground truth: ``rows`` and each view's ``mask``.

    Use as a context manager (or call ``close``): the masks archive stays open.
    """

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = Path(out)
        with (self.out / GROUND_TRUTH_CSV).open(encoding="utf-8", newline="") as fh:
            self.rows: list[dict[str, str]] = list(csv.DictReader(fh))
        self._archive = zipfile.ZipFile(self.out / MASKS_ARCHIVE)

    def mask(self, row: dict[str, str]) -> np.ndarray:
        """The view's abnormality region as a boolean array of the image's size."""
        with self._archive.open(row["mask"]) as fh, Image.open(fh) as image:
            return np.asarray(image.convert("L")) > 0

    def close(self) -> None:
        self._archive.close()

    def __enter__(self) -> GroundTruth:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
