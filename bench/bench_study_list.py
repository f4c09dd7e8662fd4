"""The study list's cost: building it, painting it, and one step to the next study.

A dataset the size of MURA (``--studies``, 15,000 by default: 4 body parts, 3 studies a
patient, half of them scored; ``many_studies`` of ``tests/viewer_support.py``) fills the
study list; then, in the 1400×900 window's list (420 px wide), with the tree expanded:

- build: ``set_collection`` (model, proxy, expanding the datasets);
- paint: one full repaint of the list's viewport, the mean of ``--repeats``;
- step: ``step(1)`` (the next study: its groups expand, the list scrolls) and the events
  that follow until the list has painted, the mean of ``--repeats`` steps;
- Python calls: how many times Qt called into Python per full paint.

Every call from Qt into Python waits for the interpreter lock, and while a dataset is
scored the GUI thread shares the CPU with inference: calls that cost 10 µs on a quiet
machine then cost several times that (see bench_stall.py).

    PYTHONPATH=. .venv/bin/python bench/bench_study_list.py [--studies 15000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=15000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from mura_desktop.gui.study_browser import StudyBrowser

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from viewer_support import many_studies

    app = QApplication.instance() or QApplication(sys.argv[:1])
    studies, results = many_studies(args.studies)

    browser = StudyBrowser()
    browser.resize(420, 900)
    browser.show()
    app.processEvents()
    started = time.perf_counter()
    browser.set_collection([("MURA", studies)], results)
    build_s = time.perf_counter() - started
    app.processEvents()
    browser.select_first()
    app.processEvents()

    calls = [0]
    here = sys._getframe()

    def count(frame, event, _arg) -> None:
        if event == "call" and frame.f_back is here:  # called by Qt, within repaint()
            calls[0] += 1

    viewport = browser.tree.viewport()
    started = time.perf_counter()
    for _ in range(args.repeats):
        viewport.repaint()
    paint_ms = (time.perf_counter() - started) / args.repeats * 1e3
    sys.setprofile(count)
    viewport.repaint()
    sys.setprofile(None)

    started = time.perf_counter()
    for _ in range(args.repeats):
        browser.step(1)
        app.processEvents()
    step_ms = (time.perf_counter() - started) / args.repeats * 1e3

    print(f"{args.studies:,} studies ({len(results):,} scored), the list {viewport.width()}×"
          f"{viewport.height()} px; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")  # fmt: skip
    print(f"  build (set_collection)        {build_s * 1e3:8.1f} ms")
    print(f"  one full paint of the list    {paint_ms:8.2f} ms")
    print(f"  Python calls in that paint    {calls[0]:8d}")
    print(f"  one step to the next study    {step_ms:8.2f} ms (the step and its paint)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
