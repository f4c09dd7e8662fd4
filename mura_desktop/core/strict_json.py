"""JSON that every reader accepts: no ``NaN`` or ``Infinity`` tokens, ever.

Python's ``json`` writes ``NaN`` by default, which is not JSON. Everything this project
writes as JSON goes through ``dumps``: non-finite floats become ``null``, numpy and torch
scalars become plain numbers, and anything left over that JSON cannot hold raises.
"""

from __future__ import annotations

import json
import math
from typing import Any


def plain(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` and array scalars as Python numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return plain(value.item())
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of ``plain(value)``, refusing any non-finite number that remains."""
    return json.dumps(plain(value), allow_nan=False, **kwargs)
