"""Every element of a DICOM header, as a tree a tag browser can show.

Read on its own (pixel data left unread), so that a view whose pixels cannot be decoded
still shows its header. Nothing here stops on a damaged element: its value reads as the
reason it could not be read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from mura_desktop.core.deflate_guard import refuse_deflate_bomb
from mura_desktop.core.dicom_tags import reader_tags
from mura_desktop.core.errors import reason_from
from mura_desktop.core.formats import open_regular_file

VALUE_CHARS = 200  # a value longer than this is cut, and says how long it was
MAX_ELEMENTS = 20_000  # a header with more is cut (a hostile or broken file)


@dataclass
class HeaderNode:
    """One element (``tag`` like ``(0010,0010)``), or one item of a sequence (no tag)."""

    tag: str
    name: str
    vr: str
    value: str
    children: list[HeaderNode] = field(default_factory=list)

    def text(self) -> str:
        """What a search matches: tag, keyword/name, VR and value."""
        return f"{self.tag} {self.name} {self.vr} {self.value}"


@dataclass
class Header:
    """The file's elements (file meta first) and the curated summary read from them."""

    nodes: list[HeaderNode]
    summary: dict[str, str]
    truncated: bool = False


def read_header(path: str | os.PathLike[str]) -> Header:
    """The whole header of ``path``, read-only, without its pixel data.

    Raises ``OSError`` when the file cannot be opened and ``ValueError`` when it is not
    DICOM at all.
    """
    path = Path(path)
    with open_regular_file(path) as fh:
        refuse_deflate_bomb(fh, path)
        try:
            ds = pydicom.dcmread(fh, force=True, stop_before_pixels=True)
        except Exception as exc:
            raise ValueError(f"{path}: unreadable DICOM header ({reason_from(exc)})") from exc
    budget = [MAX_ELEMENTS]
    nodes = _nodes(ds.file_meta, budget) if ds.file_meta else []
    nodes += _nodes(ds, budget)
    if not nodes:
        raise ValueError(f"{path}: no DICOM elements found")
    try:
        summary = reader_tags(ds)
    except Exception:  # the summary informs; the element list stands on its own
        summary = {}
    return Header(nodes, summary, truncated=budget[0] <= 0)


def _nodes(ds: Dataset, budget: list[int]) -> list[HeaderNode]:
    out = []
    for tag in ds.keys():  # noqa: SIM118 (iterating a Dataset converts, and may raise)
        if budget[0] <= 0:
            break
        budget[0] -= 1
        try:
            element = ds[tag]
        except Exception as exc:
            out.append(HeaderNode(_tag_text(tag), "(unreadable)", "", reason_from(exc)))
            continue
        out.append(_node(element, budget))
    return out


def _node(element: DataElement, budget: list[int]) -> HeaderNode:
    tag, name, vr = _tag_text(element.tag), element.name, str(element.VR)
    if vr == "SQ":
        items = element.value or []
        children = [
            HeaderNode("", f"Item {i}", "", "", _nodes(item, budget))
            for i, item in enumerate(items, 1)
        ]
        count = len(children)
        return HeaderNode(tag, name, vr, f"{count} item{'' if count == 1 else 's'}", children)
    try:
        value = _value_text(element)
    except Exception as exc:
        value = f"(unreadable: {reason_from(exc)})"
    return HeaderNode(tag, name, vr, value)


def _value_text(element: DataElement) -> str:
    value = element.value
    if isinstance(value, (bytes, bytearray)):
        return f"({len(value):,} bytes)"
    text = str(value) if value is not None else ""
    if len(text) > VALUE_CHARS:
        return f"{text[:VALUE_CHARS]}… ({len(text):,} characters)"
    return text


def _tag_text(tag) -> str:
    return f"({tag.group:04X},{tag.element:04X})"
