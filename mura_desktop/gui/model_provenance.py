"""The model dialog's "Model" box: what the loaded bundle is and where it came from.

``ProvenanceView`` shows the demo warning, or how to get a model when none is loaded, or
the bundle's facts: name, architecture, heads, ensemble members, study rule, training data,
split, metrics, creation, trainer version, notes, content hash and file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QLineEdit, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from mura_desktop.inference.bundle import ModelBundle

NO_MODEL_TEXT = (
    "<b>No model loaded.</b> The viewer shows images without scores until you choose one:"
    "<ul>"
    "<li><b>Load bundle…</b> a <code>.mura</code> model file (made by the trainer or shipped "
    "with MURA Desktop).</li>"
    "<li><b>Train one</b> on a MURA-style dataset with <i>Train a model…</i> in the viewer, "
    "or on the command line (the run ends with a <code>.mura</code> bundle):<br>"
    "<code>mura-train fit DATASET --out RUN_FOLDER</code></li>"
    "<li><b>Import checkpoint…</b> turns a torchvision DenseNet-121/169/201 or ResNet-50 "
    "<code>state_dict</code> (.pth) with one abnormality output into a bundle.</li>"
    "</ul>"
)
DEMO_TEXT = (
    "⚠ DEMO MODEL — trained on synthetic images. Its scores and heatmaps mean nothing on "
    "real radiographs."
)


class ProvenanceView(QGroupBox):
    """``show_bundle`` fills the box for a bundle (or for none)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Model", parent)
        self._demo = QLabel(DEMO_TEXT)
        self._demo.setWordWrap(True)
        self._demo.setStyleSheet(
            "QLabel { background: #ffe0e0; color: #a00000; border: 2px solid #c00000;"
            " padding: 6px; font-weight: bold; }"
        )
        self._no_model = QLabel(NO_MODEL_TEXT)
        self._no_model.setWordWrap(True)
        self._no_model.setTextFormat(Qt.TextFormat.RichText)
        self._facts = QFormLayout()
        self._facts.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        facts_widget = QWidget()
        facts_widget.setLayout(self._facts)
        layout = QVBoxLayout(self)
        layout.addWidget(self._demo)
        layout.addWidget(self._no_model)
        layout.addWidget(facts_widget)
        self._facts_widget = facts_widget

    def show_bundle(self, bundle: ModelBundle | None, path: str) -> None:
        """Show ``bundle``, loaded from ``path`` (``""``: not from a file)."""
        self._demo.setVisible(bundle is not None and bundle.is_demo)
        self._no_model.setVisible(bundle is None)
        self._facts_widget.setVisible(bundle is not None)
        while self._facts.rowCount():
            self._facts.removeRow(0)
        if bundle is None:
            return
        for label, value in _provenance_rows(bundle):
            field = QLabel(value)
            field.setWordWrap(True)
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if label == "Content hash:":
                field.setToolTip(bundle.content_hash)
            self._facts.addRow(label, field)
        if path:
            path_field = QLineEdit(path)
            path_field.setReadOnly(True)
            path_field.setCursorPosition(0)
            self._facts.addRow("File:", path_field)


def _provenance_rows(bundle: ModelBundle) -> list[tuple[str, str]]:
    prov = bundle.provenance
    n = len(bundle.members)
    heads = ", ".join(
        name.replace("_", " ") + (f" ({len(spec['classes'])} classes)" if "classes" in spec else "")
        for name, spec in bundle.heads.items()
    )
    rule = bundle.verdict_rule()
    rule_text = f"{rule.aggregation} of the views ≥ threshold"
    if rule.band is not None:
        rule_text += f"; indeterminate in [{rule.band[0]:.3f}, {rule.band[1]:.3f})"
    rows = [
        ("Name:", f"<b>{bundle.name}</b>"),
        ("Architecture:", f"{bundle.architecture}, input {bundle.input_size}×{bundle.input_size}"),
        ("Heads:", heads),
        ("Members:", f"{n}" + (" (ensemble: mean of probabilities)" if n > 1 else "")),
        ("Study rule:", rule_text),
        ("Trained on:", _plain(prov.get("data")) or "not recorded"),
        ("Split:", _plain(prov.get("split")) or "not recorded"),
        ("Metrics:", _metrics_text(prov.get("metrics")) or "not recorded"),
        ("Created:", _plain(prov.get("created")) or "not recorded"),
        ("Trainer version:", _plain(prov.get("trainer_version")) or "not recorded"),
    ]
    if prov.get("notes"):
        rows.append(("Notes:", _plain(prov["notes"])))
    rows.append(("Content hash:", bundle.content_hash[:12]))
    return rows


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


_METRIC_NAMES = {"kappa": "κ", "auroc": "AUROC", "f1": "F1"}


def _metrics_text(metrics: Any) -> str:
    """Scalar metrics as ``kappa 0.701 · auroc 0.912``; a nested ``ALL`` group is used."""
    if not isinstance(metrics, Mapping):
        return _plain(metrics)
    if isinstance(metrics.get("ALL"), Mapping):
        metrics = metrics["ALL"]
    shown = []
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            continue
        name = _METRIC_NAMES.get(key, key)
        shown.append(f"{name} {value:.3f}" if isinstance(value, float) else f"{name} {value}")
    return " · ".join(shown)
