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
    parser.add_argument(
        "--calibrate", action="store_true",
        help="fit temperature scaling on the validation views first (operating points follow)",
    )  # fmt: skip
    parser.add_argument(
        "--per-part-thresholds", action="store_true",
        help="one decision threshold per body part (highest kappa on its validation studies)",
    )  # fmt: skip
    parser.add_argument(
        "--flip-average", action="store_true", default=None,
        help="score each view also mirrored, averaging scores and heatmaps (default: the run's)",
    )  # fmt: skip
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
            name=args.name, calibrate=args.calibrate,
            per_part_thresholds=args.per_part_thresholds, flip_average=args.flip_average,
        )  # fmt: skip
    except (ExportError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    print(f"wrote {args.output}\n{bundle.describe()}")
    record = bundle.provenance.get("calibration")
    if record:
        print(
            f"\ntemperature {record['temperature']:.3f} on {record['fitted_on']}: ECE of the "
            f"views {record['ece_views_before']:.3f} -> {record['ece_views_after']:.3f}, of the "
            f"studies {record['ece_studies_before']:.3f} -> {record['ece_studies_after']:.3f}"
        )
    rule = bundle.verdict_rule()
    print(f"\nValidation studies (threshold {rule.threshold:.2f}"
          + (", per-part thresholds" if rule.part_thresholds else "") + "):")  # fmt: skip
    print(format_metrics_table(scores.metrics))
    return EXIT_OK


def add_statistics_arguments(parser: argparse.ArgumentParser) -> None:
    from mura_desktop.core.stats.summary import DEFAULT_RESAMPLES, DEFAULT_SEED

    parser.add_argument(
        "--bootstrap", type=int, default=DEFAULT_RESAMPLES, metavar="N",
        help=f"patient-bootstrap resamples for the 95%% intervals (default {DEFAULT_RESAMPLES}; "
        "0 = no intervals)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"bootstrap seed (default {DEFAULT_SEED})"
    )


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
    parser.add_argument("--json", type=Path, help="write per-study results and metrics as JSON")
    parser.add_argument("--csv", type=Path, help="write per-view results as CSV")
    parser.add_argument(
        "--metrics-csv", type=Path, help="write the metrics with their intervals as CSV"
    )
    parser.add_argument(
        "--plots", type=Path, metavar="DIR",
        help="write roc.png, confusion.png, reliability.png and intervals.png",
    )  # fmt: skip
    parser.add_argument(
        "--alternative-maps", default="", metavar="NAMES",
        help="on data with masks, also measure these grad-cam maps (comma-separated: "
        "layercam, gradcam++; one backward pass per abnormal view)",
    )  # fmt: skip
    add_statistics_arguments(parser)


def run_evaluate(args: argparse.Namespace) -> int:
    from mura_desktop.core.progress import ProgressBar
    from mura_desktop.inference.bundle import BundleError
    from trainer.evaluation import evaluate_model
    from trainer.export import ExportError

    if args.bootstrap < 0:
        print(f"error: --bootstrap {args.bootstrap} must be 0 or more", file=sys.stderr)
        return EXIT_FATAL
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
            resamples=args.bootstrap, seed=args.seed,
            alternatives=[m.strip() for m in args.alternative_maps.split(",") if m.strip()],
        )  # fmt: skip
    except (BundleError, ExportError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    for note in outcome.notes:
        print(f"warning: {note}", file=sys.stderr)
    return report_evaluation(outcome, args)


def report_evaluation(outcome, args: argparse.Namespace) -> int:
    """Write the files ``args`` asks for and print the tables of an evaluation."""
    from mura_desktop.core.metrics import OVERALL
    from mura_desktop.core.stats.summary import (
        format_calibration_table,
        format_reliability,
        format_statistics_table,
        write_metrics_csv,
    )

    stats = outcome.statistics
    if args.json:
        outcome.results.to_json(args.json)
    if args.csv:
        outcome.results.to_csv(args.csv)
    if args.metrics_csv:
        write_metrics_csv(args.metrics_csv, stats)
    overall = stats.groups.get(OVERALL)
    if args.plots and overall is not None:
        write_evaluation_plots(args.plots, outcome)
    print(f"{outcome.bundle.name} ({outcome.bundle.content_hash[:12]})")
    for line in outcome.provenance_lines:
        print(line)
    if overall is None:
        print("no study could be scored", file=sys.stderr)
        return EXIT_FATAL
    print(f"Study-level metrics (threshold {overall.metrics.threshold:.2f}):")
    print(format_statistics_table(stats))
    print()
    print(format_calibration_table(stats))
    print("\nReliability, studies (all parts):")
    print(format_reliability(overall.calibration))
    if outcome.localisation is not None:
        from mura_desktop.core.localisation import TOLERANCE_PX, format_localisation_table

        print(
            f"\nHeatmap localisation, abnormal views with a mask (pointing game strict and "
            f"within {TOLERANCE_PX:.0f} px at native resolution, energy in the mask, "
            "pixel AUROC; the oracle is the mask itself at the map's grid):"
        )
        print(format_localisation_table(outcome.localisation))
    return EXIT_OK


def write_evaluation_plots(folder: Path, outcome) -> None:
    """roc.png, confusion.png, reliability.png (studies and views) and intervals.png."""
    from mura_desktop.core.metrics import OVERALL, roc_curve
    from trainer.plots import confusion_chart, interval_chart, line_chart, reliability_chart

    folder.mkdir(parents=True, exist_ok=True)
    overall = outcome.statistics.groups[OVERALL]
    scored = [s for s in outcome.results.studies if s.probability is not None]
    fpr, tpr, _ = roc_curve([s.label for s in scored], [s.probability for s in scored])
    line_chart(
        folder / "roc.png", [(f"AUROC {overall.metrics.auroc:.3f}", fpr, tpr)], title="ROC",
        xlabel="1 - specificity", ylabel="sensitivity", x_range=(0.0, 1.0),
        y_range=(0.0, 1.0), diagonal=True, markers=False,
    )  # fmt: skip
    confusion_chart(folder / "confusion.png", overall.metrics)
    curves = [("studies", overall.calibration)]
    if overall.view_calibration is not None:
        curves.append(("views", overall.view_calibration))
    reliability_chart(folder / "reliability.png", curves)
    interval_chart(folder / "intervals.png", outcome.statistics)


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", type=Path, help="model A: bundle (.mura), run folder or results .json")
    parser.add_argument("b", type=Path, help="model B: bundle (.mura), run folder or results .json")
    parser.add_argument(
        "dataset", type=Path, nargs="?", help="labelled dataset (needed unless both are .json)"
    )
    parser.add_argument(
        "--split", default="auto", help="studies to score (auto: valid if present, else all)"
    )
    parser.add_argument("--parts", default="", help="comma-separated body parts (default all)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    parser.add_argument("--top-k", type=int, help="for a run folder: ensemble of the best k")
    parser.add_argument(
        "--json", type=Path, help="write the comparison and the studies A and B disagree on"
    )
    parser.add_argument("--plots", type=Path, metavar="DIR", help="write roc.png (both curves)")
    add_statistics_arguments(parser)


def run_compare(args: argparse.Namespace) -> int:
    from mura_desktop.core import strict_json
    from mura_desktop.core.atomic_write import write_atomically
    from mura_desktop.core.stats.comparison import compare_results, format_comparison
    from mura_desktop.inference.bundle import BundleError
    from trainer.evaluation import SPLIT_CHOICES, scored_results
    from trainer.export import ExportError

    if args.split not in SPLIT_CHOICES:
        print(f"error: --split {args.split}: choose one of {', '.join(SPLIT_CHOICES)}",
              file=sys.stderr)  # fmt: skip
        return EXIT_FATAL
    if args.bootstrap < 0:
        print(f"error: --bootstrap {args.bootstrap} must be 0 or more", file=sys.stderr)
        return EXIT_FATAL
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    sides = []
    try:
        for source in (args.a, args.b):
            name, results, notes = scored_results(
                source, args.dataset, split=args.split, parts=parts, device=args.device,
                top_k=args.top_k,
            )  # fmt: skip
            for note in notes:
                print(f"warning: {note}", file=sys.stderr)
            sides.append((name, results))
    except (BundleError, ExportError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    (name_a, a), (name_b, b) = sides
    comparison = compare_results(
        a.studies, b.studies, name_a=f"{name_a} ({args.a})", name_b=f"{name_b} ({args.b})",
        resamples=args.bootstrap, seed=args.seed,
    )  # fmt: skip
    print(format_comparison(comparison))
    if args.json:
        payload = {"format": "mura-desktop-comparison", "version": 1, **comparison.to_dict()}
        write_atomically(args.json, strict_json.dumps(payload, indent=1, ensure_ascii=False))
    if args.plots and comparison.groups:
        write_comparison_plots(args.plots, a, b, comparison)
    return EXIT_OK if comparison.groups else EXIT_FATAL


def write_comparison_plots(folder: Path, a, b, comparison) -> None:
    """roc.png: both models' ROC curves on the matched labelled studies."""
    from mura_desktop.core.metrics import roc_curve
    from mura_desktop.core.stats.comparison import match_studies
    from trainer.plots import line_chart

    folder.mkdir(parents=True, exist_ok=True)
    pairs = [
        (x, y)
        for x, y in match_studies(a.studies, b.studies)[0]
        if x.label is not None and x.probability is not None and y.probability is not None
    ]
    labels = [x.label for x, _ in pairs]
    series = []
    for key, side, scores in (
        ("A", "a", [x.probability for x, _ in pairs]),
        ("B", "b", [y.probability for _, y in pairs]),
    ):
        fpr, tpr, _ = roc_curve(labels, scores)
        auroc = comparison.groups["ALL"].to_dict()[side]["auroc"]
        series.append((f"{key} AUROC {auroc:.3f}" if auroc is not None else key, fpr, tpr))
    line_chart(
        folder / "roc.png", series, title=f"ROC of A and B on {len(pairs)} matched studies",
        xlabel="1 - specificity", ylabel="sensitivity", x_range=(0.0, 1.0), y_range=(0.0, 1.0),
        diagonal=True, markers=False,
    )  # fmt: skip
