"""The plain data the viewer model keeps (no Qt): the study on screen and what has
arrived for it, the display settings, and the inference service as the model uses it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mura_desktop.core.display import (
    DEFAULT_HEATMAP_MODE,
    EXACT_MAP,
    HEATMAP_MODES,
    MAP_KINDS,
    HeatmapStyle,
)
from mura_desktop.core.study import Study
from mura_desktop.inference.device import torch_installed

# Where the threshold in force came from.
BUNDLE_THRESHOLD = "the bundle's operating point"
SAVED_THRESHOLD = "chosen for this bundle"


class Scoring(Protocol):
    """The background inference service, as the model uses it (``InferenceService``)."""

    def load_model(
        self, path: Path, device: str = "auto", threshold: float | None = None
    ) -> int: ...
    def score_study(self, study: Study, heatmaps: bool = True, maps: str = EXACT_MAP) -> int: ...
    def score_dataset(self, studies: list[Study]) -> int: ...
    def pause(self, job_id: int, paused: bool) -> None: ...
    def cancel(self, job_id: int) -> None: ...


@dataclass
class CurrentStudy:
    """The study on screen and what has arrived for it (``images`` values are whatever the
    display loader delivers)."""

    study: Study
    request: int
    view: int = 0
    images: dict[Path, Any] = field(default_factory=dict)
    failures: dict[Path, str] = field(default_factory=dict)
    job: int | None = None
    progress: tuple[int, int] | None = None

    @property
    def paths(self) -> list[Path]:
        return [v.path for v in self.study.views]

    def indices(self, path: Path) -> list[int]:
        return [i for i, p in enumerate(self.paths) if p == path]

    def select(self, index: int) -> bool:
        if not 0 <= index < len(self.paths):
            return False
        self.view = index
        return True

    def step(self, offset: int) -> int | None:
        """The view ``offset`` views away from the one shown, kept within the study."""
        if not self.paths:
            return None
        return min(max(self.view + offset, 0), len(self.paths) - 1)

    def job_over(self) -> None:
        self.job = None
        self.progress = None

    def take_view_errors(self, views: Sequence[Any]) -> None:
        """A view the model could not read (``views`` of this study's result, in order)
        counts as failed on screen, even if the display loader has not answered for it."""
        for path, view in zip(self.paths, views, strict=False):
            if view.error and path not in self.images and path not in self.failures:
                self.failures[path] = view.error


@dataclass
class DisplayState:
    """``heatmap_mode`` is a key of ``core.display.HEATMAP_MODES`` (not "off": visibility
    is its own switch); ``all_views`` also maps views below the operating point;
    ``scale_opacity`` weighs a map's opacity by the view's probability; ``map_kind``, a key
    of ``core.display.MAP_KINDS``, is which map is drawn."""

    heatmap_visible: bool = True
    heatmap_opacity: float = 0.45
    grouped: bool = True
    heatmap_mode: str = DEFAULT_HEATMAP_MODE
    all_views: bool = False
    scale_opacity: bool = False
    map_kind: str = EXACT_MAP

    def update(self, **changes: Any) -> None:
        """Change the named settings; an unknown name or heatmap style is an error."""
        for name, value in changes.items():
            if not hasattr(self, name):
                raise AttributeError(f"no display setting {name!r}")
            if name == "heatmap_mode" and (value not in HEATMAP_MODES or value == "off"):
                raise ValueError(f"unknown heatmap style {value!r}")
            if name == "map_kind" and value not in MAP_KINDS:
                raise ValueError(f"unknown kind of map {value!r}")
            setattr(self, name, value)
        self.heatmap_opacity = min(max(float(self.heatmap_opacity), 0.0), 1.0)

    def heatmap_style(self) -> HeatmapStyle:
        return HeatmapStyle(
            self.heatmap_mode,
            opacity=self.heatmap_opacity,
            scale_by_probability=self.scale_opacity,
            all_views=self.all_views,
            map_kind=self.map_kind,
        )


def map_kind_unavailable_reason(kind: str) -> str | None:
    """Why a kind of map cannot be drawn by this install, or None: the approximate maps
    need PyTorch (a backward pass), which the CPU app leaves out."""
    if kind != EXACT_MAP and not torch_installed():
        return "needs PyTorch, which this CPU app leaves out (the full install has it)"
    return None


# Each display setting and the ``Settings`` property that keeps it between launches.
DISPLAY_SETTINGS = {
    "heatmap_visible": "heatmap_visible",
    "heatmap_opacity": "heatmap_opacity",
    "grouped": "group_studies",
    "heatmap_mode": "heatmap_mode",
    "all_views": "heatmap_all_views",
    "scale_opacity": "heatmap_scale_opacity",
}
