"""DICOM copies of phantom studies: CR, 12 bits stored in 16, some MONOCHROME1, some RLE."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels.encoders import RLELosslessEncoder
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    ExplicitVRLittleEndian,
    RLELossless,
    generate_uid,
)

MAX_12BIT = 4095
_EPOCH = dt.date(2015, 1, 1)
# pylibjpeg-rle and pydicom's own encoder write the same bytes; the former is ~10x faster.
_RLE_PLUGIN = "pylibjpeg" if "pylibjpeg" in RLELosslessEncoder.available_plugins else "pydicom"


def to_12bit(image: np.ndarray) -> np.ndarray:
    """Map 8-bit display values 0..255 linearly onto 0..4095 (uint16)."""
    return ((image.astype(np.uint32) * MAX_12BIT + 127) // 255).astype(np.uint16)


def study_uid(seed: int, patient: str, study: str) -> str:
    """StudyInstanceUID of a phantom study: the same for the same seed, patient and study."""
    return str(generate_uid(entropy_srcs=["mura-desktop-phantoms", str(seed), patient, study]))


def write_study(
    folder: Path,
    images: Sequence[np.ndarray],
    *,
    seed: int,
    index: int,
    part: str,
    patient: str,
    study: str,
    abnormal: bool,
    rng: np.random.Generator,
) -> list[Path]:
    """Write ``images`` (uint8) as ``folder/imageN.dcm``; ``rng`` picks photometry and codec.

    One study comes from one machine, so MONOCHROME1 is chosen per study; RLE per image.
    """
    folder.mkdir(parents=True, exist_ok=True)
    monochrome1 = bool(rng.random() < 0.35)
    date = (_EPOCH + dt.timedelta(days=int((seed * 7919 + index) % 3650))).strftime("%Y%m%d")
    uid = study_uid(seed, patient, study)
    paths = []
    for n, image in enumerate(images, start=1):
        compress = bool(rng.random() < 0.4)
        entropy = ["mura-desktop-phantoms", str(seed), patient, study, str(n)]
        ds = _dataset(image, monochrome1)
        ds.SOPClassUID = ComputedRadiographyImageStorage
        ds.SOPInstanceUID = generate_uid(entropy_srcs=[*entropy, "instance"])
        ds.StudyInstanceUID = uid
        ds.SeriesInstanceUID = generate_uid(entropy_srcs=[*entropy, "series"])
        ds.Modality = "CR"
        ds.PatientID = patient
        ds.PatientName = f"PHANTOM^{patient}"
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = date
        ds.StudyTime = ds.SeriesTime = ds.ContentTime = "120000"
        ds.StudyID = study
        ds.AccessionNumber = f"PH{index:08d}"
        ds.StudyDescription = f"XR {part} (synthetic, {'abnormal' if abnormal else 'normal'})"
        ds.SeriesDescription = f"XR {part} view {n}"
        ds.BodyPartExamined = part
        ds.SeriesNumber = n
        ds.InstanceNumber = 1
        ds.Manufacturer = "MURA Desktop phantoms"
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        if compress:
            ds.compress(RLELossless, encoding_plugin=_RLE_PLUGIN, generate_instance_uid=False)
        path = folder / f"image{n}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _dataset(image: np.ndarray, monochrome1: bool) -> Dataset:
    values = to_12bit(image)
    if monochrome1:
        values = (MAX_12BIT - values).astype(np.uint16)
    ds = Dataset()
    ds.Rows, ds.Columns = values.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if monochrome1 else "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    # The full stored range, so that a reader applying the VOI window sees the PNG's pixels.
    ds.WindowCenter = (MAX_12BIT + 1) // 2
    ds.WindowWidth = MAX_12BIT + 1
    ds.PixelData = values.astype("<u2").tobytes()
    return ds
