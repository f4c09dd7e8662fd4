"""Where the program keeps its own files (platformdirs): one home for every location, so
the viewer, the trainer and the runtimes agree. Nothing here creates a folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "mura-desktop"


def data_dir() -> Path:
    return platformdirs.user_data_path(APP, appauthor=False)


def cache_dir() -> Path:
    return platformdirs.user_cache_path(APP, appauthor=False)


def log_dir() -> Path:
    return platformdirs.user_log_path(APP, appauthor=False)


def models_dir() -> Path:
    """Where imported bundles are offered to be saved."""
    return data_dir() / "models"


def runs_dir() -> Path:
    """Where the Train window proposes run folders."""
    return data_dir() / "runs"


RUNTIME_CACHE_VARIABLE = "MURA_RUNTIME_CACHE"


def runtime_cache_dir() -> Path:
    """Converted and compiled models, and the measured runtime choices: the folder named by
    ``$MURA_RUNTIME_CACHE`` when set (the self-test keeps its own), else the user cache's."""
    override = os.environ.get(RUNTIME_CACHE_VARIABLE)
    return Path(override) if override else cache_dir() / "runtime"


def trainer_image_cache_dir() -> Path:
    """The trainer's decoded, resized training images."""
    return cache_dir() / "trainer-images"
