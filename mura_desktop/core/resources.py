"""Where the bundled resources (demo model, sample studies, icons) live.

The same lookup serves a source checkout (``<repo>/resources``) and a PyInstaller bundle
(``<bundle>/resources``, under ``sys._MEIPASS``): ``build.spec`` copies the repository's
``resources/`` folder there unchanged, so every path below is relative to it.
"""

from __future__ import annotations

import sys
from pathlib import Path

MODEL_SUFFIX = ".mura"
SAMPLE_FOLDERS = ("MURA-v1.1", "dicom")
ICON_NAME = "mura-desktop"


def is_frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False) and getattr(sys, "_MEIPASS", None))


def resources_dir() -> Path:
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def default_model_path() -> Path | None:
    """The bundled default model, if one ships with this build."""
    models = sorted((resources_dir() / "models").glob(f"*{MODEL_SUFFIX}"))
    return models[0] if models else None


def samples_dir() -> Path:
    return resources_dir() / "samples"


def sample_paths() -> list[Path]:
    """The sample folders the viewer opens on first launch (those that exist).

    ``samples/MURA-v1.1`` (PNG studies in the MURA layout, labelled) and ``samples/dicom``
    (DICOM studies); the README beside them is not a study, so the root is not opened.
    """
    return [p for p in (samples_dir() / name for name in SAMPLE_FOLDERS) if p.is_dir()]


def icon_path(suffix: str = ".png") -> Path | None:
    """The application icon (``.png`` 256 px, ``.svg`` or ``.ico``), if bundled."""
    path = resources_dir() / "icons" / f"{ICON_NAME}{suffix}"
    return path if path.is_file() else None
