"""The training configuration: one dataclass, its command-line flags, and its JSON file.

Defaults are the MURA paper's recipe (Rajpurkar et al. 2017). Every run directory holds the
resolved configuration as ``config.json``; ``--resume`` reads it back and lets only the
settings in ``RESUMABLE`` change.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from mura_desktop.core.study import BODY_PARTS
from mura_desktop.inference.architectures import ARCHITECTURES, OUTPUT_STRIDES

LOSSES = ("wbce", "focal")
CLASS_WEIGHT_MODES = ("part-studies", "part-images", "global", "none")
SELECT_METRICS = ("valid_loss", "kappa", "auroc")
AMP_MODES = ("auto", "off", "fp16", "bf16")
SCHEDULES = ("plateau", "cosine")
CONFIG_FILE = "config.json"

RESUMABLE = frozenset({
    "epochs", "lr", "device", "workers", "threads", "early_stop_patience", "log_every", "cache_dir",
    "amp", "compile", "export_top_k", "demo", "name", "flip_average",
})  # fmt: skip
"""Settings a resumed run may change; the rest would make it a different experiment."""


@dataclass
class TrainConfig:
    """Everything that defines a training run. Paths are stored as strings (JSON-friendly)."""

    data: str = ""
    out: str = ""
    parts: list[str] = field(default_factory=list)
    valid_fraction: float | None = None
    arch: str = "densenet169"
    init: str = "imagenet"
    size: int = 320
    output_stride: int = 32
    batch_size: int = 8
    epochs: int = 20
    lr: float = 1e-4
    weight_decay: float = 0.0
    schedule: str = "plateau"
    plateau_patience: int = 1
    plateau_factor: float = 0.1
    loss: str = "wbce"
    focal_gamma: float = 2.0
    class_weights: str = "part-studies"
    flip: bool = True
    rotation: float = 30.0
    contrast: float = 0.0
    cam_equivariance: float = 0.0
    body_part_head: bool = False
    body_part_loss_weight: float = 0.5
    select_metric: str = "valid_loss"
    keep_best: int = 5
    early_stop_patience: int = 0
    export_top_k: int = 1
    sensitivity_target: float = 0.95
    specificity_target: float = 0.95
    seed: int = 0
    device: str = "auto"
    workers: int = field(default_factory=lambda: min(8, max(1, (os.cpu_count() or 2) - 1)))
    threads: int = 0
    amp: str = "auto"
    compile: bool = False
    channels_last: bool = True
    cache_dir: str | None = None
    log_every: int = 20
    demo: bool = False
    name: str | None = None
    flip_average: bool = False

    def __post_init__(self) -> None:
        self.parts = [p.upper() for p in self.parts]
        problems = []
        if self.arch not in ARCHITECTURES:
            problems.append(f"--arch {self.arch!r}: choose one of {', '.join(ARCHITECTURES)}")
        unknown = [p for p in self.parts if p not in BODY_PARTS]
        if unknown:
            problems.append(f"--parts {','.join(unknown)}: known parts are {','.join(BODY_PARTS)}")
        if self.valid_fraction is not None and not 0.0 < self.valid_fraction < 1.0:
            problems.append(f"--split-valid-fraction {self.valid_fraction} must be in (0, 1)")
        for name, value in (
            ("--size", self.size),
            ("--batch-size", self.batch_size),
            ("--epochs", self.epochs),
            ("--log-every", self.log_every),
            ("--keep-best", self.keep_best),
            ("--top-k", self.export_top_k),
        ):
            if value < 1:
                problems.append(f"{name} {value} must be at least 1")
        if self.size < 32:
            problems.append(f"--size {self.size} must be at least 32 px")
        if self.workers < 0:
            problems.append(f"--workers {self.workers} must be >= 0")
        if self.threads < 0:
            problems.append(f"--threads {self.threads} must be >= 0")
        if not self.lr > 0:
            problems.append(f"--lr {self.lr} must be positive")
        if not 0.0 <= self.contrast < 1.0:
            problems.append(f"--contrast {self.contrast} must be in [0, 1)")
        if not (math.isfinite(self.cam_equivariance) and self.cam_equivariance >= 0.0):
            problems.append(f"--cam-equivariance {self.cam_equivariance} must be >= 0")
        if not 0.0 <= self.rotation <= 180.0:
            problems.append(f"--rotation {self.rotation} must be in [0, 180] degrees")
        for name, value, allowed in (
            ("--loss", self.loss, LOSSES),
            ("--class-weights", self.class_weights, CLASS_WEIGHT_MODES),
            ("--select", self.select_metric, SELECT_METRICS),
            ("--amp", self.amp, AMP_MODES),
            ("--schedule", self.schedule, SCHEDULES),
        ):
            if value not in allowed:
                problems.append(f"{name} {value!r}: choose one of {', '.join(allowed)}")
        if self.output_stride not in OUTPUT_STRIDES:
            problems.append(
                f"--output-stride {self.output_stride}: choose one of "
                f"{', '.join(map(str, OUTPUT_STRIDES))}"
            )
        if self.export_top_k > self.keep_best:
            problems.append(f"--top-k {self.export_top_k} exceeds --keep-best {self.keep_best}")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, run_dir: str | os.PathLike[str]) -> Path:
        path = Path(run_dir) / CONFIG_FILE
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str]) -> TrainConfig:
        path = Path(run_dir) / CONFIG_FILE
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise ValueError(f"{path}: no run configuration here; is this a run folder?") from exc
        except (OSError, json.JSONDecodeError, TypeError) as exc:
            raise ValueError(f"{path}: unreadable run configuration: {exc}") from exc

    def with_overrides(self, overrides: dict[str, Any]) -> TrainConfig:
        """This config with ``overrides`` applied; only ``RESUMABLE`` settings may change."""
        frozen = sorted(
            k for k, v in overrides.items() if k not in RESUMABLE and getattr(self, k) != v
        )
        if frozen:
            flags = ", ".join("--" + k.replace("_", "-") for k in frozen)
            raise ValueError(
                f"{flags} cannot change when resuming (start a new run instead); "
                f"resumable settings: {', '.join(sorted(RESUMABLE))}"
            )
        return replace(self, **overrides)


def add_fit_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``mura-train fit``. Defaults are SUPPRESSed so that ``--resume`` can tell
    which flags the user actually gave; the shown defaults come from ``TrainConfig``."""
    d = TrainConfig()
    s = argparse.SUPPRESS
    parser.add_argument(
        "data", nargs="?", default=s, help="dataset folder (MURA-v1.1 or any labelled tree)"
    )
    parser.add_argument("--out", default=s, help="run folder (default runs/<date-time>)")
    parser.add_argument(
        "--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint"
    )
    g = parser.add_argument_group("data")
    g.add_argument(
        "--parts",
        type=_csv_list,
        default=s,
        help="comma-separated body parts to use, e.g. wrist,hand (default: all "
        f"{','.join(BODY_PARTS)})",
    )
    g.add_argument(
        "--split-valid-fraction",
        dest="valid_fraction",
        type=float,
        default=s,
        help="hold out this fraction of the training studies, grouped by patient, instead of "
        "the shipped valid split",
    )
    g.add_argument("--cache-dir", default=s, help="resized-image cache (default: user cache dir)")
    g.add_argument("--workers", type=int, default=s, help=f"DataLoader workers ({d.workers})")
    m = parser.add_argument_group("model")
    m.add_argument("--arch", default=s, choices=ARCHITECTURES, help=f"network ({d.arch})")
    m.add_argument(
        "--init",
        default=s,
        help="imagenet (torchvision weights, needs the network), random, or a state_dict file "
        f"({d.init})",
    )
    m.add_argument("--size", type=int, default=s, help=f"input size in px ({d.size})")
    m.add_argument(
        "--output-stride",
        type=int,
        default=s,
        choices=OUTPUT_STRIDES,
        help="input pixels per heatmap cell: 16 dilates the last stage for twice finer "
        f"maps, same parameters ({d.output_stride})",
    )
    m.add_argument(
        "--body-part-head",
        action="store_true",
        default=s,
        help="also learn to predict the body part (multi-task)",
    )
    o = parser.add_argument_group("optimisation")
    o.add_argument("--batch-size", type=int, default=s, help=f"images per batch ({d.batch_size})")
    o.add_argument("--epochs", type=int, default=s, help=f"epochs ({d.epochs})")
    o.add_argument("--lr", type=float, default=s, help=f"Adam learning rate ({d.lr:g})")
    o.add_argument("--weight-decay", type=float, default=s, help=f"({d.weight_decay:g})")
    o.add_argument(
        "--schedule",
        default=s,
        choices=SCHEDULES,
        help="plateau: the paper's lr ÷10 when the validation loss stalls; cosine: a short "
        "linear warm-up, then a cosine decay to zero over all epochs, stepped every batch "
        f"(for short runs from random weights) ({d.schedule})",
    )
    o.add_argument(
        "--plateau-patience",
        type=int,
        default=s,
        help=f"epochs without valid-loss improvement before lr ÷10 ({d.plateau_patience})",
    )
    o.add_argument("--loss", default=s, choices=LOSSES, help=f"({d.loss})")
    o.add_argument("--focal-gamma", type=float, default=s, help=f"({d.focal_gamma:g})")
    o.add_argument(
        "--class-weights",
        default=s,
        choices=CLASS_WEIGHT_MODES,
        help="part-studies: the paper's per-body-part weights from study counts; part-images: "
        "from image counts; global: one pair for all parts; none "
        f"({d.class_weights})",
    )
    o.add_argument(
        "--no-flip", dest="flip", action="store_false", default=s, help="no horizontal flips"
    )
    o.add_argument("--rotation", type=float, default=s, help=f"max rotation, deg ({d.rotation:g})")
    o.add_argument(
        "--contrast", type=float, default=s, help="contrast jitter amplitude, e.g. 0.2 (off)"
    )
    o.add_argument(
        "--cam-equivariance",
        type=float,
        default=s,
        metavar="WEIGHT",
        help="weight of a term that makes the heatmap follow the image when it is mirrored: "
        "each batch is scored again mirrored (left-right, up-down or both) and the two "
        "class-activation maps are pulled together, so a map cannot peak beside its "
        "evidence; twice the work per step (0 = off, the paper's recipe)",
    )
    o.add_argument(
        "--select",
        dest="select_metric",
        default=s,
        choices=SELECT_METRICS,
        help=f"metric that ranks checkpoints ({d.select_metric})",
    )
    o.add_argument("--keep-best", type=int, default=s, help=f"checkpoints kept ({d.keep_best})")
    o.add_argument(
        "--early-stop",
        dest="early_stop_patience",
        type=int,
        default=s,
        help="stop after this many epochs without improvement (0 = off)",
    )
    o.add_argument("--seed", type=int, default=s, help=f"({d.seed})")
    r = parser.add_argument_group("runtime")
    r.add_argument("--device", default=s, help="auto, cpu, cuda, cuda:N (auto)")
    r.add_argument(
        "--threads", type=int, default=s, help="CPU threads for torch (0 = torch's default)"
    )
    r.add_argument(
        "--amp",
        default=s,
        choices=AMP_MODES,
        help="mixed precision: auto = bf16 (or fp16) on CUDA; on the CPU bf16 where a short "
        "measured probe finds it faster (kept per machine), else off; fp16 applies to CUDA only",
    )
    r.add_argument("--compile", action="store_true", default=s, help="torch.compile the model")
    r.add_argument(
        "--no-channels-last", dest="channels_last", action="store_false", default=s, help=""
    )
    r.add_argument(
        "--log-every", type=int, default=s, help=f"steps between step events ({d.log_every})"
    )
    x = parser.add_argument_group("export at the end")
    x.add_argument(
        "--top-k",
        dest="export_top_k",
        type=int,
        default=s,
        help=f"ensemble of the best k checkpoints in run/model.mura ({d.export_top_k})",
    )
    x.add_argument("--demo", action="store_true", default=s, help="mark the bundle as a demo model")
    x.add_argument("--name", default=s, help="model name shown in the viewer")
    x.add_argument(
        "--flip-average",
        action="store_true",
        default=s,
        help="the bundle also scores each view mirrored and averages scores and heatmaps",
    )


def _csv_list(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, bool]:
    """The run's config and whether it resumes. Raises ``ValueError`` with a user message."""
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    if args.resume:
        run_dir = Path(args.resume)
        saved = TrainConfig.load(run_dir)
        given.pop("out", None)
        if "data" in given and Path(given["data"]).resolve() != Path(saved.data).resolve():
            raise ValueError(f"the run in {run_dir} trained on {saved.data}, not {given['data']}")
        given.pop("data", None)
        return replace(saved.with_overrides(given), out=str(run_dir)), True
    if "data" not in given:
        raise ValueError("give a dataset folder (mura-train fit DATASET) or --resume RUN_DIR")
    if "out" not in given:
        from datetime import datetime

        given["out"] = str(Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S"))
    return TrainConfig(**given), False
