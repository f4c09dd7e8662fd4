"""Render the app icon: ``resources/icons/mura-desktop.svg`` (hand-written, the source) to a
256 px PNG (window icon, Linux ``.desktop``) and a multi-size ``.ico`` (Windows build).

    PYTHONPATH=. QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/make_icons.py
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(svg: Path, size: int) -> Image.Image:
    """The SVG drawn at ``size``×``size`` pixels, antialiased, as an RGBA Pillow image."""
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGBA")


def main() -> int:
    QGuiApplication(sys.argv[:1])
    svg = ICONS / "mura-desktop.svg"
    render(svg, 256).save(ICONS / "mura-desktop.png", optimize=True)
    frames = [render(svg, s) for s in ICO_SIZES]
    frames[-1].save(ICONS / "mura-desktop.ico", sizes=[(s, s) for s in ICO_SIZES],
                    append_images=frames[:-1])  # fmt: skip
    for path in sorted(ICONS.iterdir()):
        print(f"{path.name}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
