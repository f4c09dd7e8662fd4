"""The header panel: a filterable table of the current view's DICOM tags."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


class DicomTagsPanel(QWidget):
    """Shows ``LoadedImage.tags`` (already in display order) for the view on screen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = QLabel("No view")
        self._title.setWordWrap(True)
        self._title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._filter = QLineEdit()
        self._filter.setPlaceholderText("Filter tags…")
        self._filter.setClearButtonEnabled(True)
        self._filter.textChanged.connect(self._apply_filter)
        self._table = QTableWidget(0, 2)
        self._table.setHorizontalHeaderLabels(["Tag", "Value"])
        self._table.verticalHeader().hide()
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self._table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._title)
        layout.addWidget(self._filter)
        layout.addWidget(self._table, 1)

    @property
    def row_count(self) -> int:
        return self._table.rowCount()

    def set_tags(self, title: str, tags: dict[str, str], is_dicom: bool) -> None:
        if not tags:
            note = "no header fields" if is_dicom else "not a DICOM file: no header"
            self._title.setText(f"{title} — {note}")
        else:
            self._title.setText(title)
        self._table.setRowCount(len(tags))
        for row, (key, value) in enumerate(tags.items()):
            self._table.setItem(row, 0, QTableWidgetItem(key))
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            self._table.setItem(row, 1, item)
        self._apply_filter(self._filter.text())

    def clear(self, title: str = "No view") -> None:
        self._title.setText(title)
        self._table.setRowCount(0)

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for row in range(self._table.rowCount()):
            cells = (self._table.item(row, 0), self._table.item(row, 1))
            hay = " ".join(c.text() for c in cells if c is not None).casefold()
            self._table.setRowHidden(row, bool(needle) and needle not in hay)
