"""The layer rule: core has no Qt or torch, inference no Qt, trainer never the GUI.

Checked two ways: statically on every import statement, and dynamically by importing
each engine module in a fresh interpreter and looking at what got loaded.
"""

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "pyqtgraph", "shiboken6")
TORCH = ("torch", "torchvision")

CLI = ("mura_desktop.cli",)  # only the entry points import it

RULES = {
    "mura_desktop/core": QT + TORCH + CLI,
    "mura_desktop/phantoms": QT + TORCH + CLI,
    "mura_desktop/inference": (*QT, "mura_desktop.gui", *CLI),
    "mura_desktop/cli": (*QT, "mura_desktop.gui"),
    "mura_desktop/gui": CLI,
    "mura_desktop/node": (*QT, "mura_desktop.gui", *CLI),
    "trainer": (*QT, "mura_desktop.gui", *CLI),
    # Under the Qt window, the viewer's state and decisions are plain Python.
    "mura_desktop/gui/viewer_model.py": QT + TORCH,
    "mura_desktop/gui/session.py": QT + TORCH,
    "mura_desktop/gui/model_info.py": QT + TORCH,
    "mura_desktop/gui/model_loading.py": QT + TORCH,
    "mura_desktop/gui/viewer_state.py": QT + TORCH,
    "mura_desktop/gui/verdict_text.py": QT + TORCH,
    "mura_desktop/gui/events.py": QT + TORCH,
    "mura_desktop/gui/dataset_run.py": QT + TORCH,
    "mura_desktop/gui/training_metrics.py": QT + TORCH,
    "mura_desktop/gui/trainer_process.py": QT + TORCH,
}


def _imported_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _forbidden(name: str, banned: tuple[str, ...]) -> bool:
    return any(name == b or name.startswith(b + ".") for b in banned)


@pytest.mark.parametrize("layer", sorted(RULES))
def test_no_forbidden_import_statements(layer):
    folder = ROOT / layer
    files = [folder] if folder.is_file() else sorted(folder.rglob("*.py"))
    if not files:
        pytest.skip(f"{layer} has no modules yet")
    offenders = [
        f"{f.relative_to(ROOT)} imports {name}"
        for f in files
        for name in _imported_names(f)
        if _forbidden(name, RULES[layer])
    ]
    assert not offenders, "\n".join(offenders)


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _modules_of(layer: str) -> list[str]:
    folder = ROOT / layer
    files = [folder] if folder.is_file() else sorted(folder.rglob("*.py"))
    return [_module_name(p) for p in files if p.name != "__main__.py"]


def _loaded_by(modules: list[str], watched: tuple[str, ...]) -> str:
    """Which of ``watched`` a fresh interpreter holds after importing ``modules``
    (comma-separated, "" for none)."""
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(','.join(sorted(b for b in {watched!r} if b in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.parametrize(
    "layer",
    [
        "mura_desktop/core",
        "mura_desktop/phantoms",
        "mura_desktop/gui/viewer_model.py",
        "mura_desktop/gui/session.py",
        "mura_desktop/gui/model_loading.py",
    ],
)
def test_pure_layers_load_neither_qt_nor_torch(layer):
    modules = _modules_of(layer)
    if not modules:
        pytest.skip(f"{layer} has no modules yet")
    assert _loaded_by(modules, QT + TORCH) == "", f"{layer} pulled in Qt or torch"


def test_scoring_on_openvino_loads_no_torch():
    """The CPU app leaves torch out: everything but the torch runtime and what it serves
    (the torch network, the gradient maps) imports without it."""
    torch_side = {
        "mura_desktop.inference.network",
        "mura_desktop.inference.alternative_maps",
        "mura_desktop.inference.backends.torch_runtime",
    }
    modules = [m for m in _modules_of("mura_desktop/inference") if m not in torch_side]
    assert "mura_desktop.inference.predictor" in modules
    assert _loaded_by(modules, TORCH) == "", "the scoring path pulled in torch"


def test_the_statistics_load_scipy_only_to_compute():
    """scipy.stats and scipy.optimize took 1.1 s of the window's imports on a slow disk."""
    modules = ["mura_desktop.core.stats.summary", "mura_desktop.core.stats.comparison"]
    assert _loaded_by(modules, ("scipy.stats", "scipy.optimize")) == ""


def test_the_window_loads_dicom_libraries_only_when_used():
    """pydicom, highdicom, pynetdicom and CUDA's Python bindings (which pyqtgraph imports
    for a widget the viewer does not use) took 0.6-0.9 s of the window's start-up."""
    watched = ("pydicom", "highdicom", "pynetdicom", "cuda.bindings")
    assert _loaded_by(["mura_desktop.gui.app", "mura_desktop.gui.main_window"], watched) == ""


@pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="no OpenVINO")
def test_openvino_loads_without_its_model_converter():
    """OpenVINO's converter and telemetry took 0.13 of its 0.21 s import, on the first
    score's path; the program never converts a model."""
    code = (
        "import sys\n"
        "from mura_desktop.inference.backends.openvino_runtime import openvino_precisions\n"
        "print(openvino_precisions()[0], 'openvino.tools.ovc' in sys.modules,\n"
        "      'openvino_telemetry' in sys.modules)\n"
        "import openvino.tools.ovc\n"  # still importable by name afterwards
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["float32", "False", "False"]


def test_inference_loads_no_qt():
    modules = _modules_of("mura_desktop/inference")
    assert _loaded_by(modules, QT) == "", "inference pulled in Qt"


def _runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """The project modules ``path`` imports when it runs (``TYPE_CHECKING`` blocks left out;
    ``from package import module`` counts as the module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    return found & modules


def test_the_import_graph_has_no_cycles():
    paths = {
        _module_name(p): p
        for top in ("mura_desktop", "trainer")
        for p in (ROOT / top).rglob("*.py")
    }
    graph = {name: _runtime_imports(path, set(paths)) - {name} for name, path in paths.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycles.append([*trail[trail.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)
