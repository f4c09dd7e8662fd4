"""Model bundles: one file with the weights and everything needed to use them.

A bundle file is ``torch.save`` of plain containers and tensors only, read back without
torch by ``torch_archive`` (which, like ``torch.load(..., weights_only=True)``, never
unpickles a user-supplied file into arbitrary objects); the weights are held as numpy
arrays, so reading, validating and describing a bundle needs no torch.
Layout (format ``mura-desktop-bundle``, version 1)::

    {"format", "format_version", "architecture", "input_size", "mean", "std",
     "heads": {"abnormality": {"outputs": 1}, "body_part": {"classes": [...]}},
     "operating_points", "aggregation", "provenance", "storage", "content_hash",
     "members": [state_dict, ...]}

plus, only where they differ from their defaults (so older bundles keep their hash),
``"temperature"`` (logits are divided by it before the sigmoid), ``"part_thresholds"``
(body part → decision threshold), ``"output_stride"`` (16: the network's last stage is
dilated, see ``network.build_network``) and ``"flip_average"`` (true: every view is also
scored mirrored left-right, and logits and maps are averaged).

The content hash is SHA-256 over the metadata (canonical JSON) and every member tensor
(name, shape, bytes; floating tensors as float32), so it survives save/load and float16
storage of already-rounded weights, and changes with any weight or setting.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from mura_desktop.core.atomic_write import atomic_open
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.study import BODY_PARTS
from mura_desktop.core.verdict import AGGREGATIONS, VerdictRule
from mura_desktop.inference.architectures import (
    ARCHITECTURES,
    OUTPUT_STRIDES,
    expected_shapes,
    feature_grid,
)
from mura_desktop.inference.preprocess import IMAGENET_MEAN, IMAGENET_STD
from mura_desktop.inference.torch_archive import read_torch_archive

BUNDLE_FORMAT = "mura-desktop-bundle"
BUNDLE_VERSION = 1
OPERATING_POINTS = ("default", "high_sensitivity", "high_specificity")

_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"
_PLAIN_TYPES = (str, int, float, bool, type(None))


class BundleError(Exception):
    """A model file that cannot be used, with the file and the reason."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass
class ModelBundle:
    """Weights of one or more ensemble members plus how to use them.

    Construction validates everything (architecture, tensor names and shapes, operating
    points, provenance made of plain values) and raises ``ValueError`` on a problem.
    Members may be given as torch state_dicts; they are kept as numpy arrays (float32 for
    every floating tensor).
    ``content_hash`` is computed once at construction: treat a bundle as immutable.
    """

    architecture: str
    members: list[dict[str, np.ndarray]]
    input_size: int = 320
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    body_parts: tuple[str, ...] | None = None
    operating_points: dict[str, float] = field(default_factory=lambda: {"default": 0.5})
    aggregation: str = "mean"
    provenance: dict[str, Any] = field(default_factory=dict)
    temperature: float = 1.0
    part_thresholds: dict[str, float] = field(default_factory=dict)
    output_stride: int = 32
    flip_average: bool = False
    content_hash: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.mean = _triple(self.mean, "mean")
        self.std = _triple(self.std, "std")
        if any(s <= 0 for s in self.std):
            raise ValueError(f"std {self.std} must be positive")
        if self.body_parts is not None:
            self.body_parts = tuple(self.body_parts)
            if self.body_parts != BODY_PARTS:
                raise ValueError(f"body-part head classes {self.body_parts} are not {BODY_PARTS}")
        self.operating_points = {str(k): float(v) for k, v in self.operating_points.items()}
        self.temperature = float(self.temperature)
        self.part_thresholds = {str(k): float(v) for k, v in self.part_thresholds.items()}
        if not isinstance(self.flip_average, bool):
            raise ValueError(f"flip_average {self.flip_average!r} is not true or false")
        self.members = [_as_arrays(m) for m in self.members]
        _validate(self)
        self.content_hash = _content_hash(_metadata(self), self.members)

    @property
    def heads(self) -> dict[str, dict[str, Any]]:
        heads: dict[str, dict[str, Any]] = {"abnormality": {"outputs": 1}}
        if self.body_parts is not None:
            heads["body_part"] = {"classes": list(self.body_parts)}
        return heads

    @property
    def feature_grid(self) -> tuple[int, int]:
        """(h, w) of the network's last feature maps, the raw heatmaps' grid."""
        return feature_grid(self.architecture, self.input_size, self.output_stride)

    @property
    def name(self) -> str:
        return str(self.provenance.get("name") or f"{self.architecture} bundle")

    @property
    def is_demo(self) -> bool:
        return bool(self.provenance.get("demo", False))

    def verdict_rule(self, threshold: float | None = None) -> VerdictRule:
        """The study rule: this bundle's aggregation, ``threshold`` or its default operating
        point (and then the per-part thresholds, if any), and an indeterminate band between
        the high-sensitivity and high-specificity points when both exist."""
        points = self.operating_points
        band = None
        if "high_sensitivity" in points and "high_specificity" in points:
            band = (points["high_sensitivity"], points["high_specificity"])
        return VerdictRule(
            aggregation=self.aggregation,
            threshold=points["default"] if threshold is None else float(threshold),
            band=band,
            part_thresholds=self.part_thresholds if threshold is None else {},
        )

    def record(self, **details: Any) -> ModelRecord:
        """The model's identity, e.g. for ``ResultSet.model``, with ``details`` added;
        ``metrics`` (the provenance's validation figures, when it has them) is shaped as in
        the provenance, so ``core.stats.summary.validation_note`` reads either."""
        metrics = self.provenance.get("metrics")
        return ModelRecord(
            name=self.name,
            content_hash=self.content_hash,
            architecture=self.architecture,
            input_size=self.input_size,
            demo=self.is_demo,
            details={
                **({"metrics": metrics} if isinstance(metrics, dict) and metrics else {}),
                "members": len(self.members),
                "heads": list(self.heads),
                "operating_points": dict(self.operating_points),
                "aggregation": self.aggregation,
                "temperature": self.temperature,
                "part_thresholds": dict(self.part_thresholds),
                "output_stride": self.output_stride,
                "flip_average": self.flip_average,
                **details,
            },
        )

    def describe(self) -> str:
        """Multi-line text for the CLI and the GUI's model panel."""
        prov = self.provenance
        lines = [
            f"{self.name}" + ("  [DEMO model: not trained for real use]" if self.is_demo else "")
        ]
        grid = "×".join(map(str, self.feature_grid))
        lines.append(
            f"  architecture      {self.architecture}, input {self.input_size}×{self.input_size}, "
            f"output stride {self.output_stride} ({grid} heatmap cells)"
        )
        if self.flip_average:
            lines.append("  test-time flips   scores and maps averaged with the mirrored view")
        norm = "ImageNet" if (self.mean, self.std) == (IMAGENET_MEAN, IMAGENET_STD) else "custom"
        lines.append(f"  normalisation     {norm} mean {_fmt(self.mean)} std {_fmt(self.std)}")
        heads = "abnormality" + (
            f"; body part ({len(self.body_parts)} classes)" if self.body_parts else ""
        )
        lines.append(f"  heads             {heads}")
        n = len(self.members)
        lines.append(
            f"  members           {n}" + (" (ensemble: mean of probabilities)" if n > 1 else "")
        )
        points = ", ".join(
            f"{k.replace('_', ' ')} {v:.3f}" for k, v in self.operating_points.items()
        )
        lines.append(f"  operating points  {points}")
        rule = self.verdict_rule()
        text = f"{rule.aggregation} of the views' probabilities ≥ {rule.threshold:.3f}"
        if rule.band is not None:
            text += f"; indeterminate in [{rule.band[0]:.3f}, {rule.band[1]:.3f})"
        if rule.part_thresholds:
            parts = ", ".join(f"{k} {v:.3f}" for k, v in rule.part_thresholds)
            text += f"; per body part: {parts}"
        lines.append(f"  study rule        {text}")
        if self.temperature != 1.0:
            lines.append(f"  calibration       temperature {self.temperature:.3f} (logit / T)")
        for key, label in (
            ("data", "trained on"),
            ("split", "split"),
            ("created", "created"),
            ("trainer_version", "trainer version"),
            ("trained_on", "training device"),
            ("notes", "notes"),
        ):
            value = prov.get(key)
            if value:
                text = ", ".join(map(str, value)) if isinstance(value, list) else value
                lines.append(f"  {label:<17} {text}")
        metrics = prov.get("metrics")
        if isinstance(metrics, Mapping) and metrics:
            shown = ", ".join(f"{k} {_fmt_value(v)}" for k, v in metrics.items() if _is_scalar(v))
            if shown:
                lines.append(f"  metrics           {shown}")
        lines.append(f"  content hash      {self.content_hash[:12]}")
        return "\n".join(lines)


def save_bundle(bundle: ModelBundle, path: str | os.PathLike[str], *, half: bool = False) -> str:
    """Write ``bundle`` to ``path`` atomically and return the content hash written.

    With ``half=True`` floating tensors are stored as float16 (half the size); they load back
    as float32, and the written hash is that of the rounded weights.
    """
    path = Path(path)
    members = [_for_storage(m, half) for m in bundle.members]
    metadata = _metadata(bundle)
    content_hash = _content_hash(metadata, members) if half else bundle.content_hash
    payload = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        **metadata,
        "storage": "float16" if half else "float32",
        "content_hash": content_hash,
        "members": members,
    }
    try:
        import torch
    except ImportError as exc:
        raise BundleError(path, "writing a model bundle needs PyTorch (the full install)") from exc

    payload["members"] = [{k: torch.from_numpy(v) for k, v in m.items()} for m in members]
    with atomic_open(path, "wb") as fh:
        torch.save(payload, fh)
    return content_hash


def load_bundle(path: str | os.PathLike[str]) -> ModelBundle:
    """Read a bundle written by ``save_bundle``; any problem raises ``BundleError``."""
    path = Path(path)
    payload = _read_torch_file(path)
    if not isinstance(payload, dict) or "format" not in payload:
        if _find_state_dict(payload) is not None:
            raise BundleError(
                path,
                "this is a plain checkpoint; use `mura-desktop import-weights` to make a bundle",
            )
        raise BundleError(path, "not a MURA Desktop model bundle (no format marker)")
    if payload["format"] != BUNDLE_FORMAT:
        raise BundleError(path, f"not a MURA Desktop model bundle (format {payload['format']!r})")
    version = payload.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise BundleError(path, f"invalid bundle format version {version!r}")
    if version > BUNDLE_VERSION:
        raise BundleError(
            path,
            f"bundle format version {version} is newer than this program understands "
            f"({BUNDLE_VERSION}); update MURA Desktop",
        )
    try:
        heads = payload["heads"]
        body_part = heads.get("body_part")
        members = payload["members"]
        if not isinstance(members, list):
            raise ValueError("'members' is not a list of state_dicts")
        bundle = ModelBundle(
            architecture=payload["architecture"],
            members=members,
            input_size=payload["input_size"],
            mean=payload["mean"],
            std=payload["std"],
            body_parts=tuple(body_part["classes"]) if body_part else None,
            operating_points=payload["operating_points"],
            aggregation=payload["aggregation"],
            provenance=payload.get("provenance") or {},
            temperature=payload.get("temperature", 1.0),
            part_thresholds=payload.get("part_thresholds") or {},
            output_stride=payload.get("output_stride", 32),
            flip_average=payload.get("flip_average", False),
        )
    except KeyError as exc:
        raise BundleError(path, f"bundle is missing the field {exc.args[0]!r}") from exc
    except (ValueError, TypeError, AttributeError) as exc:
        raise BundleError(path, str(exc)) from exc
    if payload.get("content_hash") != bundle.content_hash:
        raise BundleError(
            path, "content hash mismatch: the file was modified or damaged after it was written"
        )
    return bundle


def import_state_dict(
    path: str | os.PathLike[str],
    *,
    architecture: str | None = None,
    input_size: int = 320,
    name: str | None = None,
) -> ModelBundle:
    """Make a one-member bundle from a plain torchvision-style checkpoint.

    Accepts a DenseNet (or ResNet-50) ``state_dict`` with a one-output classifier, possibly
    nested under ``state_dict``/``model``/``model_state_dict`` and with ``module.``/``model.``
    key prefixes; old-style DenseNet names (``norm.1``) and a classifier wrapped in a
    ``Sequential`` (``classifier.0.*``) are renamed. The architecture is recognised from the
    tensor names when ``architecture`` is None; when given, it must agree with them.
    Operating points are the uncalibrated default 0.5.
    """
    path = Path(path)
    payload = _read_torch_file(path)
    if isinstance(payload, dict) and payload.get("format") == BUNDLE_FORMAT:
        raise BundleError(path, "this is already a MURA Desktop model bundle; open it directly")
    state_dict = _find_state_dict(payload)
    if state_dict is None:
        raise BundleError(path, "no state_dict (name -> tensor mapping) found in the file")
    state_dict = _canonical_keys(state_dict)
    found = _sniff_architecture(state_dict)
    if found is not None and found not in ARCHITECTURES:
        raise BundleError(
            path, f"the weights are a {found}, which is not supported ({', '.join(ARCHITECTURES)})"
        )
    if architecture is None:
        if found is None:
            raise BundleError(
                path,
                "could not recognise the architecture from the tensor names (first: "
                f"{', '.join(list(state_dict)[:3])}); pass the architecture explicitly",
            )
        architecture = found
    elif architecture not in ARCHITECTURES:
        raise BundleError(
            path, f"unknown architecture {architecture!r}; supported: {', '.join(ARCHITECTURES)}"
        )
    elif found is not None and found != architecture:
        raise BundleError(path, f"the weights are a {found}, not a {architecture}")
    if architecture == "resnet50":
        state_dict = _resnet_to_muranet(state_dict)
    _check_classifier(path, state_dict)
    body_part_head = "body_part.weight" in state_dict
    provenance = {
        "name": name or path.stem,
        "data": None,
        "split": None,
        "metrics": {},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "trainer_version": None,
        "config": {},
        "demo": False,
        "notes": f"imported from the plain checkpoint {path.name}; operating point not calibrated",
    }
    try:
        return ModelBundle(
            architecture=architecture,
            members=[state_dict],
            input_size=input_size,
            body_parts=BODY_PARTS if body_part_head else None,
            provenance=provenance,
        )
    except ValueError as exc:
        raise BundleError(path, str(exc)) from exc


# --- validation and hashing -------------------------------------------------------------


def _validate(bundle: ModelBundle) -> None:
    if bundle.architecture not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {bundle.architecture!r}; supported: {', '.join(ARCHITECTURES)}"
        )
    if not isinstance(bundle.input_size, int) or isinstance(bundle.input_size, bool):
        raise ValueError(f"input size {bundle.input_size!r} is not an integer")
    if not 32 <= bundle.input_size <= 4096:
        raise ValueError(f"input size {bundle.input_size} is outside 32..4096")
    if bundle.aggregation not in AGGREGATIONS:
        raise ValueError(
            f"unknown aggregation {bundle.aggregation!r}; expected one of {AGGREGATIONS}"
        )
    points = bundle.operating_points
    if "default" not in points:
        raise ValueError("operating points lack 'default'")
    for key, value in points.items():
        if key not in OPERATING_POINTS:
            raise ValueError(f"unknown operating point {key!r}; expected {OPERATING_POINTS}")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"operating point {key}={value} is outside [0, 1]")
    if points.get("high_sensitivity", 0.0) > points.get("high_specificity", 1.0):
        raise ValueError(
            f"high-sensitivity threshold {points['high_sensitivity']} is above the "
            f"high-specificity threshold {points['high_specificity']}"
        )
    if bundle.output_stride not in OUTPUT_STRIDES or isinstance(bundle.output_stride, bool):
        raise ValueError(
            f"output stride {bundle.output_stride!r}: expected one of {OUTPUT_STRIDES}"
        )
    if not 0.01 <= bundle.temperature <= 100.0:  # also refuses NaN
        raise ValueError(f"temperature {bundle.temperature} is outside [0.01, 100]")
    for part, value in bundle.part_thresholds.items():
        if part not in BODY_PARTS:
            raise ValueError(f"per-part threshold for unknown body part {part!r}")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"threshold {value} for {part} is outside [0, 1]")
    _check_plain(bundle.provenance, "provenance")
    if not bundle.members:
        raise ValueError("a bundle needs at least one member state_dict")
    expected = expected_shapes(bundle.architecture, bundle.body_parts is not None)
    problems = [
        f"member {i}: {problem}"
        for i, member in enumerate(bundle.members)
        if (problem := _compare_shapes(member, expected))
    ]
    if problems:
        raise ValueError(f"weights do not fit {bundle.architecture}: " + "; ".join(problems))
    for i, member in enumerate(bundle.members):
        bad = non_finite_tensors(member)
        if bad:
            raise ValueError(
                f"member {i}: {len(bad)} tensor(s) hold NaN or infinite values (e.g. "
                f"{', '.join(bad[:3])}); such weights score every study as nonsense"
            )


def non_finite_tensors(state: Mapping[str, Any]) -> list[str]:
    """Names of the floating-point tensors (numpy or torch) in ``state`` holding NaN or
    infinity."""
    arrays = {name: _as_array(value) for name, value in state.items()}
    return [
        name
        for name, array in arrays.items()
        if isinstance(array, np.ndarray)
        and np.issubdtype(array.dtype, np.floating)
        and not bool(np.isfinite(array).all())
    ]


def _as_array(value: Any) -> Any:
    """A torch tensor as a numpy array (floating ones as float32), anything else as is."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        value = value.detach().cpu()
        value = (value.float() if value.is_floating_point() else value).numpy()
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        value = value.astype(np.float32, copy=False)
    return value


def _as_arrays(member: Any) -> dict[str, Any]:
    if not isinstance(member, Mapping):
        raise ValueError("a member is not a state_dict")
    return {key: _as_array(value) for key, value in member.items()}


def _compare_shapes(member: Mapping[str, Any], expected: Mapping[str, tuple[int, ...]]) -> str:
    """'' when ``member`` has exactly the expected tensors, else a short summary."""
    not_tensors = [k for k, v in member.items() if not isinstance(v, np.ndarray)]
    if not_tensors:
        return f"{len(not_tensors)} entries are not tensors ({_names(not_tensors)})"
    missing = [k for k in expected if k not in member]
    unexpected = [k for k in member if k not in expected]
    wrong = [
        f"{k} {tuple(member[k].shape)} instead of {expected[k]}"
        for k in expected
        if k in member and tuple(member[k].shape) != expected[k]
    ]
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing tensors ({_names(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected tensors ({_names(unexpected)})")
    if wrong:
        parts.append(f"{len(wrong)} with wrong shapes ({_names(wrong)})")
    return ", ".join(parts)


def _names(items: list[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", … {len(items) - limit} more" if len(items) > limit else "")


def _check_plain(value: Any, where: str) -> None:
    """Provenance must be plain data: it is hashed as JSON and loaded with weights_only."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where} has a non-string key {key!r}")
            _check_plain(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
    elif not isinstance(value, _PLAIN_TYPES):
        raise ValueError(f"{where} is a {type(value).__name__}; only plain values are stored")


def _metadata(bundle: ModelBundle) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "architecture": bundle.architecture,
        "input_size": bundle.input_size,
        "mean": list(bundle.mean),
        "std": list(bundle.std),
        "heads": bundle.heads,
        "operating_points": dict(bundle.operating_points),
        "aggregation": bundle.aggregation,
        "provenance": bundle.provenance,
    }
    # Stored only when set, so that bundles from before these fields keep their hash.
    if bundle.temperature != 1.0:
        metadata["temperature"] = bundle.temperature
    if bundle.part_thresholds:
        metadata["part_thresholds"] = dict(sorted(bundle.part_thresholds.items()))
    if bundle.output_stride != 32:
        metadata["output_stride"] = bundle.output_stride
    if bundle.flip_average:
        metadata["flip_average"] = True
    return metadata


def _content_hash(metadata: dict[str, Any], members: list[dict[str, np.ndarray]]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(metadata, sort_keys=True, separators=(",", ":")).encode())
    for member in members:
        digest.update(b"\x00member")
        for key in sorted(member):
            array = _as_array(member[key])
            digest.update(f"\x00{key}:{array.dtype.str}:{array.shape}".encode())
            digest.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data)
    return digest.hexdigest()


def _triple(values: Any, what: str) -> tuple[float, float, float]:
    try:
        triple = tuple(float(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} {values!r} is not three numbers") from exc
    if len(triple) != 3:
        raise ValueError(f"{what} {values!r} is not three numbers")
    return triple  # type: ignore[return-value]


# --- reading and writing ----------------------------------------------------------------

# torch.save stores zip members uncompressed; a member claiming far more bytes than it
# occupies is a decompression bomb (1.5 GB of zeros in 1.5 MB), refused before reading.
_INFLATION_SLACK = 1 << 20


def _refuse_inflating_archive(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BundleError(path, f"truncated or damaged file ({exc})") from exc
    for info in members:
        if info.file_size > 2 * info.compress_size + _INFLATION_SLACK:
            raise BundleError(
                path,
                f"member {info.filename!r} would inflate from {info.compress_size:,} to "
                f"{info.file_size:,} bytes: not a file PyTorch wrote (refused unread)",
            )


def _read_torch_file(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_LEGACY_TORCH_MAGIC))
    except FileNotFoundError as exc:
        raise BundleError(path, "file not found") from exc
    except IsADirectoryError as exc:
        raise BundleError(path, "is a folder, not a model file") from exc
    except OSError as exc:
        raise BundleError(path, f"cannot read the file: {exc.strerror or exc}") from exc
    if not head:
        raise BundleError(path, "empty file")
    if not (head.startswith(_ZIP_MAGIC) or head == _LEGACY_TORCH_MAGIC):
        raise BundleError(path, "not a PyTorch file")
    try:
        if head.startswith(_ZIP_MAGIC):
            _refuse_inflating_archive(path)
            return read_torch_archive(path)
        return _read_legacy_torch_file(path)
    except pickle.UnpicklingError as exc:
        if "global" in str(exc).lower():
            raise BundleError(
                path,
                "contains executable pickled objects; refusing to load (a whole pickled model "
                "or custom classes: save its state_dict instead)",
            ) from exc
        raise BundleError(path, "damaged or not a PyTorch file (unreadable pickle)") from exc
    except (RuntimeError, EOFError, KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        detail = str(exc).split(".")[0][:160]
        raise BundleError(path, f"truncated or damaged file ({detail})") from exc


def _read_legacy_torch_file(path: Path) -> Any:
    """A checkpoint in PyTorch's pre-1.6 format, which only torch reads: tensors as numpy."""
    try:
        import torch
    except ImportError as exc:
        raise BundleError(
            path, "an old-format PyTorch file; reading it needs the full install (with torch)"
        ) from exc
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(payload, Mapping):
        return {key: _from_legacy(value) for key, value in payload.items()}
    return payload


def _from_legacy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _from_legacy(item) for key, item in value.items()}
    return _as_array(value)


def _for_storage(member: Mapping[str, np.ndarray], half: bool) -> dict[str, np.ndarray]:
    stored = {}
    for key, array in member.items():
        array = np.asarray(array, order="C")  # (ascontiguousarray makes a scalar 1-d)
        if half and np.issubdtype(array.dtype, np.floating):
            with np.errstate(over="ignore"):
                halved = array.astype(np.float16)
            if not np.isfinite(halved).all() and np.isfinite(array).all():
                raise ValueError(f"{key} has values beyond float16 range; save with half=False")
            array = halved
        stored[key] = array
    return stored


# --- importing plain checkpoints --------------------------------------------------------

_NESTING_KEYS = ("state_dict", "model_state_dict", "model", "net", "network")
_PREFIXES = ("module.", "model.")
_OLD_DENSENET_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)
_DENSENET_BLOCKS = {
    (6, 12, 24, 16): "densenet121",
    (6, 12, 32, 32): "densenet169",
    (6, 12, 48, 32): "densenet201",
}
_RESNET_BLOCKS = {(3, 4, 6, 3): "resnet50"}


def _is_state_dict(obj: Any) -> bool:
    return (
        isinstance(obj, Mapping)
        and bool(obj)
        and all(isinstance(k, str) for k in obj)
        and all(isinstance(v, np.ndarray) for v in obj.values())
    )


def _find_state_dict(obj: Any, depth: int = 0) -> dict[str, np.ndarray] | None:
    if _is_state_dict(obj):
        return dict(obj)
    if not isinstance(obj, Mapping) or depth > 2:
        return None
    for key in _NESTING_KEYS:
        if key in obj and (found := _find_state_dict(obj[key], depth + 1)) is not None:
            return found
    return None


def _canonical_keys(state_dict: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if all(k.startswith(prefix) for k in state_dict):
                state_dict = {k[len(prefix) :]: v for k, v in state_dict.items()}
                changed = True
    renamed = {}
    for key, value in state_dict.items():
        match = _OLD_DENSENET_KEY.match(key)
        renamed[match.group(1) + match.group(2) if match else key] = value
    if "classifier.0.weight" in renamed and not any(
        k.startswith("classifier.") and not k.startswith("classifier.0.") for k in renamed
    ):
        renamed = {k.replace("classifier.0.", "classifier.", 1): v for k, v in renamed.items()}
    # Checkpoints from before PyTorch 0.4.1 lack BatchNorm's step counter.
    for key in [k for k in renamed if k.endswith(".running_mean")]:
        counter = key[: -len("running_mean")] + "num_batches_tracked"
        renamed.setdefault(counter, np.array(0, dtype=np.int64))
    return renamed


def _blocks_per_stage(keys: list[str], pattern: str, first_index: int) -> tuple[int, ...]:
    """Highest block index per stage (``pattern`` captures stage and index), as counts."""
    regex = re.compile(pattern)
    counts = [0, 0, 0, 0]
    for key in keys:
        if (m := regex.match(key)) and 1 <= int(m.group(1)) <= 4:
            stage = int(m.group(1)) - 1
            counts[stage] = max(counts[stage], int(m.group(2)) + 1 - first_index)
    return tuple(counts)


def _sniff_architecture(state_dict: Mapping[str, np.ndarray]) -> str | None:
    """A name from ``ARCHITECTURES``, a description of an unsupported network, or None."""
    keys = list(state_dict)
    if any(k.startswith("features.denseblock") for k in keys):
        counts = _blocks_per_stage(keys, r"^features\.denseblock(\d)\.denselayer(\d+)\.", 1)
        return _DENSENET_BLOCKS.get(counts, f"DenseNet with {counts} layers per block")
    if any(re.match(r"^(features\.)?layer4\.", k) for k in keys):
        counts = _blocks_per_stage(keys, r"^(?:features\.)?layer(\d)\.(\d+)\.", 0)
        if any(".conv3." in k for k in keys) and counts in _RESNET_BLOCKS:
            return _RESNET_BLOCKS[counts]
        return f"ResNet with {counts} blocks per stage"
    return None


def _resnet_to_muranet(state_dict: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    converted = {}
    for key, value in state_dict.items():
        if key.startswith("fc."):
            key = "classifier." + key[3:]
        elif not key.startswith(("features.", "classifier.", "body_part.")):
            key = "features." + key
        converted[key] = value
    return converted


def _check_classifier(path: Path, state_dict: Mapping[str, np.ndarray]) -> None:
    weight = state_dict.get("classifier.weight")
    if weight is None:
        raise BundleError(path, "no classifier tensors (classifier.weight / fc.weight) found")
    outputs = weight.shape[0] if weight.ndim == 2 else None
    if outputs == 1:
        return
    if outputs == 1000:
        hint = "this looks like an ImageNet classifier, not a MURA model"
    elif outputs == 2:
        hint = "a two-output (softmax) head is not supported; export a single-logit model"
    else:
        hint = f"classifier.weight has shape {tuple(weight.shape)}"
    raise BundleError(
        path, f"the classifier has {outputs} outputs, a MURA model has 1 abnormality logit: {hint}"
    )


def _fmt(values: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in values) + ")"


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)


def _fmt_value(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
