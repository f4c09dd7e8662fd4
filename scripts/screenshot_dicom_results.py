"""Score DICOM files with `predict --dicom-out` and render our SR and Secondary Captures
as the viewer's DICOM results view shows them (offscreen), one PNG per study.

    PYTHONPATH=. .venv/bin/python scripts/screenshot_dicom_results.py DICOM... \\
        --out docs/screenshots [--model BUNDLE]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="DICOM files or folders")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--model", type=Path, help="model bundle (default: the bundled one)")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from mura_desktop.__main__ import main as mura
    from mura_desktop.gui.dicom_results_view import DicomResultsView

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        dicom_out = Path(tmp) / "dicom"
        model = ["--model", str(args.model)] if args.model else []
        code = mura(["predict", *map(str, args.paths), *model, "--dicom-out", str(dicom_out)])
        if code not in (0, 1):
            return code
        args.out.mkdir(parents=True, exist_ok=True)
        for folder in sorted(dicom_out.iterdir()):
            view = DicomResultsView()
            view.resize(1200, 640)
            view.open_folder(folder)
            view.show()
            app.processEvents()
            view.captures.setCurrentRow(0)  # scaled to the shown size
            app.processEvents()
            target = args.out / f"dicom_results_{folder.name[-12:]}.png"
            view.grab().save(str(target))
            print(target)
            view.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
