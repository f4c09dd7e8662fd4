"""Where converted graphs, compiled blobs and probe results are kept between launches.

Everything lives under the platformdirs user cache (``~/.cache/mura-desktop/runtime`` on
Linux), keyed so that a stale entry is never used: by the bundle's content hash, by the
network's structure (a change to the trunk or its outputs makes a new graph) and by this
machine and its runtime versions.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from functools import cache
from pathlib import Path
from typing import Any

import torch

from mura_desktop.core.atomic_write import write_atomically
from mura_desktop.inference.backends import bundle_networks
from mura_desktop.inference.bundle import ModelBundle
from mura_desktop.inference.network import MuraNet


def bundle_key(bundle: ModelBundle) -> str:
    """Names what a bundle's graphs and probes depend on: its weights, size and network."""
    (net,) = bundle_networks(bundle, meta=True)
    return f"{bundle.content_hash[:16]}-{network_fingerprint(net)}-{bundle.input_size}px"


def network_fingerprint(net: MuraNet) -> str:
    """Changes when the module tree (strides, dilations, heads) or ``forward_all`` does."""
    code = type(net).forward_all.__code__
    text = repr(net) + code.co_code.hex() + repr(code.co_consts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@cache
def machine_fingerprint() -> str:
    """This processor, its core count and the runtime versions: what a probe depends on."""
    parts = [platform.machine(), _cpu_model(), str(os.cpu_count()), torch.__version__]
    try:
        import openvino

        parts.append(openvino.__version__)
    except ImportError:
        parts.append("no-openvino")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def read_json(path: Path) -> dict[str, Any] | None:
    """A cache record, or None when missing or unreadable (a cache is never an error)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def write_json(path: Path, value: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(value, indent=1, sort_keys=True))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
