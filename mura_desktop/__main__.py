"""``mura-desktop``: the viewer, and headless subcommands (``predict``, ``import-weights``, ...)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mura_desktop import __version__

SUBCOMMANDS = ("predict", "import-weights", "model-info")


def build_parser() -> argparse.ArgumentParser:
    from mura_desktop.cli import model_commands, predict

    parser = argparse.ArgumentParser(
        prog="mura-desktop",
        description="MURA Desktop: musculoskeletal radiograph abnormality viewer. "
        "Research use only; not a medical device.",
    )
    parser.add_argument("--version", action="version", version=f"mura-desktop {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="score studies headlessly")
    predict.add_arguments(p)
    p.set_defaults(run=predict.run)
    p = sub.add_parser(
        "import-weights", help="turn a plain DenseNet state_dict into a model bundle"
    )
    model_commands.add_import_arguments(p)
    p.set_defaults(run=model_commands.run_import)
    p = sub.add_parser("model-info", help="show a model bundle's provenance")
    model_commands.add_info_arguments(p)
    p.set_defaults(run=model_commands.run_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
