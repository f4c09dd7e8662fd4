"""Write a file so that readers see the old content or the new, never half of either.

The new content goes to a temporary file beside the target (same folder, so the final
``os.replace`` is atomic), is flushed and fsynced, then replaces the target. On any error
the temporary file is removed and the target is untouched; one left by a writer that was
killed (``kill -9`` cannot be cleaned up after) goes at the next write of the same file.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

PART_SUFFIX = ".part"


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """``open`` for writing whose result appears at ``path`` only when the block succeeds."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', not {mode!r}")
    path = Path(path)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*{PART_SUFFIX}"):
        with contextlib.suppress(OSError):  # left by a writer of this file that was killed
            stale.unlink()
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{PART_SUFFIX}")
    try:
        with open(tmp, mode.replace("w", "x"), **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_atomically(
    path: str | os.PathLike[str], data: str | bytes, *, encoding: str = "utf-8", errors="strict"
) -> None:
    """Write ``data`` (text or bytes) to ``path`` atomically."""
    if isinstance(data, bytes):
        with atomic_open(path, "wb") as fh:
            fh.write(data)
    else:
        with atomic_open(path, "w", encoding=encoding, errors=errors, newline="") as fh:
            fh.write(data)
