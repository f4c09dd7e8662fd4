import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHARED_DICOM_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dicom"


@pytest.fixture(scope="session", autouse=True)
def runtime_cache(tmp_path_factory) -> Iterator[Path]:
    """A cache of the session's own (converted graphs, backend probes): never the user's."""
    folder = tmp_path_factory.mktemp("cache")
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if previous is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = previous


@pytest.fixture(autouse=True)
def gui_thread_garbage_collection(request) -> Iterator[None]:
    """As the viewer does (gui/gui_gc.py): once Qt is up, reference cycles are collected on
    the main thread only, never by a worker thread that happens to allocate."""
    if "qtbot" in request.fixturenames or "qapp" in request.fixturenames:
        from mura_desktop.gui.gui_gc import collect_on_gui_thread

        collect_on_gui_thread(request.getfixturevalue("qapp"))
    yield
    if not gc.isenabled():
        gc.collect()


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


# --- the viewer with a fake predictor (tests/viewer_support.py) ----------------------------


@pytest.fixture
def settings(tmp_path):
    from mura_desktop.gui.settings import Settings

    return Settings(tmp_path / "settings" / "viewer.ini")


@pytest.fixture
def factory():
    from viewer_support import FakeFactory

    return FakeFactory()


@pytest.fixture
def window(qtbot, settings, factory):
    """A shown ``MainWindow`` on the fake predictor; closing it must join every thread."""
    from mura_desktop.gui.main_window import MainWindow

    win = MainWindow(settings, model_factory=factory)
    qtbot.addWidget(win)
    win.show()
    yield win
    if factory.gate is not None:
        factory.gate.set()
    win.close()
    assert win.service.thread.isFinished()
    assert win.loader.active_threads == 0


@pytest.fixture
def dataset(tmp_path) -> Path:
    """A small MURA-style tree: 2 body parts, 3 patients, 4 labelled studies."""
    from viewer_support import make_dataset

    return make_dataset(tmp_path)
