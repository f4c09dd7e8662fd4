"""Does this system have the shared libraries Qt's X11 platform plugin needs?

Qt aborts the whole process when its ``xcb`` plugin cannot load, and its message names a
library that may well be installed (``xcb-cursor0``) rather than the one missing. So before
the first window, on Linux, ``ldd`` is asked what the plugin lacks, and the missing
libraries are named with the one command that installs them. No Qt import here.

``python -m mura_desktop.gui.system_libraries`` prints the verdict and exits 1 when
something is missing (``.ci/run`` checks with it).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# soname prefix -> Debian/Ubuntu package, for everything the xcb plugin and Qt's GUI need.
DEBIAN_PACKAGES: dict[str, str] = {
    "libxcb-icccm.so": "libxcb-icccm4",
    "libxcb-keysyms.so": "libxcb-keysyms1",
    "libxcb-cursor.so": "libxcb-cursor0",
    "libxcb-image.so": "libxcb-image0",
    "libxcb-render-util.so": "libxcb-render-util0",
    "libxcb-randr.so": "libxcb-randr0",
    "libxcb-shape.so": "libxcb-shape0",
    "libxcb-shm.so": "libxcb-shm0",
    "libxcb-sync.so": "libxcb-sync1",
    "libxcb-util.so": "libxcb-util1",
    "libxcb-xfixes.so": "libxcb-xfixes0",
    "libxcb-xinerama.so": "libxcb-xinerama0",
    "libxcb-xinput.so": "libxcb-xinput0",
    "libxcb-xkb.so": "libxcb-xkb1",
    "libxcb-render.so": "libxcb-render0",
    "libxcb-glx.so": "libxcb-glx0",
    "libxcb.so": "libxcb1",
    "libX11-xcb.so": "libx11-xcb1",
    "libX11.so": "libx11-6",
    "libxkbcommon-x11.so": "libxkbcommon-x11-0",
    "libxkbcommon.so": "libxkbcommon0",
    "libSM.so": "libsm6",
    "libICE.so": "libice6",
    "libEGL.so": "libegl1",
    "libGL.so": "libgl1",
    "libOpenGL.so": "libopengl0",
    "libfontconfig.so": "libfontconfig1",
    "libfreetype.so": "libfreetype6",
    "libdbus-1.so": "libdbus-1-3",
    "libglib-2.0.so": "libglib2.0-0",
}
# The README's system step ("Two commands on a fresh machine") installs these on a minimal
# Debian; .ci/run installs the same and checks with ``main``; a test keeps the three equal.
DEBIAN_SYSTEM_PACKAGES = (
    "libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0 "
    "libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1 "
    "libfontconfig1 libdbus-1-3"
)
OTHER_DISTRIBUTIONS = (
    "Fedora/RHEL: sudo dnf install xcb-util-wm xcb-util-keysyms xcb-util-cursor "
    "xcb-util-image xcb-util-renderutil libxkbcommon-x11 mesa-libEGL\n"
    "Arch: sudo pacman -S xcb-util-wm xcb-util-keysyms xcb-util-cursor xcb-util-image "
    "xcb-util-renderutil libxkbcommon-x11"
)
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def xcb_plugin() -> Path | None:
    """The PySide6 ``libqxcb.so`` this interpreter (or a frozen build) would load."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        plugin = Path(location) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def missing_libraries(plugin: Path) -> list[str]:
    """Sonames ``ldd`` cannot find for ``plugin`` (empty when all load, or without ldd)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    try:
        out = subprocess.run(
            [ldd, str(plugin)], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return list(dict.fromkeys(_NOT_FOUND.findall(out)))


def install_advice(missing: list[str]) -> str:
    """What is missing and the commands that install it."""
    packages = list(dict.fromkeys(_package(name) or name for name in missing))
    unknown = [name for name in missing if _package(name) is None]
    lines = [
        "The viewer cannot open a window: Qt's X11 plugin needs shared libraries this "
        f"system lacks: {', '.join(missing)}.",
        "Install them (Debian/Ubuntu):",
        "  sudo apt-get install " + " ".join(p for p in packages if p not in unknown),
        "Other systems:",
        *(f"  {line}" for line in OTHER_DISTRIBUTIONS.splitlines()),
    ]
    if unknown:
        lines.append(f"Not in this list (find its package by name): {', '.join(unknown)}")
    lines.append(
        "Without a screen, QT_QPA_PLATFORM=offscreen runs the viewer headless (tests, --self-test)."
    )
    return "\n".join(lines)


def _package(soname: str) -> str | None:
    for prefix, package in DEBIAN_PACKAGES.items():
        if soname.startswith(prefix):
            return package
    return None


def uses_xcb(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """Whether Qt will try its X11 plugin here: Linux, and no other platform chosen."""
    if not sys.platform.startswith("linux"):
        return False
    platform = environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0].split(";")[0] == "xcb"
    return not environ.get("WAYLAND_DISPLAY")


def preflight(environ: os._Environ[str] | dict[str, str] = os.environ) -> str | None:
    """``None`` when the viewer can start here, else a message saying what to do."""
    if not uses_xcb(environ):
        return None
    plugin = xcb_plugin()
    missing = missing_libraries(plugin) if plugin is not None else []
    if missing:
        return install_advice(missing)
    if not environ.get("DISPLAY"):
        return (
            "The viewer needs a screen: DISPLAY is not set (no X server, or an SSH session "
            "without -X). Start it from a desktop session, or run headless with "
            "QT_QPA_PLATFORM=offscreen."
        )
    return None


def main() -> int:
    plugin = xcb_plugin()
    if plugin is None:
        print("PySide6's xcb platform plugin was not found")
        return 1
    missing = missing_libraries(plugin)
    if missing:
        print(install_advice(missing))
        return 1
    print(f"{plugin}: every shared library it needs is found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
