"""``mura-desktop predict``: score studies from the command line."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from mura_desktop.cli.progress import ProgressBar
from mura_desktop.core.discovery import discover
from mura_desktop.core.metrics import BinaryMetrics, format_metrics_table, study_metrics
from mura_desktop.core.overlay import blend_heatmap
from mura_desktop.core.resources import default_model_path
from mura_desktop.core.results import ResultSet, StudyResult
from mura_desktop.core.study import Study

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
        "--threshold", type=float, help="decision threshold (default: the bundle's)"
    )
    parser.add_argument("--json", type=Path, help="write all results as JSON")
    parser.add_argument("--csv", type=Path, help="write per-view results as CSV")
    parser.add_argument(
        "--heatmaps", type=Path, metavar="DIR", help="write heatmap overlays as PNGs"
    )
    parser.add_argument("--opacity", type=float, default=0.5, help="overlay opacity (default 0.5)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-study lines or progress")


def run(args: argparse.Namespace) -> int:
    from mura_desktop.inference.bundle import BundleError, load_bundle
    from mura_desktop.inference.predictor import Predictor

    err = sys.stderr
    outputs = [p for p in (args.json, args.csv, args.heatmaps) if p is not None]
    clash = _output_inside_inputs(outputs, args.paths)
    if clash:
        print(f"error: refusing to write {clash} inside the input data", file=err)
        return EXIT_FATAL

    from mura_desktop.inference.device import choose_device

    try:
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
        predictor = Predictor(bundle, device=args.device, threshold=args.threshold)
    except ValueError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FATAL
    for note in predictor.notes:
        print(f"warning: {note}", file=err)
    if not args.quiet:
        demo = " [DEMO MODEL: not for real radiographs]" if bundle.is_demo else ""
        print(
            f"model {bundle.name} ({bundle.architecture}, "
            f"{bundle.input_size} px, hash {bundle.content_hash[:12]}) on {predictor.device}{demo}",
            file=err,
        )
        print(f"{len(scan.studies)} studies, {scan.n_views} views", file=err)

    results = ResultSet(
        model={**bundle.summary(), "path": str(model_path)}, problems=list(scan.problems)
    )
    show_lines = not args.quiet and len(scan.studies) <= 50
    bar = None if args.quiet or show_lines else ProgressBar(len(scan.studies), "studies")
    if args.heatmaps:
        args.heatmaps.mkdir(parents=True, exist_ok=True)
        heatmap_folders = _heatmap_folders(scan.studies)
    interrupted = False
    try:
        for i, prediction in enumerate(
            predictor.predict_many(scan.studies, heatmaps=args.heatmaps is not None), 1
        ):
            study = prediction.result
            results.studies.append(study)
            if args.heatmaps:
                folder = args.heatmaps / heatmap_folders[study.uid]
                _write_overlays(folder, prediction, args.opacity)
            if show_lines:
                print(_study_line(study))
            elif bar:
                bar.update(i)
    except KeyboardInterrupt:
        interrupted = True
        print(f"\ninterrupted after {len(results.studies)} studies", file=err)
    finally:
        predictor.close()

    metrics = study_metrics(results.studies)
    results.metrics = {name: m.to_dict() for name, m in metrics.items()}
    if args.json:
        results.to_json(args.json)
    if args.csv:
        results.to_csv(args.csv)
    _print_summary(results, metrics, quiet=args.quiet)

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


def _output_inside_inputs(outputs: list[Path], inputs: list[Path]) -> Path | None:
    for out in outputs:
        resolved = out.resolve()
        for src in inputs:
            src = src.resolve()
            if resolved == src or (src.is_dir() and src in resolved.parents):
                return out
    return None


def _study_line(study: StudyResult) -> str:
    score = "   —  " if study.probability is None else f"{study.probability:6.3f}"
    truth = "" if study.label is None else f"  truth={'abnormal' if study.label else 'normal'}"
    failed = f"  ({study.n_failed} view(s) failed)" if study.n_failed else ""
    return f"{score}  {study.verdict or 'unscored':<13} {study.name}{truth}{failed}"


def _print_summary(results: ResultSet, metrics: dict[str, BinaryMetrics], quiet: bool) -> None:
    studies = results.studies
    verdicts: dict[str, int] = {}
    for s in studies:
        verdicts[s.verdict or "unscored"] = verdicts.get(s.verdict or "unscored", 0) + 1
    if not quiet:
        print("verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
    if metrics:
        print(f"\nStudy-level metrics (threshold {next(iter(metrics.values())).threshold:.2f}):")
        print(format_metrics_table(metrics))


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


def _write_overlays(study_dir: Path, prediction, opacity: float) -> None:
    study_dir.mkdir(parents=True, exist_ok=True)
    for path, heatmap in prediction.heatmaps.items():
        image = prediction.images[path].pixels
        rgb = blend_heatmap(image, heatmap, opacity)
        Image.fromarray(np.ascontiguousarray(rgb)).save(
            study_dir / f"{Path(path).stem}_heatmap.png"
        )
