"""``mura-desktop listen``: a DICOM node that scores the studies sent to it."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from mura_desktop.core.output_guard import OutputRefused, check_output_folder
from mura_desktop.core.resources import default_model_path
from mura_desktop.node.listener import Listener, NodeEvent
from mura_desktop.node.scu import parse_node
from mura_desktop.node.store import FOLDERS, StudyStore

EXIT_OK = 0
EXIT_FATAL = 2
OUR_FOLDERS = (*FOLDERS, "results", "dicom")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=11112, help="port (default 11112)")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default all)")
    parser.add_argument("--ae-title", default="MURA", help="this node's AE title (default MURA)")
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR",
        help="where studies, results JSON and DICOM results go",
    )  # fmt: skip
    parser.add_argument("--model", type=Path, help="model bundle (.mura); default: the bundled one")
    parser.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda")
    parser.add_argument(
        "--threshold", type=float, help="decision threshold (default: the bundle's)"
    )
    parser.add_argument(
        "--quiet-period", type=float, default=5.0, metavar="S",
        help="a study is complete S seconds after its last instance (default 5)",
    )  # fmt: skip
    parser.add_argument(
        "--allow-ae", action="append", default=[], metavar="AET",
        help="accept associations only from this calling AE title (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--dicom-results", action="store_true",
        help="also write the SR and heatmap Secondary Captures (DIR/dicom/<StudyInstanceUID>/)",
    )  # fmt: skip
    parser.add_argument(
        "--send-to", metavar="AET@HOST:PORT",
        help="C-STORE the SR and Secondary Captures to this node (implies --dicom-results)",
    )  # fmt: skip
    parser.add_argument(
        "--min-free-mb", type=int, default=64,
        help="refuse instances (status 0xA700) when less than this would stay free (default 64)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from mura_desktop.inference.bundle import BundleError, load_bundle
    from mura_desktop.node.scoring import StudyScorer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("pynetdicom").setLevel(logging.ERROR)
    logging.getLogger("highdicom").setLevel(logging.WARNING)  # not a line per copied module
    err = sys.stderr
    try:
        send_to = parse_node(args.send_to) if args.send_to else None
        if args.quiet_period < 0:
            raise ValueError(f"--quiet-period {args.quiet_period} must be 0 or more")
        check_output_folder(args.out, [], is_ours=lambda p: _is_ours(p, args.out))
    except (ValueError, OutputRefused) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FATAL
    model_path = args.model or default_model_path()
    if model_path is None:
        print("error: no model bundle given and none is bundled (see `predict --help`)", file=err)
        return EXIT_FATAL
    try:
        bundle = load_bundle(model_path)
        scorer = StudyScorer(
            bundle, args.out, device=args.device, threshold=args.threshold,
            dicom_results=args.dicom_results, send_to=send_to, calling_ae_title=args.ae_title,
        )  # fmt: skip
    except (BundleError, ValueError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FATAL
    if bundle.is_demo:
        print("warning: DEMO MODEL: not for real radiographs", file=err)
    listener = Listener(
        StudyStore(args.out, min_free_bytes=args.min_free_mb << 20), scorer,
        ae_title=args.ae_title, host=args.host, port=args.port,
        quiet_seconds=args.quiet_period, allow_ae=args.allow_ae, on_event=_print_scored,
    )  # fmt: skip
    try:
        listener.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=err)
        scorer.close()
        return EXIT_FATAL
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    print(f"listening as {args.ae_title} on port {listener.port}; Ctrl+C stops", file=err)
    stopped.wait()
    listener.stop()
    scorer.close()
    return EXIT_OK


def _print_scored(event: NodeEvent) -> None:
    if event.kind != "scored":
        return
    scored = event.payload
    result = scored.result
    if result is None or result.probability is None:
        print(f"   —    unscored      {scored.study_uid}", flush=True)
    else:
        print(f"{result.probability:6.3f}  {result.verdict:<13} {scored.study_uid}", flush=True)
    for problem in scored.problems:
        print(f"warning: {scored.study_uid}: {problem}", file=sys.stderr, flush=True)


def _is_ours(path: Path, out: Path) -> bool:
    parts = path.relative_to(out).parts
    return len(parts) > 1 and parts[0] in OUR_FOLDERS
