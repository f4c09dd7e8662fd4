"""``mura-desktop predict``: score studies from the command line."""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
from functools import partial
from pathlib import Path

import numpy as np

from mura_desktop.cli.overlay_writer import OverlayWriter
from mura_desktop.core.dicom_result_names import is_dicom_result_file
from mura_desktop.core.dicom_results import (
    NoDicomContext,
    write_dicom_results,
)
from mura_desktop.core.discovery import discover
from mura_desktop.core.display import (
    DEFAULT_HEATMAP_MODE,
    HEATMAP_MODES,
    HeatmapStyle,
)
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.output_guard import OutputRefused, check_output_file, check_output_folder
from mura_desktop.core.png import encode_png
from mura_desktop.core.progress import ProgressBar
from mura_desktop.core.resources import default_model_path
from mura_desktop.core.results import ResultSet, StudyResult, is_results_csv, is_results_json
from mura_desktop.core.stats.summary import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    StudyStatistics,
    format_calibration_table,
    format_statistics_table,
    is_metrics_csv,
    study_statistics,
    write_metrics_csv,
)
from mura_desktop.core.study import Study
from mura_desktop.inference.backends import BACKEND_CHOICES, PRECISION_CHOICES

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_FATAL = 2
EXIT_INTERRUPTED = 130

NO_MODEL_HELP = (
    "no model bundle given and none is bundled with this installation.\n"
    "  Get one by training:   mura-train fit DATASET --out runs/mine  (see README, 'Training')\n"
    "  or import a public DenseNet checkpoint:\n"
    "                         mura-desktop import-weights CHECKPOINT.pth model.mura\n"
    "  then pass it:          mura-desktop predict PATH --model model.mura"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", type=Path, help="study/patient/dataset folders, images, DICOMs"
    )
    parser.add_argument("--model", type=Path, help="model bundle (.mura); default: the bundled one")
    parser.add_argument(
        "--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N"
    )
    parser.add_argument(
        "--backend", default="auto", choices=BACKEND_CHOICES,
        help="runtime: auto (the fastest that passes the accuracy guard, measured once per "
        "model and machine), torch, openvino (CPU)",
    )  # fmt: skip
    parser.add_argument(
        "--precision", default="auto", choices=PRECISION_CHOICES,
        help="auto (as the probe decides), float32, bfloat16 (CPU), float16 (CUDA)",
    )  # fmt: skip
    parser.add_argument(
        "--threshold", type=float, help="decision threshold (default: the bundle's)"
    )
    parser.add_argument("--json", type=Path, help="write all results as JSON")
    parser.add_argument("--csv", type=Path, help="write per-view results as CSV")
    parser.add_argument(
        "--metrics-csv", type=Path, help="write the study metrics with their intervals as CSV"
    )
    parser.add_argument(
        "--bootstrap", type=int, default=DEFAULT_RESAMPLES, metavar="N",
        help=f"patient-bootstrap resamples for the metrics' 95%% intervals (default "
        f"{DEFAULT_RESAMPLES}; 0 = no intervals)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"bootstrap seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--heatmaps", type=Path, metavar="DIR", help="write heatmap overlays as PNGs"
    )
    parser.add_argument(
        "--dicom-out", type=Path, metavar="DIR",
        help="write a DICOM SR and heatmap Secondary Captures per DICOM study, "
        "in DIR/<StudyInstanceUID>/",
    )  # fmt: skip
    parser.add_argument("--opacity", type=float, default=0.5, help="overlay opacity (default 0.5)")
    parser.add_argument(
        "--heatmap-mode", default=DEFAULT_HEATMAP_MODE,
        choices=[m for m in HEATMAP_MODES if m != "off"],
        help="region: the hottest region (>= half its peak), outlined; box: a box around it; "
        f"wash: the whole map in colour (default {DEFAULT_HEATMAP_MODE})",
    )  # fmt: skip
    parser.add_argument(
        "--all-views", action="store_true",
        help="draw maps on every view; by default a view below the model's operating point "
        "(or its indeterminate band) is written without a map",
    )  # fmt: skip
    parser.add_argument(
        "--scale-opacity", action="store_true",
        help="scale the overlay's opacity by the view's probability",
    )  # fmt: skip
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-study lines or progress")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace existing output files that are not previous results (never input data)",
    )


def run(args: argparse.Namespace) -> int:
    from mura_desktop.inference.bundle import BundleError, load_bundle
    from mura_desktop.inference.device import choose_device
    from mura_desktop.inference.predictor import Predictor

    _lossless_console()
    err = sys.stderr
    try:
        if args.bootstrap < 0:
            raise ValueError(f"--bootstrap {args.bootstrap} must be 0 or more")
        check_outputs(args)
        choose_device(args.device)  # refuse a device that cannot be used before any work
    except ValueError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FATAL

    model_path = args.model or default_model_path()
    if model_path is None:
        print(f"error: {NO_MODEL_HELP}", file=err)
        return EXIT_FATAL
    try:
        bundle = load_bundle(model_path)
    except BundleError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FATAL

    scan = discover(args.paths)
    for problem in scan.problems:
        print(f"{problem.kind}: {problem.path}: {problem.reason}", file=err)
    if not scan.studies:
        print("error: no studies found in " + ", ".join(map(str, args.paths)), file=err)
        return EXIT_FATAL

    try:
        predictor = Predictor(
            bundle,
            device=args.device,
            threshold=args.threshold,
            backend=args.backend,
            precision=args.precision,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FATAL
    for note in predictor.notes:
        print(f"warning: {note}", file=err)
    if not args.quiet:
        demo = " [DEMO MODEL: not for real radiographs]" if bundle.is_demo else ""
        print(
            f"model {bundle.name} ({bundle.architecture}, "
            f"{bundle.input_size} px, hash {bundle.content_hash[:12]}) "
            f"on {predictor.runtime}{demo}",
            file=err,
        )
        print(f"{len(scan.studies)} studies, {scan.n_views} views", file=err)

    results = ResultSet(
        model=bundle.record(path=str(model_path), runtime=predictor.runtime),
        problems=list(scan.problems),
    )
    show_lines = not args.quiet and len(scan.studies) <= 50
    bar = None if args.quiet or show_lines else ProgressBar(len(scan.studies), "studies")
    heatmap_folders = _heatmap_folders(scan.studies) if args.heatmaps else {}
    style = HeatmapStyle(
        args.heatmap_mode, opacity=args.opacity, scale_by_probability=args.scale_opacity,
        all_views=args.all_views,
    )  # fmt: skip
    interrupted = False
    failed_outputs = 0

    def overlay_failed(name: str, exc: OSError) -> None:
        nonlocal failed_outputs
        failed_outputs += 1
        print(f"error: heatmaps of {name}: {exc}", file=err)

    overlays = OverlayWriter(overlay_failed)
    try:
        want_heatmaps = args.heatmaps is not None or args.dicom_out is not None
        for i, prediction in enumerate(
            predictor.predict_many(scan.studies, heatmaps=want_heatmaps), 1
        ):
            study = prediction.result
            results.studies.append(study)
            if args.dicom_out:
                failed_outputs += _write_dicom(
                    args.dicom_out, prediction, results.model, style,
                    predictor.rule.map_floor(study.body_part), args,
                )  # fmt: skip
            if args.heatmaps:
                folder = args.heatmaps / heatmap_folders[study.uid]
                floor = predictor.rule.map_floor(study.body_part)
                overlays.submit(
                    study.name, partial(_write_overlays, folder, prediction, style, floor)
                )
            if show_lines:
                print(_study_line(study))
            elif bar:
                bar.update(i)
    except KeyboardInterrupt:
        interrupted = True
        print(f"\ninterrupted after {len(results.studies)} studies", file=err)
    finally:
        overlays.close()
        predictor.close()
        stats = study_statistics(results.studies, resamples=args.bootstrap, seed=args.seed)
        failed_outputs += _write_results(results, stats, args)

    _print_summary(results, stats, quiet=args.quiet)
    if failed_outputs:
        return EXIT_FATAL
    if interrupted:
        return EXIT_INTERRUPTED
    failed_views = sum(s.n_failed for s in results.studies)
    if failed_views or scan.failures:
        print(
            f"partial: {failed_views} view(s) could not be scored, "
            f"{len(scan.failures)} path(s) could not be read while scanning",
            file=err,
        )
        return EXIT_PARTIAL
    return EXIT_OK


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse (``OutputRefused``) any output that may not be written, before any work."""
    if args.json is not None:
        check_output_file(args.json, args.paths, is_ours=is_results_json, force=args.force)
    if args.csv is not None:
        check_output_file(args.csv, args.paths, is_ours=is_results_csv, force=args.force)
    if args.metrics_csv is not None:
        check_output_file(args.metrics_csv, args.paths, is_ours=is_metrics_csv, force=args.force)
    if args.heatmaps is not None:
        check_output_folder(args.heatmaps, args.paths, is_ours=_is_heatmap_file, force=args.force)
    if args.dicom_out is not None:
        check_output_folder(
            args.dicom_out, args.paths, is_ours=is_dicom_result_file, force=args.force
        )
    named = [p.resolve() for p in (args.json, args.csv, args.metrics_csv) if p is not None]
    if len(named) != len(set(named)):
        raise OutputRefused(
            args.json or args.csv, "two of --json, --csv, --metrics-csv name the same file"
        )


def _write_results(results: ResultSet, stats: StudyStatistics, args: argparse.Namespace) -> int:
    """Write whatever was scored; an output that cannot be written is reported and counted,
    and does not stop the others."""
    results.metrics = stats.to_dict()
    failed = 0
    outputs = ((args.json, results.to_json), (args.csv, results.to_csv))
    if stats.groups:
        outputs += ((args.metrics_csv, lambda path: write_metrics_csv(path, stats)),)
    for path, write in outputs:
        if path is None:
            continue
        try:
            write(path)
        except OSError as exc:
            failed += 1
            print(f"error: could not write {path}: {exc.strerror or exc}", file=sys.stderr)
    return failed


def _write_dicom(
    folder: Path,
    prediction,
    model: ModelRecord,
    style: HeatmapStyle,
    floor: float,
    args: argparse.Namespace,
) -> int:
    """The study's SR and Secondary Captures (heatmaps drawn in ``style``); 1 if they could
    not be written. A study without DICOM context gets a notice, not a failure."""
    study = prediction.result
    try:
        files = write_dicom_results(study, model, folder, prediction.overlays(style, floor))
    except NoDicomContext as exc:
        print(f"notice: {exc}", file=sys.stderr)
        return 0
    except OSError as exc:
        print(f"error: DICOM results of {study.name}: {exc}", file=sys.stderr)
        return 1
    for note in files.notes:
        print(f"warning: {study.name}: {note}", file=sys.stderr)
    if not args.quiet:
        print(f"DICOM SR and {len(files.overlays)} heatmap SC(s): {files.report.parent}")
    return 0


def _lossless_console() -> None:
    """Print file names that are not valid UTF-8 as their own bytes, never a traceback."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="surrogateescape")


def _is_heatmap_file(path: Path) -> bool:
    return path.name.endswith("_heatmap.png")


def _study_line(study: StudyResult) -> str:
    score = "   —  " if study.probability is None else f"{study.probability:6.3f}"
    truth = "" if study.label is None else f"  truth={'abnormal' if study.label else 'normal'}"
    failed = f"  ({study.n_failed} view(s) failed)" if study.n_failed else ""
    return f"{score}  {study.verdict or 'unscored':<13} {study.name}{truth}{failed}"


def _print_summary(results: ResultSet, stats: StudyStatistics, quiet: bool) -> None:
    studies = results.studies
    verdicts: dict[str, int] = {}
    for s in studies:
        verdicts[s.verdict or "unscored"] = verdicts.get(s.verdict or "unscored", 0) + 1
    if not quiet:
        print("verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
    if stats.groups:
        threshold = next(iter(stats.groups.values())).metrics.threshold
        print(f"\nStudy-level metrics (threshold {threshold:.2f}):")
        print(format_statistics_table(stats))
        print()
        print(format_calibration_table(stats))


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _heatmap_folders(studies: list[Study]) -> dict[str, Path]:
    """One output folder per study, unique by its location: the study folder's path below
    the folder common to all of them (``a/XR_WRIST/...`` and ``b/XR_WRIST/...`` for two
    copies of a dataset), ``dicom_<StudyInstanceUID>`` for DICOM studies."""
    on_disk = [s for s in studies if not s.uid.startswith("dicom:") and s.folder is not None]
    try:
        common = Path(os.path.commonpath([s.folder for s in on_disk])) if on_disk else None
    except ValueError:  # different drives
        common = None
    folders: dict[str, Path] = {}
    for study in studies:
        if study in on_disk and common is not None and study.folder != common:
            parts = study.folder.relative_to(common).parts
        elif study in on_disk:
            parts = (study.folder.name,)
        else:
            parts = ("dicom_" + study.uid.removeprefix("dicom:"),)
        folders[study.uid] = Path(*(_UNSAFE.sub("_", p).strip("_") or "_" for p in parts))
    return folders


def _write_overlays(study_dir: Path, prediction, style: HeatmapStyle, floor: float) -> None:
    """Each view with its map drawn as the viewer draws it (``style``); a view scored below
    ``floor`` gets no map unless the style asks for all views. A view without colour is
    written as a gray PNG: the same pixels, a third of the encoding."""
    study_dir.mkdir(parents=True, exist_ok=True)
    for path, rgb in prediction.overlays(style, floor).items():
        red = rgb[..., 0]
        gray = np.array_equal(red, rgb[..., 1]) and np.array_equal(red, rgb[..., 2])
        png = encode_png(np.ascontiguousarray(red) if gray else rgb)
        (study_dir / f"{Path(path).stem}_heatmap.png").write_bytes(png)
