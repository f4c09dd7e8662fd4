"""The torch-free reader of ``torch.save`` files against torch's own ``torch.load``."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from mura_desktop.inference.torch_archive import read_torch_archive


def test_every_dtype_shape_and_view_reads_back_as_torch_wrote_it(tmp_path: Path) -> None:
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    payload = {
        "format": "x",
        "nested": [1, 2.5, None, True, ("a", "b")],
        "state": OrderedDict(
            f32=torch.randn(3, 5),
            f16=torch.randn(7).half(),
            bf16=torch.tensor([1.5, -2.25, 3e8]).bfloat16(),
            f64=torch.randn(2, 2).double(),
            i64=torch.tensor(0, dtype=torch.long),  # a scalar, as BatchNorm's counter
            i32=torch.arange(5, dtype=torch.int32),
            u8=torch.arange(9, dtype=torch.uint8).reshape(3, 3),
            flags=torch.tensor([True, False]),
            transposed=base.t(),  # a strided view
            sliced=base[1:3, 2:],  # an offset into a shared storage
            shared=base,
        ),
    }
    path = tmp_path / "all.pt"
    torch.save(payload, path)
    ours = read_torch_archive(path)
    theirs = torch.load(path, weights_only=True)
    assert ours["format"] == "x" and ours["nested"] == [1, 2.5, None, True, ("a", "b")]
    assert isinstance(ours["state"], OrderedDict) and list(ours["state"]) == list(theirs["state"])
    for name, tensor in theirs["state"].items():
        array = ours["state"][name]
        expected = tensor.float() if tensor.dtype == torch.bfloat16 else tensor
        assert isinstance(array, np.ndarray) and array.flags.writeable, name
        assert array.shape == tuple(tensor.shape), name
        assert np.array_equal(array, expected.numpy()), name
    assert ours["state"]["i64"].shape == () and ours["state"]["i64"].dtype == np.int64


class _Evil:
    def __reduce__(self):
        return (print, ("this ran",))


def test_any_other_global_is_refused_unrun(tmp_path: Path, capsys) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"weights": torch.zeros(2), "payload": _Evil()}, path)
    with pytest.raises(pickle.UnpicklingError, match=r"print' is not allowed"):
        read_torch_archive(path)
    assert "this ran" not in capsys.readouterr().out
