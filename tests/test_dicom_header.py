"""The full DICOM header as a tree, read without the pixels (core, no Qt)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom import uid
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence

from mura_desktop.core.dicom_header import VALUE_CHARS, read_header


def _write(path: Path) -> Path:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = uid.DigitalXRayImageStorageForPresentation
    ds.PatientID = "P-1"
    ds.ImageComments = "x" * (VALUE_CHARS + 50)
    item = Dataset()
    item.CodeValue, item.CodeMeaning = "T-D8300", "Hand"
    ds.AnatomicRegionSequence = Sequence([item])
    ds.set_pixel_data(np.zeros((8, 8), np.uint16), "MONOCHROME2", 12)
    ds.save_as(path, enforce_file_format=True)
    return path


def test_every_element_with_sequences_and_long_values_cut(tmp_path):
    header = read_header(_write(tmp_path / "a.dcm"))
    by_tag = {n.tag: n for n in header.nodes}
    assert by_tag["(0002,0010)"].name == "Transfer Syntax UID"  # file meta first
    assert by_tag["(0010,0020)"].value == "P-1"
    sequence = by_tag["(0008,2218)"]
    assert sequence.vr == "SQ" and sequence.value == "1 item"
    (item,) = sequence.children
    assert [c.value for c in item.children] == ["T-D8300", "Hand"]
    assert by_tag["(0020,4000)"].value.endswith(f"({VALUE_CHARS + 50:,} characters)")
    assert "(7FE0,0010)" not in by_tag  # the pixels are not read
    assert header.summary["Patient ID"] == "P-1"


def test_not_dicom_says_so(tmp_path):
    path = tmp_path / "notes.dcm"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"notes\.dcm"):
        read_header(path)


def test_a_file_whose_pixels_do_not_decode_still_has_its_header(shared_dicom_dir):
    broken = shared_dicom_dir / "966.dcm"
    if not broken.is_file():
        pytest.skip("966.dcm is not in ../shared/data/dicom")
    header = read_header(broken)
    assert header.summary["Modality"] == "DX" and len(header.nodes) > 20
