"""The header panel: the current view's curated DICOM fields, and every element of its
header (sequences expandable), both filtered by one search box.

The full header is read from the file when its tab is first shown for a view, without the
pixel data, so a view whose pixels failed to decode still shows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from mura_desktop.core.dicom_header import HeaderNode


class DicomTagsPanel(QWidget):
    """Shows ``LoadedImage.tags`` (already in display order) and the file's full header."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._path: Path | None = None
        self._tree_for: Path | None = None
        self._title = QLabel("No view")
        self._title.setWordWrap(True)
        self._title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._filter = QLineEdit()
        self._filter.setPlaceholderText("Search tags, names and values…")
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
        self._tree = QTreeWidget()
        self._tree.setHeaderLabels(["Tag", "Name", "VR", "Value"])
        self._tree.setUniformRowHeights(True)
        self._tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self._tree_note = QLabel()
        self._tree_note.setWordWrap(True)
        self._tree_note.hide()
        everything = QWidget()
        column = QVBoxLayout(everything)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self._tree_note)
        column.addWidget(self._tree, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._table, "Summary")
        self.tabs.addTab(everything, "All elements")
        self.tabs.currentChanged.connect(lambda _index: self._fill_tree())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._title)
        layout.addWidget(self._filter)
        layout.addWidget(self.tabs, 1)

    @property
    def row_count(self) -> int:
        return self._table.rowCount()

    @property
    def title(self) -> str:
        return self._title.text()

    def search(self, text: str) -> None:
        self._filter.setText(text)

    def visible_elements(self) -> list[str]:
        """Names of the full header's top-level elements the search leaves visible."""
        items = (self._tree.topLevelItem(i) for i in range(self._tree.topLevelItemCount()))
        return [item.text(1) for item in items if not item.isHidden()]

    @property
    def element_count(self) -> int:
        """Top-level elements in the full-header tab (0 until it has been shown)."""
        return self._tree.topLevelItemCount()

    def set_tags(
        self, title: str, tags: dict[str, str], is_dicom: bool, path: Path | None = None
    ) -> None:
        """The view on screen: its curated ``tags``; ``path`` (a DICOM file) for the full
        header."""
        if not tags:
            note = "no header fields" if is_dicom else "not a DICOM file: no header"
            self._title.setText(f"{title} — {note}")
        else:
            self._title.setText(title)
        self._fill_table(tags)
        self._set_path(path if is_dicom else None)

    def show_header_of_unreadable(self, title: str, path: Path) -> None:
        """A view whose pixels could not be decoded: its header, read on its own."""
        from mura_desktop.core.dicom_header import read_header  # pydicom: see core.pixels

        self._title.setText(title)
        try:
            summary = read_header(path).summary
        except (OSError, ValueError):
            summary = {}
        self._fill_table(summary)
        self._set_path(path)

    def clear(self, title: str = "No view") -> None:
        self._title.setText(title)
        self._table.setRowCount(0)
        self._set_path(None)

    def _fill_table(self, tags: dict[str, str]) -> None:
        self._table.setRowCount(len(tags))
        for row, (key, value) in enumerate(tags.items()):
            self._table.setItem(row, 0, QTableWidgetItem(key))
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            self._table.setItem(row, 1, item)
        self._apply_filter(self._filter.text())

    def _set_path(self, path: Path | None) -> None:
        self._path = path
        self._tree_for = None
        self._tree.clear()
        self._tree_note.hide()
        self._fill_tree()

    def _fill_tree(self) -> None:
        """Read the full header when its tab is visible and it is not read yet."""
        if self.tabs.currentIndex() != 1 or self._path is None or self._tree_for == self._path:
            return
        from mura_desktop.core.dicom_header import read_header  # pydicom: see core.pixels

        self._tree_for = self._path
        try:
            header = read_header(self._path)
        except (OSError, ValueError) as exc:
            self._tree_note.setText(f"The header could not be read: {exc}")
            self._tree_note.show()
            return
        self._tree.addTopLevelItems([_item(node) for node in header.nodes])
        if header.truncated:
            self._tree_note.setText("This header is very large: only its first elements are shown.")
            self._tree_note.show()
        self._apply_filter(self._filter.text())

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for row in range(self._table.rowCount()):
            cells = (self._table.item(row, 0), self._table.item(row, 1))
            hay = " ".join(c.text() for c in cells if c is not None).casefold()
            self._table.setRowHidden(row, bool(needle) and needle not in hay)
        for i in range(self._tree.topLevelItemCount()):
            _filter_item(self._tree.topLevelItem(i), needle)


def _item(node: HeaderNode) -> QTreeWidgetItem:
    item = QTreeWidgetItem([node.tag, node.name, node.vr, node.value])
    item.setToolTip(3, node.value)
    item.addChildren([_item(child) for child in node.children])
    return item


def _filter_item(item: QTreeWidgetItem, needle: str) -> bool:
    """Show ``item`` when it or anything under it matches; expand to show the matches."""
    own = not needle or needle in " ".join(item.text(c) for c in range(4)).casefold()
    # Under a match everything shows; otherwise only the branches that hold one.
    below = [_filter_item(item.child(i), "" if own else needle) for i in range(item.childCount())]
    visible = own or any(below)
    item.setHidden(not visible)
    if needle and not own and any(below):
        item.setExpanded(True)
    return visible
