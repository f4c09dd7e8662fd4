import dataclasses
import json

import pytest

from mura_desktop.core import strict_json
from mura_desktop.core.labels import Verdict
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.results import ResultSet, StudyResult, ViewResult
from mura_desktop.core.verdict import VerdictRule


def test_mean_rule_matches_paper():
    rule = VerdictRule()
    p = rule.aggregate([0.2, 0.9, 0.7])
    assert p == pytest.approx(0.6)
    assert rule.verdict(p) == Verdict.ABNORMAL
    assert rule.verdict(0.4999) == Verdict.NORMAL
    assert rule.describe(3) == "mean of 3 views ≥ 0.50"


def test_max_rule_and_band():
    rule = VerdictRule(aggregation="max", threshold=0.5, band=(0.3, 0.7))
    assert rule.aggregate([0.1, 0.65]) == pytest.approx(0.65)
    assert rule.verdict(0.65) == Verdict.INDETERMINATE
    assert rule.verdict(0.29) == Verdict.NORMAL
    assert rule.verdict(0.7) == Verdict.ABNORMAL
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
                verdict=Verdict.ABNORMAL,
                rule=rule,
            ),
            StudyResult(
                uid="x",
                name="x",
                views=[ViewResult(path="x.png", probability=0.1)],
                probability=0.1,
                verdict=Verdict.NORMAL,
                rule=rule,
            ),
        ],
        model=ModelRecord(name="test", content_hash="abc", details={"device": "cpu"}),
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


def test_per_part_thresholds_decide_describe_and_round_trip():
    from mura_desktop.core.metrics import study_metrics
    from mura_desktop.core.results import StudyResult
    from mura_desktop.core.verdict import VerdictRule

    rule = VerdictRule(threshold=0.5, part_thresholds={"HAND": 0.3})
    assert rule.decide(0.4, "HAND") and not rule.decide(0.4, "WRIST") and not rule.decide(0.4)
    assert rule.describe(2, "HAND") == "mean of 2 views ≥ 0.30 (HAND's threshold)"
    assert rule.describe(2, "WRIST") == "mean of 2 views ≥ 0.50"
    assert VerdictRule.from_dict(rule.to_dict()) == rule
    assert VerdictRule.from_dict({"threshold": 0.5}).part_thresholds == ()  # older files
    with pytest.raises(ValueError, match="HAND is outside"):
        VerdictRule(part_thresholds={"HAND": 2.0})
    studies = [
        StudyResult(uid=str(i), name=str(i), body_part=part, label=label, probability=0.4,
                    rule=rule)
        for i, (part, label) in enumerate([("HAND", 1), ("HAND", 1), ("WRIST", 0), ("WRIST", 1)])
    ]  # fmt: skip
    assert [s.predicted_label for s in studies] == [1, 1, 0, 0]
    metrics = study_metrics(studies)
    assert (metrics["ALL"].tp, metrics["ALL"].fn, metrics["ALL"].tn) == (2, 1, 1)
    assert metrics["HAND"].sensitivity == 1.0 and metrics["WRIST"].sensitivity == 0.0
    assert study_metrics(studies, threshold=0.5)["ALL"].tp == 0  # an explicit threshold wins


def test_the_model_record_has_one_hash_and_old_files_still_read(tmp_path):
    record = ModelRecord.from_dict({"content_hash": "abc", "name": "m", "members": 2})
    assert (record.content_hash, record.name, record.details["members"]) == ("abc", "m", 2)
    assert ModelRecord.from_dict({"hash": "old"}).content_hash == "old"  # files before 0.2
    assert not ModelRecord.from_dict({}) and not ModelRecord()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.name = "changed"
    with pytest.raises(TypeError):
        record.details["members"] = 3
    assert record.with_details(device="cpu").details == {"members": 2, "device": "cpu"}
    assert record.details == {"members": 2}  # the original is untouched
    path = tmp_path / "old.json"  # a viewer results file from before 0.2
    path.write_text('{"format": "mura-desktop-results", "version": 1, "model": {"hash": "h1"}}')
    assert ResultSet.from_json(path).model.content_hash == "h1"
    assert json.loads(strict_json.dumps(record.to_dict())) == {
        "content_hash": "abc",
        "name": "m",
        "members": 2,
        "demo": False,
    }


def test_label_and_verdict_keep_their_file_forms(tmp_path) -> None:
    from mura_desktop.core.labels import Label, label_word
    from mura_desktop.core.results import ResultSet, StudyResult, ViewResult

    result = StudyResult(
        uid="s",
        name="s",
        views=[ViewResult(path="a.png", probability=0.9)],
        label=1,
        probability=0.9,
        verdict="abnormal",
    )
    assert result.label is Label.ABNORMAL and result.verdict is Verdict.ABNORMAL
    assert f"{result.verdict}" == "abnormal" and label_word(result.label) == "abnormal"
    path = tmp_path / "r.json"
    ResultSet(studies=[result]).to_json(path)
    text = path.read_text()
    assert '"verdict": "abnormal"' in text and '"label": 1' in text
    back = ResultSet.from_json(path).studies[0]
    assert back.label is Label.ABNORMAL and back.verdict is Verdict.ABNORMAL
    csv = tmp_path / "r.csv"
    ResultSet(studies=[result]).to_csv(csv)
    assert ",abnormal," in csv.read_text()
    assert ResultSet.from_csv(csv).studies[0].label is Label.ABNORMAL
    assert Label.of(None) is None and Label.of(0) is Label.NORMAL
