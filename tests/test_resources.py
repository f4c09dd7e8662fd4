"""Bundled resources: lookup from source and from a PyInstaller bundle, the samples, the
demo model, the icons and the Linux desktop entry."""

import re
import sys
import xml.etree.ElementTree as ET
from configparser import ConfigParser
from pathlib import Path

import pydicom
import pytest
from PIL import Image

from mura_desktop.core import resources
from mura_desktop.core.discovery import discover
from mura_desktop.core.labels import Label
from mura_desktop.core.pixels import load_image

ROOT = Path(__file__).resolve().parents[1]
MODEL_CARD = ROOT / "resources" / "models" / "MODEL_CARD.md"


# --- lookup ---------------------------------------------------------------------------------


def test_source_tree_lookup_points_at_the_repository():
    assert not resources.is_frozen()
    assert resources.resources_dir() == ROOT / "resources"
    assert resources.samples_dir() == ROOT / "resources" / "samples"
    assert resources.sample_paths() == [
        ROOT / "resources" / "samples" / "MURA-v1.1",
        ROOT / "resources" / "samples" / "dicom",
    ]
    model = resources.default_model_path()
    assert model is not None and model.parent == ROOT / "resources" / "models"
    assert model.suffix == resources.MODEL_SUFFIX
    assert resources.icon_path() == ROOT / "resources" / "icons" / "mura-desktop.png"


def test_frozen_lookup_uses_meipass(monkeypatch, tmp_path):
    res = tmp_path / "resources"
    (res / "models").mkdir(parents=True)
    (res / "models" / "b.mura").write_bytes(b"x")
    (res / "models" / "a.mura").write_bytes(b"x")
    (res / "models" / "notes.txt").write_text("not a model")
    (res / "samples" / "dicom").mkdir(parents=True)
    (res / "icons").mkdir()
    (res / "icons" / "mura-desktop.ico").write_bytes(b"x")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)

    assert resources.is_frozen()
    assert resources.resources_dir() == res
    assert resources.default_model_path() == res / "models" / "a.mura"
    assert resources.sample_paths() == [res / "samples" / "dicom"]  # MURA-v1.1 absent
    assert resources.icon_path(".ico") == res / "icons" / "mura-desktop.ico"
    assert resources.icon_path(".png") is None


def test_frozen_bundle_without_resources_has_no_model_or_samples(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.default_model_path() is None
    assert resources.sample_paths() == []


# --- samples --------------------------------------------------------------------------------


def test_samples_are_discovered_with_labels_and_body_parts():
    scan = discover(resources.sample_paths())
    assert scan.problems == []
    png = [s for s in scan.studies if not s.views[0].is_dicom]
    dicom = [s for s in scan.studies if s.views[0].is_dicom]
    assert len(png) == 6 and len(dicom) == 2
    for part in ("ELBOW", "HAND", "WRIST"):
        labels = sorted(s.label for s in png if s.body_part == part)
        assert labels == [Label.NORMAL, Label.ABNORMAL], part
    assert sorted(s.body_part for s in dicom) == ["FOREARM", "SHOULDER"]
    assert all(v.is_dicom for s in dicom for v in s.views)


def test_every_sample_view_decodes_and_dicoms_use_three_codecs():
    scan = discover(resources.sample_paths())
    syntaxes = set()
    for study in scan.studies:
        for view in study.views:
            image = load_image(view.path)
            assert max(image.pixels.shape) == 320, view.path
            if view.is_dicom:
                syntaxes.add(pydicom.dcmread(view.path).file_meta.TransferSyntaxUID)
    assert syntaxes == {
        pydicom.uid.JPEG2000Lossless,
        pydicom.uid.RLELossless,
        pydicom.uid.ExplicitVRLittleEndian,
    }


def test_samples_stay_small():
    files = [p for p in resources.samples_dir().rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 3_000_000


# --- demo model -----------------------------------------------------------------------------


def test_demo_bundle_loads_is_demo_and_matches_its_model_card():
    from mura_desktop.inference.bundle import load_bundle

    path = resources.default_model_path()
    bundle = load_bundle(path)  # verifies the stored content hash
    assert bundle.is_demo
    assert bundle.architecture == "densenet121"
    assert 128 <= bundle.input_size <= 192
    card = MODEL_CARD.read_text(encoding="utf-8")
    assert path.name in card
    assert bundle.content_hash[:12] in card
    assert "not for real radiographs" in card.lower()
    size_mb = re.search(r"file size[^0-9]*([0-9.]+) MB", card, re.IGNORECASE)
    assert size_mb is not None
    assert float(size_mb.group(1)) == pytest.approx(path.stat().st_size / 1e6, abs=0.06)


# --- desktop integration --------------------------------------------------------------------


def test_icons_exist_in_every_format():
    with Image.open(resources.icon_path(".png")) as png:
        assert png.size == (256, 256) and png.mode == "RGBA"
    with Image.open(resources.icon_path(".ico")) as ico:
        assert {(16, 16), (32, 32), (256, 256)} <= ico.info["sizes"]
    svg = ET.parse(resources.icon_path(".svg")).getroot()
    assert svg.tag.endswith("svg") and svg.get("viewBox") == "0 0 256 256"


def test_desktop_entry_names_the_command_and_icon():
    entry = ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "resources" / "mura-desktop.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert section["Exec"].split()[0] == "mura-desktop"
    assert section["Icon"] == resources.ICON_NAME
    assert section["Categories"].endswith(";")
