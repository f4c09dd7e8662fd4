"""Typed errors for files the engine cannot use. Each names the file and the reason."""

from __future__ import annotations

import errno
import os
from pathlib import Path


class ImageLoadError(Exception):
    """A file could not be turned into pixels."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnsupportedImageError(ImageLoadError):
    """The file is not an image format the engine reads (or a DICOM without usable pixels)."""


class CorruptImageError(ImageLoadError):
    """The file claims a supported format but its content is damaged or truncated."""


class ImageTooLargeError(ImageLoadError):
    """The image exceeds the decompression-bomb limit."""


class BlankImageError(ImageLoadError):
    """The image decodes, but to one value everywhere: there is nothing to show or score."""


class UnreadableFileError(ImageLoadError):
    """The file cannot be opened at all: missing, a folder, or permission denied."""


def reason_from(exc: BaseException) -> str:
    """A library exception's message on one line (its type name when it has no message)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def os_error_reason(exc: OSError, path: str | os.PathLike[str] | None = None) -> str:
    """A short reason for an ``OSError``; ``path`` lets a missing target be told from a link."""
    if isinstance(exc, FileNotFoundError):
        if path is not None and os.path.islink(path):
            return "broken symbolic link"
        return "does not exist"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    return exc.strerror or str(exc)
