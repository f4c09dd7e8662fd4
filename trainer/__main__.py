"""``mura-train``: synthetic data, training, evaluation and export of model bundles."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from mura_desktop.phantoms import cli as phantoms_cli

    parser = argparse.ArgumentParser(prog="mura-train", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "phantoms", help="write a synthetic MURA-layout dataset with ground-truth masks"
    )
    phantoms_cli.add_arguments(p)
    p.set_defaults(run=phantoms_cli.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
