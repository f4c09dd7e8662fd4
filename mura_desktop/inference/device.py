"""Which torch device inference runs on."""

from __future__ import annotations

import re

import torch

_CUDA = re.compile(r"^cuda(?::(\d+))?$")


def choose_device(requested: str = "auto") -> tuple[torch.device, str | None]:
    """Resolve a device setting to a usable device and an optional note for the user.

    ``"auto"``: the first CUDA device when one is usable, else the CPU. ``"cpu"``.
    ``"cuda"`` / ``"cuda:N"``: that GPU, or the CPU (or ``cuda:0``) with a note saying why
    when it is not available. Anything else raises ``ValueError``.
    """
    text = requested.strip().lower()
    if text == "cpu":
        return torch.device("cpu"), None
    if text == "auto":
        return (torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")), None
    match = _CUDA.match(text)
    if match is None:
        raise ValueError(f"unknown device {requested!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'")
    if not torch.cuda.is_available():
        return torch.device("cpu"), "CUDA was requested but is not available; running on the CPU"
    index = int(match.group(1) or 0)
    count = torch.cuda.device_count()
    if index >= count:
        note = f"cuda:{index} does not exist ({count} CUDA device(s)); using cuda:0"
        return torch.device("cuda", 0), note
    return torch.device("cuda", index), None
