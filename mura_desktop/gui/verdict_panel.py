"""The study verdict: probability, the rule that made it, ground truth and body part."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from mura_desktop.core.display import (
    AGREE_COLOUR,
    DISAGREE_COLOUR,
    NO_VERDICT_COLOUR,
    VERDICT_COLOURS,
)
from mura_desktop.core.labels import Verdict, label_word
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.results import StudyResult
from mura_desktop.core.stats.summary import validation_note
from mura_desktop.core.study import Study

VERDICT_STYLE = {verdict: (verdict.upper(), colour) for verdict, colour in VERDICT_COLOURS.items()}


class VerdictPanel(QWidget):
    """Read-only summary of the current study's model outcome."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = QLabel()
        self._title.setWordWrap(True)
        # The panel's width is the layout's, never the title's: a long name wraps inside it.
        self._title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._verdict = QLabel()
        self._verdict.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._verdict.setMinimumHeight(44)
        self._details = QLabel()
        self._details.setWordWrap(True)
        self._details.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._details.setTextFormat(Qt.TextFormat.RichText)
        self._details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._details.setOpenExternalLinks(False)
        self._validation = QLabel()
        self._validation.setWordWrap(True)
        self._validation.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._validation.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._validation.setStyleSheet("color: gray;")
        self._validation.setToolTip(
            "How the model did on studies of this body part in its own validation "
            "(κ with its 95% patient-bootstrap interval), from the bundle's provenance"
        )
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self._title)
        layout.addWidget(self._verdict)
        layout.addWidget(self._validation)
        layout.addWidget(line)
        layout.addWidget(self._details, 1)
        self.show_state(None, None, "")

    @property
    def verdict_text(self) -> str:
        return self._verdict.text()

    @property
    def details_text(self) -> str:
        return self._details.text()

    @property
    def validation_text(self) -> str:
        """The model's validation figures for this study's body part; ``""`` when none."""
        return self._validation.text() if not self._validation.isHidden() else ""

    def show_state(
        self,
        study: Study | None,
        result: StudyResult | None,
        status: str,
        model_line: str = "",
        model: ModelRecord | None = None,
    ) -> None:
        """Show ``study`` with its ``result`` (None: not scored yet) and a status line
        (scoring progress, no model, failure) used when there is no result. ``model`` (the
        model record) gives the validation note of the study's body part, when it has one."""
        note = None
        if study is not None and model:
            part = study.body_part or (result.predicted_body_part if result else None)
            note = validation_note(model.details, part)
        self._validation.setText(note or "")
        self._validation.setHidden(note is None)
        if study is None:
            self._title.setText("<b>No study open</b>")
            self._set_verdict("—", NO_VERDICT_COLOUR)
            self._details.setText(
                escape(status)
                if status
                else "Open a study folder, a "
                "dataset, image files or DICOMs (File ▸ Open, or drop them "
                "on the window)."
            )
            return
        self._title.setText(f"<b>{breakable(escape(study.name))}</b>")
        self._title.setToolTip(study.name)
        rows: list[str] = []
        if result is not None and result.probability is not None:
            text, color = VERDICT_STYLE.get(result.verdict or "", ("?", NO_VERDICT_COLOUR))
            self._set_verdict(text, color)
            rows.append(f"Study probability <b>{result.probability:.3f}</b>")
            rows.append(f"Rule: {escape(result.rule.describe(_n_scored(result)).split(';')[0])}")
            if result.rule.band is not None:
                low, high = result.rule.band
                rows.append(
                    f"Indeterminate band: {low:.2f} ≤ p &lt; {high:.2f} (the model's "
                    "high-sensitivity and high-specificity operating points)"
                )
        elif result is not None:
            self._set_verdict("NOT SCORED", NO_VERDICT_COLOUR)
            rows.append("No view of this study could be read.")
        else:
            self._set_verdict(status.split("\n", 1)[0] if status else "NOT SCORED", "#566573")
            if "\n" in status:
                rows.append(status.split("\n", 1)[1])
        rows.append(self._truth_row(study, result))
        rows.append(self._body_part_row(study, result))
        rows.append(self._views_row(study, result))
        if model_line:
            rows.append(f"<span style='color:gray'>{model_line}</span>")
        self._details.setText("<br>".join(r for r in rows if r))

    def _set_verdict(self, text: str, color: str) -> None:
        self._verdict.setText(text)
        self._verdict.setStyleSheet(
            f"background: {color}; color: white; font-size: 20px; font-weight: bold; "
            "border-radius: 5px; padding: 6px;"
        )

    @staticmethod
    def _truth_row(study: Study, result: StudyResult | None) -> str:
        if study.label is None:
            return "Ground truth: unknown"
        truth = label_word(study.label)
        row = f"Ground truth: <b>{truth}</b> (from the dataset)"
        if result is not None and result.predicted_label is not None:
            who = "model"
            if result.verdict == Verdict.INDETERMINATE:
                who = f"the model's call at {result.rule.threshold:.2f}"
            if result.predicted_label == study.label:
                row += f" — <span style='color:{AGREE_COLOUR}'>{who} agrees</span>"
            else:
                row += f" — <span style='color:{DISAGREE_COLOUR}'><b>{who} disagrees</b></span>"
        return row

    @staticmethod
    def _body_part_row(study: Study, result: StudyResult | None) -> str:
        predicted = result.predicted_body_part if result is not None else None
        if study.body_part:
            source = "DICOM header" if study.views and study.views[0].is_dicom else "folder name"
            row = f"Body part: <b>{study.body_part}</b> (from the {source})"
            if predicted and predicted != study.body_part:
                row += f"; the model sees {predicted}"
            return row
        if predicted:
            return f"Body part: <b>{predicted}</b> (predicted by the model)"
        return "Body part: unknown"

    @staticmethod
    def _views_row(study: Study, result: StudyResult | None) -> str:
        n = len(study.views)
        row = f"{n} view{'s' if n != 1 else ''}"
        if result is not None and result.n_failed:
            row += (
                f", <span style='color:{DISAGREE_COLOUR}'>{result.n_failed} could not be read "
                "(left out of the score)</span>"
            )
        return row


def breakable(text: str) -> str:
    """``text`` with a zero-width space after each ``/`` and ``_``: word wrap may break a
    long path-like name there instead of widening the panel."""
    return text.replace("/", "/\u200b").replace("_", "_\u200b")


def _n_scored(result: StudyResult) -> int:
    return sum(v.ok for v in result.views)
