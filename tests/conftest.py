import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHARED_DICOM_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dicom"


@pytest.fixture(scope="session")
def shared_dicom_dir() -> Path:
    """The real radiograph DICOMs in ../shared/data/dicom; tests using it skip when absent."""
    if not (SHARED_DICOM_DIR / "manifest.csv").is_file():
        pytest.skip(f"real DICOM samples not present at {SHARED_DICOM_DIR}")
    return SHARED_DICOM_DIR
