"""The one rule for where results may be written: never into the user's data, never over
a file that is not a previous output of ours (unless forced), and only where writing works.

Inputs name the data: a folder is data, and so is the folder of an input file (a study's
other views, a dataset's CSVs live there). Paths are compared after resolving symbolic
links, so a link into the data does not pass. The CLI and the viewer both ask here.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path


class OutputRefused(ValueError):
    """An output path that must not be written; ``reason`` says why, for one line."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def data_folders(inputs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The resolved folders the inputs make off-limits: each folder, each file's folder."""
    folders = []
    for item in inputs:
        path = Path(item).resolve()
        folders.append(path if path.is_dir() else path.parent)
    return list(dict.fromkeys(folders))


def is_inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is ``folder`` or below it, both resolved (links followed)."""
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


def data_folder_holding(
    path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]
) -> Path | None:
    """The data folder ``path`` lies in, or ``None`` when it is outside all of them."""
    return next((f for f in data_folders(inputs) if is_inside(path, f)), None)


def check_output_file(
    path: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]],
    *,
    is_ours: Callable[[Path], bool],
    force: bool = False,
) -> None:
    """Raise ``OutputRefused`` unless ``path`` may be written as a new or replaced output.

    ``is_ours(path)`` tells a previous output of this program (replaced without asking)
    from any other file (replaced only with ``force``).
    """
    path = Path(path)
    _refuse_data(path, inputs)
    if path.is_dir():
        raise OutputRefused(path, "is a folder; give a file name")
    if path.exists() and not force and not is_ours(path):
        raise OutputRefused(
            path, "already exists and is not a results file of ours (use --force to replace it)"
        )
    _require_writable_folder(path.parent)


def check_output_folder(
    path: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]],
    *,
    is_ours: Callable[[Path], bool],
    force: bool = False,
) -> None:
    """Like ``check_output_file`` for a folder of outputs: an existing folder may hold only
    files ``is_ours`` accepts (and folders of them) unless ``force``."""
    path = Path(path)
    _refuse_data(path, inputs)
    if path.exists() and not path.is_dir():
        raise OutputRefused(path, "exists and is not a folder")
    if path.is_dir():
        foreign = next((p for p in path.rglob("*") if not p.is_dir() and not is_ours(p)), None)
        if foreign is not None and not force:
            raise OutputRefused(
                path, f"holds files that are not ours (e.g. {foreign.name}; use --force)"
            )
        _require_writable_folder(path)
    else:
        _require_writable_folder(_existing_ancestor(path))


def _refuse_data(path: Path, inputs: Iterable[str | os.PathLike[str]]) -> None:
    folder = data_folder_holding(path, inputs)
    if folder is not None:
        raise OutputRefused(
            path, f"is inside the input data ({folder}); results are never written there"
        )


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _require_writable_folder(folder: Path) -> None:
    if not folder.exists():
        raise OutputRefused(folder, "folder does not exist")
    if not folder.is_dir():
        raise OutputRefused(folder, "is not a folder")
    probe = folder / f".mura-write-test-{secrets.token_hex(4)}"
    try:
        probe.touch(exist_ok=False)
    except OSError as exc:
        raise OutputRefused(folder, f"cannot write here ({exc.strerror or exc})") from exc
    probe.unlink()
