"""Build the one-folder app with PyInstaller (``build.spec``), then smoke-test it.

    .venv/bin/python scripts/build_app.py                  # build, size, self-test
    .venv/bin/python scripts/build_app.py --flavour cpu    # the small CPU app (no torch)
    .venv/bin/python scripts/build_app.py --no-build --starts 3 [DICOM ...]

Prints the build time, the bundle's size and its largest files, then runs the frozen
``mura-desktop --self-test`` (off-screen) with any extra DICOM files/folders given, and
prints its report and the cold start: wall time from spawning the executable to the main
window shown (the self-test prints the moment it showed the window). With ``--starts N``
the executable is started N times; the first start after a build is the coldest this
machine gives without dropping the page cache. Exit status: the self-test's (0 = passed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMES = {"full": "mura-desktop", "cpu": "mura-desktop-cpu"}
SHOWN = re.compile(r"^window_shown_unix=([0-9.]+)$", re.MULTILINE)


def build(dist: Path, work: Path, flavour: str) -> float:
    """Run PyInstaller on build.spec; returns the wall time in seconds."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--distpath", str(dist), "--workpath", str(work / flavour), str(ROOT / "build.spec")],
        cwd=ROOT, check=True, env={**os.environ, "MURA_FLAVOUR": flavour},
    )  # fmt: skip
    return time.perf_counter() - started


def folder_size(folder: Path) -> tuple[int, list[tuple[int, Path]]]:
    """Total bytes of the regular files under ``folder`` (links not followed) and the files."""
    files = [(p.stat().st_size, p) for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(size for size, _ in files), sorted(files, reverse=True)


def report_size(bundle: Path, top: int) -> None:
    total, files = folder_size(bundle)
    print(
        f"bundle {bundle}: {total / 2**30:.2f} GiB ({total / 1e9:.2f} GB) in {len(files):,} files"
    )
    groups: dict[str, int] = {}
    internal = bundle / "_internal"
    for size, path in files:
        rel = path.relative_to(internal if internal in path.parents else bundle).parts
        key = "/".join(rel[:2]) if rel[0] in ("nvidia", "torch", "PySide6") else rel[0]
        groups[key] = groups.get(key, 0) + size
    print("largest parts:")
    for key, size in sorted(groups.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {size / 2**20:9.1f} MiB  {key}")
    print("largest files:")
    for size, path in files[:top]:
        print(f"  {size / 2**20:9.1f} MiB  {path.relative_to(bundle)}")


def smoke(executable: Path, extra: list[str], starts: int) -> int:
    """Run the frozen self-test ``starts`` times; print each start-up time and the last report."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    code = 1
    for i in range(starts):
        t0 = time.time()
        run = subprocess.run(
            [str(executable), "--self-test", *extra], capture_output=True, text=True, env=env
        )
        wall = time.time() - t0
        shown = SHOWN.search(run.stdout)
        start = f"{float(shown.group(1)) - t0:.2f} s" if shown else "not shown"
        print(f"start {i + 1}: spawn -> window shown {start}; self-test exit {run.returncode} "
              f"after {wall:.1f} s")  # fmt: skip
        code = run.returncode
    print(run.stdout, end="")
    if code != 0:
        print(run.stderr[-4000:], file=sys.stderr)
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extra", nargs="*", help="DICOM files/folders the self-test decodes too")
    parser.add_argument("--flavour", choices=NAMES, default="full",
                        help="full (torch, CUDA) or cpu (OpenVINO only, no torch)")  # fmt: skip
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller")
    parser.add_argument("--no-build", action="store_true", help="test the existing bundle")
    parser.add_argument("--no-smoke", action="store_true", help="build only")
    parser.add_argument("--starts", type=int, default=1, help="self-test runs (start times)")
    parser.add_argument("--top", type=int, default=12, help="largest parts/files to list")
    args = parser.parse_args()

    name = NAMES[args.flavour]
    bundle = args.dist / name
    if not args.no_build:
        if bundle.exists():
            shutil.rmtree(bundle)
        seconds = build(args.dist, args.work, args.flavour)
        print(f"build time: {seconds / 60:.1f} min ({seconds:.0f} s)")
    report_size(bundle, args.top)
    if args.no_smoke:
        return 0
    executable = bundle / (f"{name}.exe" if sys.platform == "win32" else name)
    return smoke(executable, args.extra, max(1, args.starts))


if __name__ == "__main__":
    sys.exit(main())
