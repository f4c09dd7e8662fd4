"""Packaging: what build.spec collects, the frozen entry point's duties, the --self-test
smoke mode from source, and the first launch (samples + demo model) vs later launches.

The frozen app itself is built and smoke-tested by CI (``scripts/build_app.py``), not here.
"""

import importlib.util
import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from mura_desktop import __main__ as entry
from mura_desktop.core import resources

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def spec() -> dict:
    """Execute build.spec with PyInstaller's real hook helpers and recording stand-ins for
    the build steps (Analysis, PYZ, EXE, COLLECT, BUNDLE)."""
    pytest.importorskip("PyInstaller")
    calls: dict[str, tuple[tuple, dict]] = {}

    def step(name: str):
        def record(*args, **kwargs):
            calls[name] = (args, kwargs)
            return SimpleNamespace(pure=[], scripts=[], binaries=[], datas=[])

        return record

    namespace = {"SPECPATH": str(ROOT), "__file__": str(ROOT / "build.spec")}
    namespace.update({n: step(n) for n in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")})
    exec(compile((ROOT / "build.spec").read_text(), "build.spec", "exec"), namespace)
    namespace["calls"] = calls
    return namespace


def test_spec_bundles_the_app_resources_and_decoder_plugins(spec):
    ns = spec
    args, kwargs = ns["calls"]["Analysis"]
    assert args[0] == [str(ROOT / "mura_desktop" / "__main__.py")]
    datas = kwargs["datas"]
    assert (str(ROOT / "resources"), "resources") in datas
    metadata = {Path(src).name.split("-")[0] for src, _ in datas if src.endswith(".dist-info")}
    assert {"pylibjpeg", "pylibjpeg_libjpeg", "pylibjpeg_openjpeg", "pylibjpeg_rle"} <= metadata
    assert {"highdicom", "pynetdicom"} <= metadata  # both read their metadata at import
    # highdicom's IOD tables and ICC profile (package data) for the SR and Secondary Captures
    assert any(dest.replace("\\", "/").startswith("highdicom/_standard") for _src, dest in datas)
    hidden = set(kwargs["hiddenimports"])
    assert {"libjpeg", "openjpeg", "rle"} <= hidden
    # pyqtgraph imports these by computed name; without them `import pyqtgraph` fails frozen
    assert {"PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets"} <= hidden
    # torchvision's operator libraries are loaded by path, not imported: all must be there
    package = Path(importlib.util.find_spec("torchvision").origin).parent
    libraries = {p for p in package.iterdir() if p.suffix in (".so", ".pyd")}
    assert libraries and libraries <= {Path(src) for src, _ in kwargs["binaries"]}
    assert ns["calls"]["EXE"][1]["name"] == "mura-desktop"
    assert ns["calls"]["COLLECT"][1]["name"] == "mura-desktop"  # one-folder build


def test_spec_leaves_out_trainer_tests_and_unused_qt(spec):
    excludes = set(spec["calls"]["Analysis"][1]["excludes"])
    assert {"trainer", "tests", "pytest", "pytestqt", "triton"} <= excludes
    for module in ("QtWebEngineCore", "QtQml", "QtQuick", "Qt3DCore", "QtMultimedia"):
        assert f"PySide6.{module}" in excludes
    assert not any(e.startswith(("mura_desktop", "torch.nn", "pydicom")) for e in excludes)
    for module in ("QtCore", "QtGui", "QtWidgets", "QtOpenGL", "QtOpenGLWidgets", "QtSvg"):
        assert f"PySide6.{module}" not in excludes


def test_nothing_the_app_imports_is_left_out_of_the_bundle(spec):
    """Every package that importing the whole app (viewer, CLI, engine) loads must be in
    the bundle: scipy came in with the statistics and the frozen self-test failed on it."""
    excludes = set(spec["calls"]["Analysis"][1]["excludes"])
    code = (
        "import pkgutil, sys, mura_desktop\n"
        "for m in pkgutil.walk_packages(mura_desktop.__path__, 'mura_desktop.'):\n"
        "    __import__(m.name)\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    # imported when present, done without when absent (the frozen self-test shows it)
    optional = {"triton", "PySide6.QtTest"}  # torch probes for triton; pyqtgraph for QtTest
    loaded = set(done.stdout.split()) - optional
    assert not loaded & excludes, sorted(loaded & excludes)


def test_spec_resources_hold_model_samples_and_icons(spec):
    src = Path(dict(spec["calls"]["Analysis"][1]["datas"])[str(ROOT / "resources")])
    assert src == Path("resources")  # the folder name resources.resources_dir() expects
    assert resources.default_model_path() is not None
    assert len(resources.sample_paths()) == 2
    assert resources.icon_path(".ico") is not None  # the Windows executable icon


def test_entry_point_calls_freeze_support_first(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(multiprocessing, "freeze_support", lambda: calls.append("freeze"))
    with pytest.raises(SystemExit) as exit_info:
        entry.main(["--version"])
    assert exit_info.value.code == 0
    assert calls == ["freeze"]
    assert "mura-desktop" in capsys.readouterr().out


def test_self_test_report_fails_on_an_unreadable_extra_file(tmp_path):
    from mura_desktop.gui import self_test

    (tmp_path / "broken.dcm").write_bytes(b"this is not a DICOM file")
    report = self_test.SelfTestReport()
    self_test._decode_extra(report, [tmp_path])
    assert not report.passed
    assert report.lines()[0].startswith("[FAIL] decode broken.dcm")
    assert report.lines()[-1].startswith("self-test FAILED")


def _env(tmp_path: Path) -> dict[str, str]:
    """A fresh user: empty home and XDG folders, off-screen Qt, this checkout importable."""
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[var] = str(home / var.lower())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


@pytest.mark.slow
def test_self_test_from_source_passes(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "mura_desktop", "--self-test"],
        capture_output=True, text=True, env=_env(tmp_path), cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "self-test PASSED" in out
    assert "[FAIL]" not in out
    assert out.count(" study (") == 8
    assert "8/8 studies scored" in out
    assert "is marked demo" in out and "demo warning banner visible" in out
    assert "compressed transfer syntaxes available" in out
    assert not (tmp_path / "home").exists()  # the user's settings were not touched


# Runs `mura-desktop` with no arguments (app.run_viewer) and, once the viewer has settled,
# prints what it opened and closes the window (which saves the settings, as a user would).
_LAUNCH = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from mura_desktop.gui import app as gui_app
    from mura_desktop.gui.main_window import MainWindow

    def poll():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        w = windows[0] if windows else None
        want = int(sys.argv[1])
        if w is None or w.model is None or len(w.session.studies) < want:
            QTimer.singleShot(50, poll)
            return
        print(json.dumps({
            "studies": len(w.session.studies),
            "sources": [str(p) for p in w.session.sources],
            "demo_banner": w.demo_banner.isVisible(),
            "model": str(w.model.path),
        }))
        w.close()

    QTimer.singleShot(0, poll)
    sys.exit(gui_app.run_viewer([]))
    """
)


@pytest.mark.slow
def test_first_launch_opens_samples_with_demo_model_and_later_launches_do_not(tmp_path):
    def launch(want_studies: int) -> dict:
        run = subprocess.run(
            [sys.executable, "-c", _LAUNCH, str(want_studies)],
            capture_output=True, text=True, env=_env(tmp_path), cwd=tmp_path, timeout=120,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        return json.loads(run.stdout.strip().splitlines()[-1])

    first = launch(8)
    assert first["studies"] == 8
    assert first["sources"] == [str(p) for p in resources.sample_paths()]
    assert first["demo_banner"] is True
    assert first["model"] == str(resources.default_model_path())
    settings = tmp_path / "home" / "xdg_config_home" / "MURA Desktop" / "mura-desktop.ini"
    assert settings.is_file()

    later = launch(0)
    assert later["studies"] == 0  # nothing reopened: the user's own state from now on
    assert later["model"] == first["model"]
