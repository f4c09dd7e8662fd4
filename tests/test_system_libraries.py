"""The viewer's pre-flight check of Qt's X11 plugin: named libraries and one install line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mura_desktop.gui import system_libraries as syslibs

ROOT = Path(__file__).resolve().parents[1]
LDD_OUTPUT = """\
	linux-vdso.so.1 (0x00007ffd5a1f0000)
	libQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f0a1c000000)
	libxcb-icccm.so.4 => not found
	libxcb-keysyms.so.1 => not found
	libxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f0a1bf00000)
	libxcb-icccm.so.4 => not found
	libweird.so.9 => not found
"""


def test_advice_names_the_missing_libraries_and_one_install_line(monkeypatch, tmp_path):
    ldd = tmp_path / "ldd"
    ldd.write_text(f"#!/bin/sh\ncat <<'EOF'\n{LDD_OUTPUT}EOF\n")
    ldd.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    missing = syslibs.missing_libraries(Path("libqxcb.so"))
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libweird.so.9"]
    advice = syslibs.install_advice(missing)
    assert "  sudo apt-get install libxcb-icccm4 libxcb-keysyms1\n" in advice
    assert "cursor0" not in advice.split("Other systems")[0]  # installed: not blamed
    assert "dnf install" in advice and "pacman -S" in advice
    assert "libweird.so.9" in advice.splitlines()[-2]


def test_only_linux_xcb_is_checked():
    assert syslibs.uses_xcb({"QT_QPA_PLATFORM": "offscreen"}) is False
    assert syslibs.uses_xcb({"QT_QPA_PLATFORM": "wayland;xcb"}) is False
    if sys.platform.startswith("linux"):
        assert syslibs.uses_xcb({"QT_QPA_PLATFORM": "xcb"}) is True
        assert syslibs.uses_xcb({"DISPLAY": ":0"}) is True


def test_readme_and_ci_install_what_the_check_knows():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    line = f"sudo apt-get install {syslibs.DEBIAN_SYSTEM_PACKAGES}"
    assert line in readme
    assert syslibs.DEBIAN_SYSTEM_PACKAGES in ci
    known = set(syslibs.DEBIAN_PACKAGES.values())
    assert set(syslibs.DEBIAN_SYSTEM_PACKAGES.split()) <= known


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux's")
def test_the_real_viewer_says_what_to_install_instead_of_aborting(tmp_path):
    plugin = syslibs.xcb_plugin()
    assert plugin is not None and plugin.is_file()
    missing = syslibs.missing_libraries(plugin)
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": ":99", "HOME": str(tmp_path)}
    env.pop("WAYLAND_DISPLAY", None)
    if not missing:
        assert syslibs.preflight(env) is None
        pytest.skip("every library the xcb plugin needs is installed here")
    done = subprocess.run(
        [sys.executable, "-m", "mura_desktop"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "sudo apt-get install " in done.stderr
    assert all(name in done.stderr for name in missing)
    assert "Aborted" not in done.stderr and "core dumped" not in done.stderr
