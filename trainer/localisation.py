"""Localisation of a bundle's heatmaps on a dataset that has per-view masks (phantoms).

``LocalisationCheck`` takes the predictions of the ``Predictor`` (the viewer's heatmaps, at
each image's native resolution) and measures, on every abnormal view with a non-empty mask,
the metrics of ``mura_desktop.core.localisation``. Beside the model's map it measures the
*resolution oracle*: the mask itself averaged over the network's feature grid and drawn
the way the viewer draws a map (bilinear upsampling, per-image min-max). Its figures are
the best any map of that grid can reach, so ``oracle - model`` is what the model loses
and ``1 - oracle`` what the grid loses.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F

from mura_desktop.core.localisation import (
    LocalisationSummary,
    ViewLocalisation,
    localise,
    summarise,
)
from mura_desktop.inference.cam import display_heatmap
from mura_desktop.inference.predictor import StudyPrediction
from mura_desktop.phantoms.ground_truth import GROUND_TRUTH_CSV, MASKS_ARCHIVE, GroundTruth

MODEL_MAP = "model"


def ground_truth_folder(dataset: str | os.PathLike[str]) -> Path | None:
    """The folder holding ``ground_truth.csv`` and ``masks.zip`` for ``dataset`` (the
    phantoms' ``OUT`` or its ``MURA-v1.1``), or None when it has no masks."""
    path = Path(dataset).resolve()
    for folder in (path, path.parent):
        if (folder / GROUND_TRUTH_CSV).is_file() and (folder / MASKS_ARCHIVE).is_file():
            return folder
    return None


def oracle_map(mask: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """The mask's share of each cell of a ``grid`` (h, w) feature map: a raw map (h, w)."""
    return F.adaptive_avg_pool2d(mask.float()[None, None], grid)[0, 0]


class LocalisationCheck:
    """Collects the localisation of abnormal, masked views over many predictions.

    ``grid`` is the feature map's (h, w) for the oracle. Use as a context manager: the
    masks archive stays open.
    """

    def __init__(self, folder: Path, grid: tuple[int, int]) -> None:
        self.grid = grid
        self.oracle_name = f"oracle {grid[0]}x{grid[1]} grid"
        self._truth = GroundTruth(folder)
        self._rows = {
            (folder / row["image"]).resolve(): row
            for row in self._truth.rows
            if row["view_abnormal"] == "1" and row["mask"]
        }
        self._views: dict[str, list[tuple[str, ViewLocalisation]]] = {
            MODEL_MAP: [],
            self.oracle_name: [],
        }

    def add(self, prediction: StudyPrediction) -> None:
        for path, heatmap in prediction.heatmaps.items():
            row = self._rows.get(Path(path).resolve())
            if row is None:
                continue
            mask = self._truth.mask(row)
            if not mask.any():
                continue
            oracle = display_heatmap(oracle_map(torch.from_numpy(mask), self.grid), mask.shape)
            self._views[MODEL_MAP].append((row["kinds"], localise(heatmap, mask)))
            self._views[self.oracle_name].append((row["kinds"], localise(oracle, mask)))

    def summaries(self) -> dict[str, dict[str, LocalisationSummary]]:
        """Per map (model, oracle): the summary per kinds group and overall."""
        return {name: summarise(views) for name, views in self._views.items()}

    def close(self) -> None:
        self._truth.close()

    def __enter__(self) -> LocalisationCheck:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
