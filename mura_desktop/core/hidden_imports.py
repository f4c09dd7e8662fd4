"""Importing a library without an optional part of it that the program never uses."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def hidden_module(name: str) -> Iterator[None]:
    """While the block runs, ``import name`` raises ImportError (unless it is already
    imported), so a library that imports it optionally skips it; afterwards it imports as
    usual."""
    hide = name not in sys.modules
    if hide:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if hide and sys.modules.get(name, ...) is None:
            del sys.modules[name]
