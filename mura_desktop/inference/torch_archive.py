"""Reads the files ``torch.save`` writes (its zip format) into numpy, without torch.

Such a file is a zip of one pickle (``data.pkl``) and one raw storage per tensor
(``data/<key>``). Only plain containers and tensors are rebuilt: the unpickler knows
exactly the globals a saved ``state_dict`` uses (``OrderedDict``, the tensor rebuild
function and the typed storages) and refuses every other one, as ``torch.load(...,
weights_only=True)`` does, so a file is never unpickled into arbitrary objects. Tensors
come back as writable numpy arrays; bfloat16 becomes float32 (numpy has no bfloat16).
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

_STORAGES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),  # widened to float32 below
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class _Storage:
    """A storage's name in the pickle; its bytes are read when a tensor uses them."""

    def __init__(self, kind: str) -> None:
        self.kind = kind


def _rebuild_tensor(
    storage: np.ndarray, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any
) -> np.ndarray:
    if not size:  # a scalar (as_strided reads an empty shape as "keep the storage's")
        return np.array(storage[offset])
    itemsize = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride)
    )
    return np.array(view)  # a copy: contiguous, writable, independent of the archive's bytes


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(io.BytesIO(data))
        self._archive = archive
        self._prefix = prefix
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGES:
            return _Storage(name)
        raise pickle.UnpicklingError(
            f"global '{module}.{name}' is not allowed in a weights file (only tensors and "
            "plain containers are)"
        )

    def persistent_load(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r:.80}")
        kind, key = pid[1], str(pid[2])
        if not isinstance(kind, _Storage):
            raise pickle.UnpicklingError(f"unknown storage type {kind!r:.80}")
        if key not in self._storages:
            raw = self._archive.read(f"{self._prefix}data/{key}")
            array = np.frombuffer(raw, dtype=_STORAGES[kind.kind])
            if kind.kind == "BFloat16Storage":
                array = (array.astype(np.uint32) << 16).view(np.float32)
            self._storages[key] = array
        return self._storages[key]


def read_torch_archive(path: Path) -> Any:
    """The object a ``torch.save`` zip file holds, tensors as numpy arrays.

    Raises ``pickle.UnpicklingError`` (a forbidden global, a damaged pickle),
    ``zipfile.BadZipFile``, ``KeyError`` (a missing member) or ``ValueError``.
    """
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise ValueError(f"{len(pickles)} data.pkl records, expected 1")
        prefix = pickles[0][: -len("data.pkl")]
        order = f"{prefix}byteorder"
        if order in archive.namelist() and archive.read(order).strip() != b"little":
            raise ValueError("written on a big-endian machine, which is not supported")
        return _Unpickler(archive.read(pickles[0]), archive, prefix).load()
