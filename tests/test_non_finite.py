"""A non-finite number never becomes a verdict: pixels, scores, the rule and the JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from pydicom import uid
from pydicom.dataset import Dataset, FileMetaDataset

from mura_desktop.__main__ import main
from mura_desktop.cli.predict import EXIT_PARTIAL
from mura_desktop.core.errors import BlankImageError, CorruptImageError
from mura_desktop.core.pixels import load_image
from mura_desktop.core.results import NON_FINITE_SCORE, ResultSet, StudyResult, ViewResult
from mura_desktop.core.study import Study
from mura_desktop.core.verdict import VerdictRule


def _dicom(path: Path, slope: str, intercept: str = "0", study: str = "1.2.3.4") -> Path:
    stored = np.linspace(0, 4095, 64 * 64).round().astype(np.uint16).reshape(64, 64)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = uid.DigitalXRayImageStorageForPresentation
    ds.SOPInstanceUID = uid.generate_uid()
    ds.StudyInstanceUID = study
    ds.Modality = "DX"
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    ds.set_pixel_data(stored, "MONOCHROME2", 12)
    ds.save_as(path, enforce_file_format=True)
    return path


def _strict(text: str) -> dict:
    def refuse(token: str) -> None:
        raise AssertionError(f"non-JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_a_huge_but_finite_rescale_still_gives_the_image(tmp_path):
    plain = load_image(_dicom(tmp_path / "a.dcm", "1")).pixels
    huge = load_image(_dicom(tmp_path / "b.dcm", "1e38", "-1e37")).pixels
    assert huge.dtype == np.float32 and np.isfinite(huge).all()
    np.testing.assert_allclose(huge, plain, atol=1e-5)


def test_a_rescale_that_overflows_fails_with_a_reason(tmp_path):
    with pytest.raises(CorruptImageError, match="not finite after the rescale"):
        load_image(_dicom(tmp_path / "c.dcm", "1e308", "1e308"))


def test_a_constant_image_is_flagged(tmp_path):
    with pytest.raises(BlankImageError, match="same value"):
        load_image(_dicom(tmp_path / "d.dcm", "0", "100"))


def test_the_rule_refuses_nan():
    rule = VerdictRule()
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="finite"):
            rule.verdict(bad)
        with pytest.raises(ValueError, match="finite"):
            rule.aggregate([0.2, bad])


def test_a_non_finite_score_is_a_failed_view_not_a_normal_study():
    study = Study(uid="u", name="u")
    views = [ViewResult("a.png", math.nan), ViewResult("b.png", 0.8)]
    result = StudyResult.from_views(study, views, VerdictRule())
    assert views[0].error == NON_FINITE_SCORE and views[0].probability is None
    assert result.probability == pytest.approx(0.8) and result.verdict == "abnormal"
    alone = StudyResult.from_views(study, [ViewResult("a.png", math.inf)], VerdictRule())
    assert alone.probability is None and alone.verdict is None


def test_predict_on_an_overflowing_dicom_is_partial_and_writes_strict_json(
    tmp_path, tiny_bundle_path, one_torch_thread, capsys
):
    data = tmp_path / "data"
    data.mkdir()
    _dicom(data / "good.dcm", "1")
    _dicom(data / "bad.dcm", "1e308", "1e308")
    out = tmp_path / "r.json"
    code = main(["predict", str(data), "--model", str(tiny_bundle_path), "--json", str(out)])
    assert code == EXIT_PARTIAL, capsys.readouterr().err
    payload = _strict(out.read_text())
    [study] = payload["studies"]
    bad = next(v for v in study["views"] if v["path"].endswith("bad.dcm"))
    assert bad["probability"] is None and "not finite" in bad["error"]
    assert study["probability"] is not None and study["verdict"] in ("normal", "abnormal")
    ResultSet.from_json(out)
