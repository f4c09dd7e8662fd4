"""Which device inference and training run on.

An explicit request is honoured or refused: ``cuda`` on a machine where CUDA cannot be
used is an error that says why, never a silent run on the CPU. Only ``auto`` falls back,
and says so. Where the NVIDIA driver reports no GPU, ``auto`` is settled without
importing torch (seconds at launch), so the OpenVINO runtime can score without it.
"""

from __future__ import annotations

import ctypes
import re
from importlib.util import find_spec
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

_DRIVERS = ("libcuda.so.1", "libcuda.so", "nvcuda.dll")
_CUDA = re.compile(r"^cuda(?::(\d+))?$")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N")


class DeviceUnavailableError(ValueError):
    """The device asked for cannot be used here; the message says why and what to do."""


def driver_gpu_absence() -> str | None:
    """Why the NVIDIA driver shows no GPU to this process (no driver, or it reports none),
    or None when it shows one. Asks the driver library itself: no torch, no CUDA runtime."""
    for name in _DRIVERS:
        try:
            driver = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        try:
            if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
                return "the NVIDIA driver does not start"
        except AttributeError:
            return "the NVIDIA driver library is not usable"
        return None if count.value > 0 else "the NVIDIA driver reports no GPU"
    return "no NVIDIA driver is installed"


def torch_installed() -> bool:
    """PyTorch is installed (the CPU app leaves it out and scores on OpenVINO alone)."""
    return find_spec("torch") is not None


def cuda_unusable_reason() -> str | None:
    """Why CUDA cannot be used in this process, or ``None`` when it can."""
    if not torch_installed():
        return "this install has no PyTorch (the CPU app); GPUs need the full install"
    import torch

    if torch.version.cuda is None:
        return (
            "this PyTorch is a CPU-only build (no CUDA support); install a CUDA build of "
            "torch to use a GPU"
        )
    if torch.cuda.is_available():
        return None
    try:
        torch.cuda.init()  # raises with the driver's own explanation
    except (RuntimeError, AssertionError) as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        first = text.split(". ")[0].rstrip(".")  # the driver's URL and advice follow
        if "too old" in first.lower():
            return (
                f"{first}: this torch was built for CUDA {torch.version.cuda}; update the "
                "NVIDIA driver or install a torch built for an older CUDA"
            )
        return f"{first} (check the GPU and its driver with nvidia-smi)"
    return "no CUDA device is visible (check CUDA_VISIBLE_DEVICES and nvidia-smi)"


def choose_device(requested: str = "auto") -> tuple[torch.device, str | None]:
    """``resolve_device`` as a torch device (the trainer's and the torch backend's)."""
    import torch

    name, note = resolve_device(requested)
    return torch.device(name), note


def resolve_device(requested: str = "auto") -> tuple[str, str | None]:
    """Resolve a device setting to the device to use (``"cpu"``, ``"cuda:N"``) and an
    optional note for the user.

    ``"auto"``: the first CUDA device when one is usable, else the CPU with a note saying
    why. ``"cpu"``. ``"cuda"`` / ``"cuda:N"``: that GPU, or ``DeviceUnavailableError``
    saying why it cannot be used. Anything else raises ``ValueError``.
    """
    text = requested.strip().lower()
    if text == "cpu":
        return "cpu", None
    if text == "auto":
        reason = driver_gpu_absence() or cuda_unusable_reason()
        if reason is None:
            return "cuda:0", None
        return "cpu", f"running on the CPU: no usable GPU ({reason.split(' (')[0]})"
    match = _CUDA.match(text)
    if match is None:
        raise ValueError(f"unknown device {requested!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'")
    reason = cuda_unusable_reason()
    if reason is not None:
        raise DeviceUnavailableError(
            f"device {requested!r} cannot be used: {reason}. "
            "Use --device cpu, or --device auto to take a GPU only when one works."
        )
    import torch

    index = int(match.group(1) or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceUnavailableError(
            f"device {requested!r} does not exist: this machine has {count} CUDA device(s) "
            f"(cuda:0 to cuda:{count - 1})"
        )
    return f"cuda:{index}", None
