"""Measurements (core): distances in mm from the file's calibration, angles, and the
calibration's source as DICOM states it."""

from __future__ import annotations

import math

import pytest
from pydicom.dataset import Dataset

from mura_desktop.core.measure import Calibration, Measurement


def _ds(**elements) -> Dataset:
    ds = Dataset()
    for key, value in elements.items():
        setattr(ds, key, value)
    return ds


def test_calibration_follows_the_dicom_rules():
    assert Calibration.from_dataset(_ds()) is None
    pixel = Calibration.from_dataset(_ds(PixelSpacing=[0.2, 0.1], ImagerPixelSpacing=[0.3, 0.3]))
    assert (pixel.row_mm, pixel.column_mm) == (0.2, 0.1)
    assert pixel.source == "Pixel Spacing (as the file states it)"
    calibrated = Calibration.from_dataset(
        _ds(PixelSpacing=[0.2, 0.2], PixelSpacingCalibrationType="GEOMETRY")
    )
    assert calibrated.source == "Pixel Spacing (calibrated: GEOMETRY)"
    detector = Calibration.from_dataset(_ds(ImagerPixelSpacing=[0.15, 0.15]))
    assert "magnification not corrected" in detector.source
    corrected = Calibration.from_dataset(
        _ds(ImagerPixelSpacing=[0.15, 0.15], EstimatedRadiographicMagnificationFactor=1.5)
    )
    assert corrected.row_mm == pytest.approx(0.1) and "1.5" in corrected.source
    assert Calibration.from_dataset(_ds(PixelSpacing=[0, 0.2])) is None  # unusable


def test_distances_use_each_axis_spacing_and_fall_back_to_pixels():
    segment = ((10.0, 10.0), (40.0, 50.0))  # 30 columns, 40 rows: 50 px
    assert Measurement("distance", segment).value() == (50.0, "px")
    calibration = Calibration(row_mm=0.2, column_mm=0.1, source="test")
    number, unit = Measurement("distance", segment, calibration).value()
    assert unit == "mm" and number == pytest.approx(math.hypot(3.0, 8.0))
    assert Measurement("distance", segment, calibration).label() == "8.5 mm"


def test_angles_three_point_and_cobb():
    right = Measurement("angle", ((10, 0), (0, 0), (0, 10)))
    assert right.value() == (pytest.approx(90.0), "°") and right.label() == "90.0°"
    # Cobb: the acute angle between two lines, whichever way each was drawn
    cobb = Measurement("cobb", ((0, 0), (10, 0), (0, 5), (10, 5 + 10 * math.tan(math.radians(30)))))
    assert cobb.value()[0] == pytest.approx(30.0)
    reversed_line = Measurement("cobb", ((10, 0), (0, 0), *cobb.points[2:]))
    assert reversed_line.value()[0] == pytest.approx(30.0)
    # on anisotropic pixels the angle is taken in millimetres, not in pixels
    square = Calibration(row_mm=0.2, column_mm=0.1, source="test")
    diagonal = Measurement("angle", ((10, 0), (0, 0), (10, 10)), square)
    assert diagonal.value()[0] == pytest.approx(math.degrees(math.atan2(2.0, 1.0)))


def test_round_trip_and_refusals():
    calibration = Calibration(0.2, 0.2, "Pixel Spacing (as the file states it)")
    m = Measurement("distance", ((0, 0), (3, 4)), calibration)
    data = m.to_dict()
    assert data["value"] == pytest.approx(1.0) and data["unit"] == "mm"
    assert Measurement.from_dict(data) == m
    with pytest.raises(ValueError, match="takes 3 points"):
        Measurement("angle", ((0, 0), (1, 1)))
    with pytest.raises(ValueError, match="unknown measurement"):
        Measurement("area", ((0, 0), (1, 1)))
