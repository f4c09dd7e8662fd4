"""``mura-desktop``: the viewer, and headless subcommands (``predict``, ``import-weights``, ...)."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from collections.abc import Sequence

from mura_desktop import __version__
from mura_desktop.inference.threads import prefer_passive_waiting

SUBCOMMANDS = ("predict", "listen", "import-weights", "model-info")


VIEWER_USAGE = "mura-desktop [--model BUNDLE] [PATH ...]"
VIEWER_DESCRIPTION = (
    "Open the MURA Desktop viewer, optionally with study/patient/dataset folders, image "
    "files, DICOMs or a saved results file."
)


def build_parser() -> argparse.ArgumentParser:
    from mura_desktop.cli import listen, model_commands, predict

    parser = argparse.ArgumentParser(
        prog="mura-desktop",
        description="MURA Desktop: musculoskeletal radiograph abnormality viewer. "
        "Research use only; not a medical device.",
        epilog=f"Without a subcommand, opens the viewer: {VIEWER_USAGE}",
    )
    parser.add_argument("--version", action="version", version=f"mura-desktop {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_viewer_arguments(sub.add_parser("view", help="open the viewer (the default)"))
    p = sub.add_parser("predict", help="score studies headlessly")
    predict.add_arguments(p)
    p.set_defaults(run=predict.run)
    p = sub.add_parser("listen", help="a DICOM node (C-STORE SCP) that scores what it receives")
    listen.add_arguments(p)
    p.set_defaults(run=listen.run)
    p = sub.add_parser(
        "import-weights", help="turn a plain DenseNet state_dict into a model bundle"
    )
    model_commands.add_import_arguments(p)
    p.set_defaults(run=model_commands.run_import)
    p = sub.add_parser("model-info", help="show a model bundle's provenance")
    model_commands.add_info_arguments(p)
    p.set_defaults(run=model_commands.run_info)
    return parser


def build_viewer_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mura-desktop",
        usage=VIEWER_USAGE,
    )
    add_viewer_arguments(parser)
    return parser


def add_viewer_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = VIEWER_DESCRIPTION
    parser.add_argument("paths", nargs="*", help="what to open")
    parser.add_argument("--model", help="model bundle (.mura) to load instead of the last one")


def main(argv: Sequence[str] | None = None) -> int:
    multiprocessing.freeze_support()  # a frozen build's worker processes start here
    prefer_passive_waiting()  # before anything loads torch
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--self-test":  # smoke test of a build: samples + demo model
        from mura_desktop.gui.self_test import run_self_test

        return run_self_test(argv[1:])
    if argv and (argv[0] in SUBCOMMANDS or argv[0] in ("-h", "--help", "--version")):
        args = build_parser().parse_args(argv)
        return args.run(args)
    if argv and argv[0] == "view":
        argv = argv[1:]
    args = build_viewer_parser().parse_args(argv)
    from mura_desktop.gui.app import run_viewer  # Qt only for the viewer, never for subcommands

    return run_viewer(args.paths, args.model)


if __name__ == "__main__":
    sys.exit(main())
