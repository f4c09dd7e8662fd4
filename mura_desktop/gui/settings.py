"""The one accessor over the viewer's persistent settings (QSettings).

Every key the viewer stores is a typed property here, so the rest of the GUI never spells a
QSettings key or converts a QVariant. Tests pass their own file: ``Settings(tmp_path / "s.ini")``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings

from mura_desktop.core.display import DEFAULT_HEATMAP_MODE, HEATMAP_MODES
from mura_desktop.inference.backends import BACKEND_CHOICES

if TYPE_CHECKING:  # pynetdicom loads only when the PACS settings are used, not at start-up
    from mura_desktop.node.scu import Node

ORGANIZATION = "MURA Desktop"
APPLICATION = "mura-desktop"
MAX_RECENT = 10
DEVICES = ("auto", "cpu", "cuda")


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

    @property
    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self._q.setValue("window/geometry", value)

    @property
    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    @window_state.setter
    def window_state(self, value: QByteArray) -> None:
        self._q.setValue("window/state", value)

    # --- files --------------------------------------------------------------------------

    @property
    def recent_items(self) -> list[str]:
        return self._strings("files/recent")

    def add_recent(self, path: str | os.PathLike[str]) -> list[str]:
        """Put ``path`` first in the recent list (no duplicates, at most ``MAX_RECENT``)."""
        item = str(Path(path).resolve())
        items = [item] + [p for p in self.recent_items if p != item]
        self._q.setValue("files/recent", items[:MAX_RECENT])
        return items[:MAX_RECENT]

    def clear_recent(self) -> None:
        self._q.setValue("files/recent", [])

    @property
    def last_open_dir(self) -> str:
        return str(self._q.value("files/last_open_dir", "", type=str))

    @last_open_dir.setter
    def last_open_dir(self, value: str | os.PathLike[str]) -> None:
        self._q.setValue("files/last_open_dir", str(value))

    @property
    def last_save_dir(self) -> str:
        return str(self._q.value("files/last_save_dir", "", type=str))

    @last_save_dir.setter
    def last_save_dir(self, value: str | os.PathLike[str]) -> None:
        self._q.setValue("files/last_save_dir", str(value))

    # --- display ------------------------------------------------------------------------

    @property
    def heatmap_visible(self) -> bool:
        return self._bool("display/heatmap_visible", True)

    @heatmap_visible.setter
    def heatmap_visible(self, value: bool) -> None:
        self._q.setValue("display/heatmap_visible", bool(value))

    @property
    def heatmap_opacity(self) -> float:
        value = self._float("display/heatmap_opacity", 0.5)
        return min(max(value, 0.0), 1.0)

    @heatmap_opacity.setter
    def heatmap_opacity(self, value: float) -> None:
        self._q.setValue("display/heatmap_opacity", float(value))

    @property
    def heatmap_mode(self) -> str:
        value = str(self._q.value("display/heatmap_mode", DEFAULT_HEATMAP_MODE, type=str))
        return value if value in HEATMAP_MODES and value != "off" else DEFAULT_HEATMAP_MODE

    @heatmap_mode.setter
    def heatmap_mode(self, value: str) -> None:
        self._q.setValue("display/heatmap_mode", value)

    @property
    def heatmap_all_views(self) -> bool:
        return self._bool("display/heatmap_all_views", False)

    @heatmap_all_views.setter
    def heatmap_all_views(self, value: bool) -> None:
        self._q.setValue("display/heatmap_all_views", bool(value))

    @property
    def heatmap_scale_opacity(self) -> bool:
        return self._bool("display/heatmap_scale_opacity", False)

    @heatmap_scale_opacity.setter
    def heatmap_scale_opacity(self, value: bool) -> None:
        self._q.setValue("display/heatmap_scale_opacity", bool(value))

    @property
    def group_studies(self) -> bool:
        """Study list as a dataset → body part → patient → study tree (else a flat list)."""
        return self._bool("display/group_studies", True)

    @group_studies.setter
    def group_studies(self, value: bool) -> None:
        self._q.setValue("display/group_studies", bool(value))

    # --- model --------------------------------------------------------------------------

    @property
    def model_path(self) -> str:
        return str(self._q.value("model/path", "", type=str))

    @model_path.setter
    def model_path(self, value: str | os.PathLike[str]) -> None:
        self._q.setValue("model/path", str(value))

    @property
    def device(self) -> str:
        value = str(self._q.value("model/device", "auto", type=str))
        return value if value in DEVICES or value.startswith("cuda:") else "auto"

    @device.setter
    def device(self, value: str) -> None:
        self._q.setValue("model/device", value)

    @property
    def backend(self) -> str:
        """The runtime models run on: ``auto`` (the fastest that agrees with float32),
        ``torch`` or ``openvino``."""
        value = str(self._q.value("model/backend", "auto", type=str))
        return value if value in BACKEND_CHOICES else "auto"

    @backend.setter
    def backend(self, value: str) -> None:
        self._q.setValue("model/backend", value)

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

    @property
    def local_ae_title(self) -> str:
        """This program's AE title, as a listener and when sending."""
        value = str(self._q.value("dicom/local_ae_title", "MURA", type=str)).strip()
        return value if 0 < len(value) <= 16 else "MURA"

    @local_ae_title.setter
    def local_ae_title(self, value: str) -> None:
        self._q.setValue("dicom/local_ae_title", value.strip())

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

    @property
    def listener_port(self) -> int:
        value = self._int("dicom/listener_port", 11112)
        return value if 0 < value < 65536 else 11112

    @listener_port.setter
    def listener_port(self, value: int) -> None:
        self._q.setValue("dicom/listener_port", int(value))

    @property
    def listener_folder(self) -> str:
        """Where the viewer's listener files what arrives (empty: not chosen yet)."""
        return str(self._q.value("dicom/listener_folder", "", type=str))

    @listener_folder.setter
    def listener_folder(self, value: str | os.PathLike[str]) -> None:
        self._q.setValue("dicom/listener_folder", str(value))

    # --- conversions --------------------------------------------------------------------

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._q.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def _strings(self, key: str) -> list[str]:
        value = self._q.value(key, [])
        if isinstance(value, str):  # QSettings returns a 1-item list as a plain string
            return [value] if value else []
        return [str(v) for v in value or []]

    def _bool(self, key: str, default: bool) -> bool:
        value = self._q.value(key, default)
        if isinstance(value, str):
            return value.lower() in ("true", "1", "yes")
        return bool(value)

    def _int(self, key: str, default: int) -> int:
        try:
            return int(self._q.value(key, default))
        except (TypeError, ValueError):
            return default

    def _float(self, key: str, default: float) -> float:
        try:
            return float(self._q.value(key, default))
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
