"""Localisation of a bundle's heatmaps on a dataset that has per-view masks (phantoms).

``LocalisationCheck`` takes the predictions of the ``Predictor`` (the viewer's heatmaps, at
each image's native resolution) and measures, on every abnormal view with a non-empty mask,
the metrics of ``mura_desktop.core.localisation``, for the model's exact CAM and any
alternative maps asked for (``inference.alternative_maps``). Beside them it measures the
*resolution oracle*: the mask itself averaged over the network's feature grid and drawn
the way the viewer draws a map (bilinear upsampling, per-image min-max). Its figures are
the best any map of that grid can reach, so ``oracle - model`` is what the model loses
and ``1 - oracle`` what the grid loses.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mura_desktop.core.localisation import (
    LocalisationSummary,
    ViewLocalisation,
    localise,
    summarise,
)
from mura_desktop.inference.alternative_maps import ALTERNATIVE_MAPS, alternative_heatmaps
from mura_desktop.inference.bundle import ModelBundle
from mura_desktop.inference.cam import display_heatmap
from mura_desktop.inference.predictor import StudyPrediction
from mura_desktop.phantoms.ground_truth import GROUND_TRUTH_CSV, MASKS_ARCHIVE, GroundTruth

MODEL_MAP = "CAM (exact)"


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

    The oracle uses ``bundle``'s feature grid; ``alternatives`` (keys of
    ``ALTERNATIVE_MAPS``) are computed for the measured views too, from the bundle. Use
    as a context manager: the masks archive stays open.
    """

    def __init__(self, folder: Path, bundle: ModelBundle, alternatives: Sequence[str] = ()) -> None:
        unknown = [m for m in alternatives if m not in ALTERNATIVE_MAPS]
        if unknown:
            known = ", ".join(ALTERNATIVE_MAPS)
            raise ValueError(f"unknown alternative map(s) {', '.join(unknown)}; known: {known}")
        self.bundle = bundle
        self.alternatives = tuple(alternatives)
        self.grid = bundle.feature_grid
        self.oracle_name = f"oracle {self.grid[0]}x{self.grid[1]} grid"
        self._truth = GroundTruth(folder)
        self._rows = {
            (folder / row["image"]).resolve(): row
            for row in self._truth.rows
            if row["view_abnormal"] == "1" and row["mask"]
        }
        self._views: dict[str, list[tuple[str, ViewLocalisation]]] = {}

    def add(self, prediction: StudyPrediction) -> None:
        """The model's maps (``MODEL_MAP``) of one study's views, and the alternatives."""
        paths = [p for p in prediction.heatmaps if Path(p).resolve() in self._rows]
        images = [prediction.images[p].pixels for p in paths]
        others = {
            ALTERNATIVE_MAPS[method]: alternative_heatmaps(self.bundle, images, method)
            for method in (self.alternatives if paths else ())
        }
        for i, path in enumerate(paths):
            maps = {name: heatmaps[i] for name, heatmaps in others.items()}
            self.add_view(path, {MODEL_MAP: prediction.heatmaps[path], **maps})

    def add_view(self, path: Path, maps: dict[str, np.ndarray]) -> bool:
        """Measure one view's maps (name -> heatmap at the image's shape) and its oracle;
        False (nothing measured) unless the view is abnormal with a non-empty mask."""
        row = self._rows.get(Path(path).resolve())
        if row is None:
            return False
        mask = self._truth.mask(row)
        if not mask.any():
            return False
        oracle = display_heatmap(oracle_map(torch.from_numpy(mask), self.grid).numpy(), mask.shape)
        for name, heatmap in {**maps, self.oracle_name: oracle}.items():
            self._views.setdefault(name, []).append((row["kinds"], localise(heatmap, mask)))
        return True

    def summaries(self) -> dict[str, dict[str, LocalisationSummary]]:
        """Per map (the model's, others added, the oracle): the summary per kinds group and
        overall."""
        return {name: summarise(views) for name, views in self._views.items()}

    def close(self) -> None:
        self._truth.close()

    def __enter__(self) -> LocalisationCheck:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
