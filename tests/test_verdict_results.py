import json

import pytest

from mura_desktop.core.results import ResultSet, StudyResult, ViewResult
from mura_desktop.core.verdict import ABNORMAL, INDETERMINATE, NORMAL, VerdictRule


def test_mean_rule_matches_paper():
    rule = VerdictRule()
    p = rule.aggregate([0.2, 0.9, 0.7])
    assert p == pytest.approx(0.6)
    assert rule.verdict(p) == ABNORMAL
    assert rule.verdict(0.4999) == NORMAL
    assert rule.describe(3) == "mean of 3 views ≥ 0.50"


def test_max_rule_and_band():
    rule = VerdictRule(aggregation="max", threshold=0.5, band=(0.3, 0.7))
    assert rule.aggregate([0.1, 0.65]) == pytest.approx(0.65)
    assert rule.verdict(0.65) == INDETERMINATE
    assert rule.verdict(0.29) == NORMAL
    assert rule.verdict(0.7) == ABNORMAL
    assert rule.decide(0.65) is True  # metrics still use the threshold
    assert "indeterminate in [0.30, 0.70)" in rule.describe(2)


@pytest.mark.parametrize(
    "kwargs", [{"aggregation": "median"}, {"threshold": 1.5}, {"band": (0.8, 0.2)}]
)
def test_invalid_rules_rejected(kwargs):
    with pytest.raises(ValueError):
        VerdictRule(**kwargs)


def test_empty_study_cannot_be_aggregated():
    with pytest.raises(ValueError):
        VerdictRule().aggregate([])


def _result_set() -> ResultSet:
    rule = VerdictRule(threshold=0.4, band=(0.2, 0.6))
    return ResultSet(
        studies=[
            StudyResult(
                uid="/data/XR_WRIST/patient1/study1_positive",
                name="XR_WRIST/patient1/study1_positive",
                views=[
                    ViewResult(path="/data/a/image1.png", probability=0.81),
                    ViewResult(path="/data/a/image2.png", error="image2.png: empty file (0 bytes)"),
                ],
                body_part="WRIST",
                label=1,
                patient_id="patient1",
                split="valid",
                probability=0.81,
                verdict=ABNORMAL,
                rule=rule,
            ),
            StudyResult(
                uid="x",
                name="x",
                views=[ViewResult(path="x.png", probability=0.1)],
                probability=0.1,
                verdict=NORMAL,
                rule=rule,
            ),
        ],
        model={"name": "test", "hash": "abc"},
    )


def test_json_round_trip(tmp_path):
    rs = _result_set()
    rs.to_json(tmp_path / "r.json")
    back = ResultSet.from_json(tmp_path / "r.json")
    assert back.studies == rs.studies
    assert back.model == rs.model
    assert back.studies[0].n_failed == 1
    assert back.studies[0].rule_text == "mean of 1 view ≥ 0.40; indeterminate in [0.20, 0.60)"


def test_csv_round_trip(tmp_path):
    rs = _result_set()
    rs.to_csv(tmp_path / "r.csv")
    back = ResultSet.from_csv(tmp_path / "r.csv", rule=rs.studies[0].rule)
    assert back.studies == rs.studies


def test_foreign_json_rejected(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="not a MURA Desktop results file"):
        ResultSet.from_json(tmp_path / "x.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"bad\.json"):
        ResultSet.from_json(tmp_path / "bad.json")
