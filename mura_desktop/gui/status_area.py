"""The main window's status bar: the pixel under the cursor, the model in use (and where
its threshold came from), dataset scoring progress, and the count of skipped files."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPushButton, QStatusBar

from mura_desktop.core.study import ScanProblem
from mura_desktop.gui.model_info import ModelInfo
from mura_desktop.gui.scoring_progress import ScoringProgress
from mura_desktop.gui.skipped_dialog import problem_counts


class StatusArea:
    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.pixel_label = QLabel()
        self.pixel_label.setMinimumWidth(260)
        self.model_label = QLabel()
        self.progress = ScoringProgress()
        self.skipped_button = QPushButton()
        self.skipped_button.setFlat(True)
        self.skipped_button.setToolTip("Show the paths the last scan skipped, and why")
        self.skipped_button.hide()
        for widget in (self.skipped_button, self.progress, self.pixel_label, self.model_label):
            bar.addPermanentWidget(widget)

    def show_model(self, info: ModelInfo | None, loading: bool, threshold_origin: str) -> None:
        if info is None:
            self.model_label.setText("Loading model…" if loading else "No model")
            self.model_label.setToolTip("")
            return
        demo = " [DEMO]" if info.demo else ""
        self.model_label.setText(f"Model: {info.name}{demo} · {info.runtime or info.device}")
        self.model_label.setToolTip(
            f"{info.description}\n\nThreshold {info.rule.threshold:.2f}: {threshold_origin}"
        )

    def show_loading(self, name: str) -> None:
        self.model_label.setText(f"Loading model {name}…")
        self.model_label.setToolTip(
            "The first load of a model on this computer converts it (up to a minute) and "
            "scores on float32 while it measures the faster runtimes in the background; "
            "later loads reuse what it found."
        )

    def show_problems(self, problems: list[ScanProblem]) -> None:
        counts = problem_counts(problems)
        self.skipped_button.setText(f"Skipped: {counts}…")
        self.skipped_button.setVisible(bool(counts))

    def dataset(self, state: str, number: int) -> int | None:
        """Scoring progress (``ViewerModel``'s ``dataset`` event); when it has finished,
        says so and returns how many studies were done."""
        if state == "started":
            self.progress.start(number)
        elif state == "progress":
            self.progress.update_progress(number)
        else:
            done = self.progress.clock.done if self.progress.clock else 0
            self.progress.finish()
            word = "Cancelled after" if number else "Scored"
            self.bar.showMessage(f"{word} {done:,} studies.", 10_000)
            return done
        return None
