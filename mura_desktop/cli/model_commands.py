"""``mura-desktop import-weights`` and ``mura-desktop model-info``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_FATAL = 2


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="torchvision-style state_dict (.pth/.pt)")
    parser.add_argument("output", type=Path, help="model bundle to write (.mura)")
    parser.add_argument(
        "--arch",
        default=None,
        help="densenet121/169/201 or resnet50 (default: read from the weights)",
    )
    parser.add_argument(
        "--input-size", type=int, default=320, help="input size in px (default 320)"
    )
    parser.add_argument("--name", help="model name shown in the viewer")


def run_import(args: argparse.Namespace) -> int:
    from mura_desktop.inference.bundle import BundleError, import_state_dict, save_bundle

    if args.output.exists():
        print(f"error: {args.output} exists; choose another name", file=sys.stderr)
        return EXIT_FATAL
    try:
        bundle = import_state_dict(
            args.checkpoint,
            architecture=args.arch,
            input_size=args.input_size,
            name=args.name,
        )
        save_bundle(bundle, args.output)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    print(f"wrote {args.output}\n{bundle.describe()}")
    return EXIT_OK


def add_info_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, help="model bundle (.mura)")


def run_info(args: argparse.Namespace) -> int:
    from mura_desktop.inference.bundle import BundleError, load_bundle

    try:
        bundle = load_bundle(args.bundle)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    print(bundle.describe())
    return EXIT_OK
