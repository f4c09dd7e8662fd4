"""The "score all" run, without Qt: one at a time, and an older run's answers not taken."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mura_desktop.core.study import Study
from mura_desktop.gui.viewer_state import Scoring


class DatasetRun:
    """``job`` is the run in progress, or None. Emits ``dataset`` events (see
    ``ViewerModel``): "started" with the study count, "progress" with studies done,
    "finished" with 1 if cancelled."""

    def __init__(self, scoring: Scoring, emit: Callable[..., Any]) -> None:
        self.scoring = scoring
        self._emit = emit
        self.job: int | None = None

    def start(self, studies: list[Study]) -> None:
        self.job = self.scoring.score_dataset(studies)
        self._emit("dataset", "started", len(studies))

    def answers(self, job: int) -> bool:
        return job == self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.scoring.cancel(self.job)

    def pause(self, paused: bool) -> None:
        if self.job is not None:
            self.scoring.pause(self.job, paused)

    def progress(self, job: int, done: int) -> None:
        if self.answers(job):
            self._emit("dataset", "progress", done)

    def finished(self, job: int, cancelled: bool) -> None:
        if self.answers(job):
            self.job = None
            self._emit("dataset", "finished", int(cancelled))
