import os
from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def tiny_bundle_path(tmp_path_factory) -> Path:
    """A real model bundle with random weights: densenet121 at 64 px, marked demo."""
    import torch

    from mura_desktop.inference.bundle import ModelBundle, save_bundle
    from mura_desktop.inference.network import build_network

    torch.manual_seed(0)
    bundle = ModelBundle(
        architecture="densenet121",
        members=[build_network("densenet121").state_dict()],
        input_size=64,
        provenance={"name": "tiny random test model", "demo": True},
    )
    path = tmp_path_factory.mktemp("bundle") / "tiny.mura"
    save_bundle(bundle, path)
    return path


@pytest.fixture(scope="session")
def phantom_dataset(tmp_path_factory) -> Path:
    """A small generated MURA-layout dataset (read-only for tests); returns its MURA-v1.1 root."""
    from mura_desktop.phantoms import generate_dataset

    out = tmp_path_factory.mktemp("phantoms")
    summary = generate_dataset(out / "data", 10, seed=5, size=128, parts=("WRIST", "HAND", "ELBOW"))
    return summary.root


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Two OpenMP threads on two shared cores stall badly when other work runs beside them."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
