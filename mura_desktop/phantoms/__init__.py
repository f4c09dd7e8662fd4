"""Synthetic radiographs with ground truth, laid out like MURA (numpy + Pillow + pydicom only).

``render_view`` draws one view; ``generate_dataset`` writes a whole MURA-style tree with
per-view abnormality masks, ``ground_truth.csv`` and, optionally, DICOM copies.
"""

from mura_desktop.core.study import BODY_PARTS
from mura_desktop.phantoms.dataset import (
    DatasetSummary,
    OutputNotEmptyError,
    generate_dataset,
    is_phantom_dataset,
)
from mura_desktop.phantoms.lesions import KINDS
from mura_desktop.phantoms.render import PhantomView, render_view

__all__ = [
    "BODY_PARTS",
    "KINDS",
    "DatasetSummary",
    "OutputNotEmptyError",
    "PhantomView",
    "generate_dataset",
    "is_phantom_dataset",
    "render_view",
]
