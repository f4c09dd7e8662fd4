"""Where compiled OpenVINO blobs and backend probes are kept between launches.

Everything lives under the platformdirs user cache (``~/.cache/mura-desktop/runtime`` on
Linux), keyed so that a stale entry is never used: by the bundle's content hash (its
weights and settings), by the code that builds its networks, and by this machine and its
runtime versions. Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import marshal
import os
import platform
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from mura_desktop.core.atomic_write import write_atomically
from mura_desktop.inference.bundle import ModelBundle

# The modules that turn a bundle into a network: a change to either measures again.
NETWORK_CODE = (
    "mura_desktop.inference.network",
    "mura_desktop.inference.backends.openvino_graph",
)


def bundle_key(bundle: ModelBundle) -> str:
    """Names what a bundle's probes depend on: its weights and settings, and the code that
    builds its networks."""
    return f"{bundle.content_hash[:16]}-{code_fingerprint(NETWORK_CODE)}-{bundle.input_size}px"


@cache
def code_fingerprint(modules: tuple[str, ...]) -> str:
    """Changes when the code of any of ``modules`` does; reads their compiled code without
    running it (so without importing torch), in a source tree or a frozen app alike."""
    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        code = loader.get_code(name) if loader is not None and hasattr(loader, "get_code") else None
        digest.update(name.encode() + (marshal.dumps(code) if code is not None else b"missing"))
    return digest.hexdigest()[:16]


@cache
def machine_fingerprint() -> str:
    """This processor, its core count and the runtime versions: what a probe depends on."""
    parts = [platform.machine(), _cpu_model(), str(os.cpu_count())]
    parts += [_version(name) for name in ("torch", "openvino")]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _version(distribution: str) -> str:
    try:
        return f"{distribution} {metadata.version(distribution)}"
    except metadata.PackageNotFoundError:
        return f"no {distribution}"


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
