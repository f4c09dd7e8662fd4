"""Messages that stay on screen while they are true: demo model, no model."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

DEMO_STYLE = (
    "background: #f39c12; color: #1b1b1b; font-weight: bold; padding: 6px 10px; "
    "border-bottom: 2px solid #b9770e;"
)
INFO_STYLE = "background: #1f3a56; color: #e8f1fa; padding: 6px 10px;"

NO_MODEL_HTML = (
    "<b>No model loaded</b> — images are shown without scores. To get one: "
    "<a href='load' style='color:#8fd3ff'>load a model bundle (.mura)</a>, "
    "import a DenseNet checkpoint (Model ▸ Model settings… ▸ Import checkpoint…), or train "
    "one with "
    "<code>mura-train fit DATASET --out RUN</code>."
)


def demo_text(model_name: str) -> str:
    return (
        f"⚠ DEMO MODEL ({escape(model_name)}): trained on synthetic images, not on "
        "radiographs. Its scores and heatmaps mean nothing for real patients. "
        "Research use only."
    )


class Banner(QLabel):
    """A full-width strip with rich text; links emit ``linkActivated(href)``."""

    def __init__(self, style: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(style)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.hide()
