"""Front ends of ``mura-train fit``, ``evaluate`` and ``export``.

Exit codes: 0 done; 2 fatal (bad arguments, data or files); 3 the loss became NaN/inf (the
last good checkpoint is kept); 130 interrupted (Ctrl-C or SIGTERM; ``--resume`` continues).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_FATAL = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130


def _interrupt_on_sigterm() -> None:
    """Let SIGTERM (e.g. a GUI's Stop button) end a run like Ctrl-C: cleanly, resumable."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, handler)


def add_fit_arguments(parser: argparse.ArgumentParser) -> None:
    from trainer.config import add_fit_arguments as add

    add(parser)


def run_fit(args: argparse.Namespace) -> int:
    from trainer.checkpoint import CheckpointError
    from trainer.config import config_from_args
    from trainer.fit import DIVERGED, INTERRUPTED, RunError, fit
    from trainer.initial_weights import InitError

    try:
        config, resume = config_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    _interrupt_on_sigterm()
    try:
        result = fit(config, resume=resume)
    except (RunError, InitError, CheckpointError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except KeyboardInterrupt:
        print("interrupted before training started", file=sys.stderr)
        return EXIT_INTERRUPTED
    if result.status == DIVERGED:
        return EXIT_DIVERGED
    if result.status == INTERRUPTED:
        return EXIT_INTERRUPTED
    return EXIT_OK


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a mura-train run folder")
    parser.add_argument("output", type=Path, help="model bundle to write (.mura)")
    parser.add_argument(
        "--top-k", type=int, help="ensemble of the best k checkpoints (default: the run's --top-k)"
    )
    parser.add_argument("--half", action="store_true", help="store float16 weights (half size)")
    parser.add_argument(
        "--demo", action="store_true", default=None, help="mark the bundle as a demo model"
    )
    parser.add_argument("--name", help="model name shown in the viewer")
    parser.add_argument("--force", action="store_true", help="overwrite OUTPUT if it exists")


def run_export(args: argparse.Namespace) -> int:
    from mura_desktop.core.metrics import format_metrics_table
    from trainer.export import ExportError, export_run

    if args.output.exists() and not args.force:
        print(f"error: {args.output} exists (use --force to overwrite)", file=sys.stderr)
        return EXIT_FATAL
    try:
        bundle, scores = export_run(
            args.run_dir, args.output, top_k=args.top_k, half=args.half, demo=args.demo,
            name=args.name,
        )  # fmt: skip
    except (ExportError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    print(f"wrote {args.output}\n{bundle.describe()}")
    print("\nValidation studies (threshold 0.50):")
    print(format_metrics_table(scores.metrics))
    return EXIT_OK


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    from trainer.evaluation import SPLIT_CHOICES

    parser.add_argument("model", type=Path, help="model bundle (.mura) or a run folder")
    parser.add_argument("dataset", type=Path, help="labelled dataset folder")
    parser.add_argument(
        "--split",
        default="auto",
        choices=SPLIT_CHOICES,
        help="studies to score (auto: valid if present, else all)",
    )
    parser.add_argument("--parts", default="", help="comma-separated body parts (default all)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    parser.add_argument("--threshold", type=float, help="decision threshold (default: bundle's)")
    parser.add_argument("--top-k", type=int, help="for a run folder: ensemble of the best k")
    parser.add_argument("--json", type=Path, help="write per-study results as JSON")
    parser.add_argument("--csv", type=Path, help="write per-view results as CSV")
    parser.add_argument("--plots", type=Path, metavar="DIR", help="write roc.png, confusion.png")


def run_evaluate(args: argparse.Namespace) -> int:
    from mura_desktop.cli.progress import ProgressBar
    from mura_desktop.core.metrics import OVERALL, format_metrics_table, roc_curve
    from mura_desktop.inference.bundle import BundleError
    from trainer.evaluation import evaluate_model
    from trainer.export import ExportError
    from trainer.plots import confusion_chart, line_chart

    bar: list[ProgressBar] = []

    def progress(done: int, total: int) -> None:
        if not bar:
            bar.append(ProgressBar(total, "views"))
        bar[0].update(done)

    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    try:
        outcome = evaluate_model(
            args.model, args.dataset, split=args.split, parts=parts, device=args.device,
            threshold=args.threshold, top_k=args.top_k, progress=progress,
        )  # fmt: skip
    except (BundleError, ExportError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    for note in outcome.notes:
        print(f"warning: {note}", file=sys.stderr)
    outcome.results.metrics = {name: m.to_dict() for name, m in outcome.metrics.items()}
    if args.json:
        outcome.results.to_json(args.json)
    if args.csv:
        outcome.results.to_csv(args.csv)
    overall = outcome.metrics.get(OVERALL)
    if args.plots and overall is not None:
        args.plots.mkdir(parents=True, exist_ok=True)
        scored = [s for s in outcome.results.studies if s.probability is not None]
        fpr, tpr, _ = roc_curve([s.label for s in scored], [s.probability for s in scored])
        line_chart(
            args.plots / "roc.png", [(f"AUROC {overall.auroc:.3f}", fpr, tpr)], title="ROC",
            xlabel="1 - specificity", ylabel="sensitivity", x_range=(0.0, 1.0),
            y_range=(0.0, 1.0), diagonal=True, markers=False,
        )  # fmt: skip
        confusion_chart(args.plots / "confusion.png", overall)
    print(f"{outcome.bundle.name} ({outcome.bundle.content_hash[:12]})")
    if overall is None:
        print("no study could be scored", file=sys.stderr)
        return EXIT_FATAL
    print(f"Study-level metrics (threshold {overall.threshold:.2f}):")
    print(format_metrics_table(outcome.metrics))
    return EXIT_OK
