"""The network a run starts from: ImageNet (torchvision, needs the network once), random,
or a local ``state_dict`` file (works offline)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import torch

from mura_desktop.inference.bundle import non_finite_tensors
from mura_desktop.inference.network import MuraNet, build_network

_NESTED = ("state_dict", "model_state_dict", "model")
# torchvision's published DenseNet files use the pre-0.4 names ``norm.1`` for ``norm1``.
_OLD_DENSENET = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.([12]\.(?:weight|bias|running_mean|running_var))$"
)


class InitError(Exception):
    """The requested initial weights cannot be had; the message says what to do."""


def initial_network(
    arch: str, init: str, *, body_part_head: bool = False, output_stride: int = 32
) -> MuraNet:
    """Build ``arch`` initialised as ``init`` (``imagenet``, ``random`` or a file path); an
    output stride of 16 keeps every parameter's shape, so the same weights load."""
    options = {"body_part_head": body_part_head, "output_stride": output_stride}
    if init == "random":
        return build_network(arch, **options)
    if init == "imagenet":
        try:
            return build_network(arch, weights="DEFAULT", **options)
        except (OSError, RuntimeError) as exc:  # URLError is an OSError
            cache = Path(torch.hub.get_dir()) / "checkpoints"
            raise InitError(
                f"could not get torchvision's ImageNet weights for {arch} ({exc}). They are "
                f"downloaded once into {cache}; without a network, copy the .pth file there, "
                "pass it with --init PATH, or start from --init random."
            ) from exc
    net = build_network(arch, **options)
    load_initial_state(net, init)
    return net


def load_initial_state(net: MuraNet, path: str | os.PathLike[str]) -> None:
    """Copy a local checkpoint's trunk (and heads whose shapes fit) into ``net``.

    Accepts a torchvision-style ``state_dict`` (ImageNet or MURA, possibly nested under
    ``state_dict``/``model`` and prefixed ``module.``), a ResNet's un-prefixed names, or a
    mura-train checkpoint. The trunk must match entirely; a 1000-class ImageNet classifier
    is left out.
    """
    path = Path(path)
    if not path.is_file():
        raise InitError(f"--init {path}: no such file (use imagenet, random or a file path)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for foreign or damaged files
        raise InitError(f"--init {path}: not a readable PyTorch state_dict ({exc})") from exc
    state = _find_tensors(payload)
    if state is None:
        raise InitError(f"--init {path}: no state_dict (name -> tensor mapping) in the file")
    state = _canonical(state)
    bad = non_finite_tensors(state)
    if bad:
        raise InitError(
            f"--init {path}: {len(bad)} tensor(s) hold NaN or infinite values (e.g. "
            f"{', '.join(bad[:3])})"
        )
    own = net.state_dict()
    trunk = {k: v for k, v in state.items() if k.startswith("features.")}
    missing = [
        k
        for k in own
        # files from before PyTorch 0.4.1 lack BatchNorm's step counters
        if k.startswith("features.") and k not in trunk and not k.endswith("num_batches_tracked")
    ]
    wrong = [k for k, v in trunk.items() if k not in own or own[k].shape != v.shape]
    if missing or wrong:
        detail = (missing + wrong)[:3]
        raise InitError(
            f"--init {path}: the weights do not fit {net.architecture} "
            f"({len(missing)} missing, {len(wrong)} unexpected or misshapen tensors, e.g. "
            f"{', '.join(detail)})"
        )
    heads = {
        k: v
        for k, v in state.items()
        if k.split(".")[0] in ("classifier", "body_part") and k in own and own[k].shape == v.shape
    }
    net.load_state_dict({**trunk, **heads}, strict=False)


def _find_tensors(obj: object, depth: int = 0) -> dict[str, torch.Tensor] | None:
    if isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return {str(k): v for k, v in obj.items()}
    if isinstance(obj, Mapping) and depth < 2:
        for key in _NESTED:
            if key in obj and (found := _find_tensors(obj[key], depth + 1)) is not None:
                return found
    return None


def _canonical(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in ("module.", "net."):
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    state = {
        (m.group(1) + m.group(2) if (m := _OLD_DENSENET.match(k)) else k): v
        for k, v in state.items()
    }
    if any(k.startswith("layer4.") for k in state):  # a torchvision ResNet
        state = {
            ("classifier." + k[3:]) if k.startswith("fc.") else "features." + k: v
            for k, v in state.items()
        }
    return state
