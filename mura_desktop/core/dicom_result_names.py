"""The names of the files ``dicom_results`` writes into a study's folder, apart from the
writer so that recognising such a folder does not load highdicom (0.3 s at start-up)."""

from __future__ import annotations

import re
from pathlib import Path

SR_NAME = "mura_sr.dcm"
_SC_NAME = re.compile(r"mura_heatmap_\d+\.dcm")


def sc_name(number: int) -> str:
    """The Secondary Capture of a study's ``number``-th view."""
    return f"mura_heatmap_{number}.dcm"


def is_dicom_result_file(path: Path) -> bool:
    """Whether ``path`` is named as a file ``write_dicom_results`` writes."""
    return path.name == SR_NAME or _SC_NAME.fullmatch(path.name) is not None
