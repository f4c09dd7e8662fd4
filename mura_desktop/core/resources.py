"""Where the bundled resources (demo model, sample studies, icons) live.

The same lookup serves a source checkout (``<repo>/resources``) and a PyInstaller bundle
(``<bundle>/resources``, under ``sys._MEIPASS``).
"""

from __future__ import annotations

import sys
from pathlib import Path

MODEL_SUFFIX = ".mura"


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
