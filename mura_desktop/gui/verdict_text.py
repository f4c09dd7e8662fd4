"""What the viewer tells the user about scoring, decided without Qt: the verdict panel's
state of a study that has no result yet, which model made a result and whose record is
shown, and what to do when there is no model to score with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.results import StudyResult

if TYPE_CHECKING:
    from mura_desktop.gui.viewer_model import ViewerModel

NO_MODEL_PROBLEM = (
    "No model is loaded.",
    "Load a model bundle (Model ▸ Load bundle…) or train one first.",
)
MODEL_FAILED_TODO = (
    "Choose a .mura bundle (Model ▸ Load bundle…), or import a DenseNet "
    "checkpoint (Model ▸ Model settings… ▸ Import checkpoint…)."
)


def status_text(viewer: ViewerModel) -> str:
    """The panel's line for a study without a result on screen."""
    current = viewer.current
    if current is not None and current.job is not None:
        if current.progress is not None:
            done, total = current.progress
            return f"SCORING…\nview {min(done + 1, total)} of {total}"
        return "SCORING…\nimages are shown while the model runs"
    if viewer.model_loading and viewer.model is None:
        return "LOADING MODEL…\nscores follow when it is ready"
    if viewer.model is None:
        return (
            "NO MODEL\nImages only. Load a model bundle (Model ▸ Load bundle…) or "
            "train one (mura-train) to see scores and heatmaps."
        )
    if not viewer.may_auto_score():
        return (
            "NOT SCORED\nThe scores on screen came from another model; press F5 to "
            "score with the loaded one."
        )
    return "NOT SCORED"


def scored_by(viewer: ViewerModel, result: StudyResult | None) -> str:
    """Which model made ``result``, e.g. ``Scored by demo (1a2b3c4d5e6f) · from r.json``."""
    if result is None:
        return ""
    session = viewer.session
    source = f" · from {session.results_file.name}" if session.results_file else ""
    return f"Scored by {session.model.describe()}" + source


def record_for(viewer: ViewerModel, result: StudyResult | None) -> ModelRecord:
    """The model record behind what is shown: the scores' model, else the loaded one."""
    if result is not None:
        return viewer.session.model
    return viewer.model.record if viewer.model is not None else ModelRecord()


def probability_caption(probability: float | None) -> str:
    """The corner caption of a scored view ("" when it has no score)."""
    return "" if probability is None else f"p(abnormal) = {probability:.3f}"
