"""``mura-train``: synthetic data, training, evaluation and export of model bundles."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from mura_desktop.inference.threads import prefer_passive_waiting

# Before torch loads OpenMP: threads that sleep instead of spinning when they wait. On a CPU
# shared with the viewer (or anything else) spinning threads make training many times slower.
prefer_passive_waiting()

from trainer import commands  # noqa: E402 (after the wait policy)


def build_parser() -> argparse.ArgumentParser:
    from mura_desktop.phantoms import cli as phantoms_cli

    parser = argparse.ArgumentParser(prog="mura-train", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "phantoms", help="write a synthetic MURA-layout dataset with ground-truth masks"
    )
    phantoms_cli.add_arguments(p)
    p.set_defaults(run=phantoms_cli.run)
    p = sub.add_parser(
        "fit",
        help="train on a dataset (or --resume a run); writes RUN_DIR/model.mura",
        description=commands.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands.add_fit_arguments(p)
    p.set_defaults(run=commands.run_fit)
    p = sub.add_parser("evaluate", help="study-level metrics of a bundle or run on a dataset")
    commands.add_evaluate_arguments(p)
    p.set_defaults(run=commands.run_evaluate)
    p = sub.add_parser(
        "compare", help="two models (bundles, runs or results files) paired on the same studies"
    )
    commands.add_compare_arguments(p)
    p.set_defaults(run=commands.run_compare)
    p = sub.add_parser("export", help="bundle a run's best checkpoint(s) for the viewer")
    commands.add_export_arguments(p)
    p.set_defaults(run=commands.run_export)
    return parser


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C while torch loads: a KeyboardInterrupt raised inside its C++ start-up
    aborts the process ("terminate called ... KeyboardInterrupt") instead of stopping it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command != "phantoms":
            with _interrupts_held():
                import torchvision  # noqa: F401 - loads torch too

        return args.run(args)
    except KeyboardInterrupt:  # Ctrl-C while starting up (imports, scanning): no traceback
        print("interrupted", file=sys.stderr)
        return commands.EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
