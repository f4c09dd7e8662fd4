"""Write ``resources/samples``: the synthetic studies the viewer opens on first launch.

Two runs of the project's phantom generator (``mura_desktop.phantoms.generate_dataset``):

- ``MURA-v1.1/``: 6 PNG studies (elbow, hand, wrist; a normal and an abnormal study of
  each) in the MURA layout with both official CSVs, so labels and body parts are known;
- ``dicom/``: 2 DICOM studies (forearm normal, shoulder abnormal), grouped by
  StudyInstanceUID with the body part in BodyPartExamined. Their views are re-encoded in
  turn as JPEG 2000 lossless, RLE lossless and uncompressed, so decoding the samples
  exercises the openjpeg and RLE decoders (the frozen app's self-test relies on this).

Masks, ``ground_truth.csv`` and the generator's README are left out. The seeds were chosen
(by looking only at the study plans) so that every body part has both labels; the script
checks that this still holds. Deterministic: the same seeds give the same pixels.

    PYTHONPATH=. .venv/bin/python scripts/make_samples.py [--out resources/samples]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import pydicom
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, RLELossless

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mura_desktop.core.discovery import discover  # noqa: E402
from mura_desktop.phantoms import generate_dataset  # noqa: E402
from mura_desktop.phantoms.dataset import ROOT_NAME, plan_studies  # noqa: E402

SIZE = 320
PNG_SEED, PNG_PARTS, PNG_STUDIES = 1006, ("WRIST", "ELBOW", "HAND"), 6
DICOM_SEED, DICOM_PARTS, DICOM_STUDIES = 1000, ("SHOULDER", "FOREARM"), 2
CODECS = (JPEG2000Lossless, RLELossless, ExplicitVRLittleEndian)
OPTIONS = {"abnormal_fraction": 0.5, "valid_fraction": 0.5}


def check_plan(seed: int, n: int, parts: tuple[str, ...], *, per_part: bool) -> None:
    """Fail unless the plan has a normal and an abnormal study (of each part if ``per_part``)."""
    plans = plan_studies(n, seed=seed, parts=parts, **OPTIONS)
    groups = [[p for p in plans if p.part == part] for part in parts] if per_part else [plans]
    if any({p.abnormal for p in group} != {False, True} for group in groups):
        raise SystemExit(f"seed {seed} no longer gives both labels {'per part' * per_part}")


def transcode(folder: Path) -> list[tuple[str, str]]:
    """Re-encode the DICOM files under ``folder`` in place, cycling through ``CODECS``."""
    written = []
    for i, path in enumerate(sorted(folder.rglob("*.dcm"))):
        ds = pydicom.dcmread(path)
        target = CODECS[i % len(CODECS)]
        if ds.file_meta.TransferSyntaxUID.is_compressed:
            ds.decompress(generate_instance_uid=False)
        if target.is_compressed:
            ds.compress(target, generate_instance_uid=False)
        ds.save_as(path, enforce_file_format=True)
        written.append((str(path.relative_to(folder)), target.name))
    return written


def make_samples(out: Path) -> None:
    check_plan(PNG_SEED, PNG_STUDIES, PNG_PARTS, per_part=True)
    check_plan(DICOM_SEED, DICOM_STUDIES, DICOM_PARTS, per_part=False)
    for name in (ROOT_NAME, "dicom"):
        shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "png"
        generate_dataset(png, PNG_STUDIES, seed=PNG_SEED, size=SIZE, parts=PNG_PARTS, **OPTIONS)
        shutil.copytree(png / ROOT_NAME, out / ROOT_NAME)
        dcm = Path(tmp) / "dcm"
        generate_dataset(
            dcm, DICOM_STUDIES, seed=DICOM_SEED, size=SIZE, parts=DICOM_PARTS, dicom=True,
            **OPTIONS,
        )  # fmt: skip
        shutil.copytree(dcm / "dicom", out / "dicom")
    for name, codec in transcode(out / "dicom"):
        print(f"  dicom/{name}: {codec}")
    scan = discover([out / ROOT_NAME, out / "dicom"])
    for study in scan.studies:
        label = {None: "label unknown", 0: "normal", 1: "abnormal"}[study.label]
        print(f"  {study.body_part or '?':<9} {label:<14} {len(study.views)} views  {study.name}")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{len(scan.studies)} studies, {size / 1e6:.2f} MB in {out}; problems: {scan.problems}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "samples")
    make_samples(parser.parse_args().out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
