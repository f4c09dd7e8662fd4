"""``python -m mura_desktop.phantoms.cli OUT ...``: write a synthetic MURA-style dataset."""

from __future__ import annotations

import argparse
import os
import sys

from mura_desktop.core.study import BODY_PARTS
from mura_desktop.phantoms.dataset import OutputNotEmptyError, generate_dataset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the phantom generator's options to ``parser``."""
    parser.add_argument(
        "out", metavar="OUT", help="output folder (created; must be empty or a phantom dataset)"
    )
    parser.add_argument("--studies", type=int, default=100, help="number of studies (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--size", type=int, default=384, help="long side of each image in pixels (default 384)"
    )
    parser.add_argument(
        "--parts",
        default=",".join(BODY_PARTS),
        help="comma-separated body parts (default: all seven)",
    )
    parser.add_argument("--abnormal-fraction", type=float, default=0.45, help="default 0.45")
    parser.add_argument(
        "--valid-fraction", type=float, default=0.2, help="patients in valid (default 0.2)"
    )
    parser.add_argument(
        "--dicom", action="store_true", help="also write DICOM copies under OUT/dicom"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (default: CPU count)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty folder that is not a phantom dataset",
    )


def run(args: argparse.Namespace) -> int:
    """Generate the dataset ``args`` describe; print a one-line summary. Returns an exit code."""
    parts = [p.strip().upper().removeprefix("XR_") for p in args.parts.split(",") if p.strip()]
    try:
        summary = generate_dataset(
            args.out,
            args.studies,
            seed=args.seed,
            size=args.size,
            parts=parts,
            abnormal_fraction=args.abnormal_fraction,
            valid_fraction=args.valid_fraction,
            dicom=args.dicom,
            workers=max(1, args.workers),
            force=args.force,
        )
    except (OutputNotEmptyError, ValueError) as exc:
        print(f"phantoms: {exc}", file=sys.stderr)
        return 2
    print(summary.line())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="phantoms", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
