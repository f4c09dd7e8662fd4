"""Starting ``mura-train`` as a process of its own, and finding what a run exported (Qt-free).

The trainer runs in a session apart from the viewer's, with its console output going to
``RUN_DIR/console.log`` rather than a pipe, so it can outlive the viewer; these helpers
build its command line and environment, start it, and look for the model bundle it wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from mura_desktop.core.resources import MODEL_SUFFIX
from mura_desktop.core.run_log import BUNDLE_FILE

CONSOLE_FILE = "console.log"


def trainer_command() -> list[str]:
    """How to start ``mura-train``: this interpreter running the ``trainer`` package."""
    return [sys.executable, "-m", "trainer"]


def launch_trainer(args: Sequence[str], console: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start the trainer with ``args``, its stdout and stderr going to ``console``."""
    return subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=console,
        stderr=subprocess.STDOUT,
        env=_trainer_environment(),
        **_own_session(),
    )


def find_bundle(run_dir: Path, end_record: dict[str, Any]) -> Path | None:
    """The model a finished run exported: the ``end`` record's ``bundle``, else the run
    folder's ``model.mura``, else its newest ``*.mura``."""
    value = end_record.get("bundle")
    if isinstance(value, str) and value:
        candidate = Path(value)
        candidate = candidate if candidate.is_absolute() else run_dir / candidate
        if candidate.is_file():
            return candidate
    if (run_dir / BUNDLE_FILE).is_file():
        return run_dir / BUNDLE_FILE
    found = sorted(run_dir.glob(f"*{MODEL_SUFFIX}"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def _trainer_environment() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    # From a source checkout, `python -m trainer` needs the repository on the path.
    source_root = Path(__file__).resolve().parents[2]
    if (source_root / "trainer" / "__init__.py").is_file():
        paths = [str(source_root), *filter(None, [env.get("PYTHONPATH")])]
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _own_session() -> dict[str, Any]:
    """Popen arguments that start the trainer apart from the viewer: a terminal's Ctrl-C or
    hang-up that ends the viewer does not reach a run the user left going."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}
