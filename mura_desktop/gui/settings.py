"""The one accessor over the viewer's persistent settings (QSettings).

Every key the viewer stores is a typed attribute here, so the rest of the GUI never spells a
QSettings key or converts a QVariant. Tests pass their own file: ``Settings(tmp_path / "s.ini")``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from PySide6.QtCore import QByteArray, QSettings

from mura_desktop.core.display import DEFAULT_HEATMAP_MODE, HEATMAP_MODES
from mura_desktop.inference.backends import BACKEND_CHOICES

if TYPE_CHECKING:  # pynetdicom loads only when the PACS settings are used, not at start-up
    from mura_desktop.node.scu import Node

ORGANIZATION = "MURA Desktop"
APPLICATION = "mura-desktop"
MAX_RECENT = 10
DEVICES = ("auto", "cpu", "cuda")

T = TypeVar("T")


class _Key(Generic[T]):
    """One stored setting: its QSettings key, its type (bool, int, float, str or QByteArray)
    and its default.

    A value is written as ``clean(kind(value))``. What is read is converted to ``kind`` and
    cleaned; a missing value, one that does not convert, or one that ``valid`` refuses reads
    as ``default``.
    """

    def __init__(
        self,
        key: str,
        kind: type[Any],
        default: T,
        *,
        valid: Callable[[T], bool] = lambda _value: True,
        clean: Callable[[T], T] = lambda value: value,
    ) -> None:
        self.key, self.kind, self.default = key, kind, default
        self.valid, self.clean = valid, clean

    @overload
    def __get__(self, settings: None, owner: type[Settings]) -> _Key[T]: ...
    @overload
    def __get__(self, settings: Settings, owner: type[Settings]) -> T: ...
    def __get__(self, settings: Settings | None, owner: type[Settings]) -> T | _Key[T]:
        if settings is None:
            return self
        value = self.clean(_stored(settings._q, self.key, self.kind, self.default))
        return value if self.valid(value) else self.default

    def __set__(self, settings: Settings, value: Any) -> None:
        settings._q.setValue(self.key, self.clean(self.kind(value)))


class Settings:
    """Typed view of the viewer's QSettings.

    Parameters
    ----------
    path
        An INI file to use instead of the user's settings (tests, portable installs).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is None:
            self._q = QSettings(
                QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
            )
        else:
            self._q = QSettings(str(path), QSettings.Format.IniFormat)

    def sync(self) -> None:
        self._q.sync()

    # --- window -------------------------------------------------------------------------

    geometry: _Key[QByteArray | None] = _Key("window/geometry", QByteArray, None)
    window_state: _Key[QByteArray | None] = _Key("window/state", QByteArray, None)

    # --- files --------------------------------------------------------------------------

    @property
    def recent_items(self) -> list[str]:
        value = self._q.value("files/recent", [])
        if isinstance(value, str):  # QSettings returns a 1-item list as a plain string
            return [value] if value else []
        return [str(v) for v in value or []]

    def add_recent(self, path: str | os.PathLike[str]) -> list[str]:
        """Put ``path`` first in the recent list (no duplicates, at most ``MAX_RECENT``)."""
        item = str(Path(path).resolve())
        items = [item] + [p for p in self.recent_items if p != item]
        self._q.setValue("files/recent", items[:MAX_RECENT])
        return items[:MAX_RECENT]

    def clear_recent(self) -> None:
        self._q.setValue("files/recent", [])

    last_open_dir = _Key("files/last_open_dir", str, "")
    last_save_dir = _Key("files/last_save_dir", str, "")

    # --- display ------------------------------------------------------------------------

    heatmap_visible = _Key("display/heatmap_visible", bool, True)
    heatmap_opacity = _Key(
        "display/heatmap_opacity", float, 0.5, clean=lambda v: min(max(v, 0.0), 1.0)
    )
    heatmap_mode = _Key(
        "display/heatmap_mode",
        str,
        DEFAULT_HEATMAP_MODE,
        valid=lambda v: v in HEATMAP_MODES and v != "off",
    )
    heatmap_all_views = _Key("display/heatmap_all_views", bool, False)
    heatmap_scale_opacity = _Key("display/heatmap_scale_opacity", bool, False)
    #: Study list as a dataset → body part → patient → study tree (else a flat list).
    group_studies = _Key("display/group_studies", bool, True)

    # --- model --------------------------------------------------------------------------

    model_path = _Key("model/path", str, "")
    device = _Key(
        "model/device", str, "auto", valid=lambda v: v in DEVICES or v.startswith("cuda:")
    )
    #: The runtime models run on: ``auto`` (the fastest that agrees with float32), ``torch``
    #: or ``openvino``.
    backend = _Key("model/backend", str, "auto", valid=lambda v: v in BACKEND_CHOICES)

    def threshold_for(self, bundle: str | os.PathLike[str]) -> float | None:
        """The threshold the user chose for this bundle file, or None for the bundle's own.

        Kept per file (its path, size and modification time): a threshold chosen for one
        model never silently applies to another, nor to a changed file at the same path.
        """
        raw = self._q.value(_threshold_key(bundle), "", type=str)
        try:
            value = float(raw)
        except ValueError:
            return None
        return value if 0.0 <= value <= 1.0 else None

    def set_threshold_for(self, bundle: str | os.PathLike[str], value: float | None) -> None:
        self._q.setValue(_threshold_key(bundle), "" if value is None else f"{value:.6g}")

    # --- DICOM node ---------------------------------------------------------------------

    #: This program's AE title, as a listener and when sending.
    local_ae_title = _Key(
        "dicom/local_ae_title", str, "MURA", valid=lambda v: 0 < len(v) <= 16, clean=str.strip
    )

    @property
    def pacs_node(self) -> Node | None:
        """The PACS results are sent to, or None until one is set (or if the stored one is
        not a valid node)."""
        from mura_desktop.node.scu import parse_node

        text = str(self._q.value("dicom/pacs", "", type=str))
        try:
            return parse_node(text) if text else None
        except ValueError:
            return None

    @pacs_node.setter
    def pacs_node(self, node: Node | None) -> None:
        self._q.setValue("dicom/pacs", "" if node is None else str(node))

    listener_port = _Key("dicom/listener_port", int, 11112, valid=lambda v: 0 < v < 65536)
    #: Where the viewer's listener files what arrives (empty: not chosen yet).
    listener_folder = _Key("dicom/listener_folder", str, "")


def _stored(q: QSettings, key: str, kind: type[Any], default: Any) -> Any:
    """The value under ``key`` as ``kind``; ``default`` when there is none or it is not one."""
    if kind is str:
        return str(q.value(key, default, type=str))
    value = q.value(key, default)
    if kind is QByteArray:
        return value if isinstance(value, QByteArray) and not value.isEmpty() else default
    if kind is bool:
        return value.lower() in ("true", "1", "yes") if isinstance(value, str) else bool(value)
    try:
        return kind(value)
    except (TypeError, ValueError):
        return default


def _threshold_key(bundle: str | os.PathLike[str]) -> str:
    path = Path(bundle).expanduser().resolve()
    try:
        stat = path.stat()
        identity = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    except OSError:
        identity = str(path)
    return "model/thresholds/" + hashlib.sha1(identity.encode()).hexdigest()
