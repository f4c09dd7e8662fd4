"""The layer rule: core has no Qt or torch, inference no Qt, trainer never the GUI.

Checked two ways: statically on every import statement, and dynamically by importing
each engine module in a fresh interpreter and looking at what got loaded.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "pyqtgraph", "shiboken6")
TORCH = ("torch", "torchvision")

RULES = {
    "mura_desktop/core": QT + TORCH,
    "mura_desktop/phantoms": QT + TORCH,
    "mura_desktop/inference": (*QT, "mura_desktop.gui"),
    "mura_desktop/cli": (*QT, "mura_desktop.gui"),
    "mura_desktop/node": (*QT, "mura_desktop.gui", "mura_desktop.cli"),
    "trainer": (*QT, "mura_desktop.gui"),
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
    files = sorted(folder.rglob("*.py"))
    if not files:
        pytest.skip(f"{layer} has no modules yet")
    offenders = [
        f"{f.relative_to(ROOT)} imports {name}"
        for f in files
        for name in _imported_names(f)
        if _forbidden(name, RULES[layer])
    ]
    assert not offenders, "\n".join(offenders)


def _modules_of(layer: str) -> list[str]:
    folder = ROOT / layer
    return [
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in sorted(folder.rglob("*.py"))
        if p.name != "__main__.py"
    ]


@pytest.mark.parametrize("layer", ["mura_desktop/core", "mura_desktop/phantoms"])
def test_pure_layers_load_neither_qt_nor_torch(layer):
    modules = _modules_of(layer)
    if not modules:
        pytest.skip(f"{layer} has no modules yet")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(','.join(sorted(b for b in {QT + TORCH!r} if b in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"{layer} pulled in: {out.stdout.strip()}"


def test_inference_loads_no_qt():
    modules = _modules_of("mura_desktop/inference")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(','.join(sorted(b for b in {QT!r} if b in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"inference pulled in: {out.stdout.strip()}"
