import numpy as np
import pytest
from sklearn import metrics as skm

from mura_desktop.core.metrics import (
    OVERALL,
    binary_metrics,
    cohen_kappa,
    format_metrics_table,
    roc_auc,
    roc_curve,
    study_metrics,
    threshold_for_sensitivity,
    threshold_for_specificity,
)
from mura_desktop.core.results import StudyResult


@pytest.fixture
def scored():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    s = np.clip(0.35 * y + rng.normal(0.35, 0.2, 300), 0, 1).round(2)  # rounding makes ties
    return y, s


def test_against_sklearn(scored):
    y, s = scored
    m = binary_metrics(y, s, threshold=0.5)
    pred = (s >= 0.5).astype(int)
    assert m.kappa == pytest.approx(skm.cohen_kappa_score(y, pred))
    assert m.auroc == pytest.approx(skm.roc_auc_score(y, s))
    assert m.accuracy == pytest.approx(skm.accuracy_score(y, pred))
    assert m.sensitivity == pytest.approx(skm.recall_score(y, pred))
    assert m.specificity == pytest.approx(skm.recall_score(1 - y, 1 - pred))
    assert m.precision == pytest.approx(skm.precision_score(y, pred))
    assert m.f1 == pytest.approx(skm.f1_score(y, pred))
    assert m.confusion.tolist() == skm.confusion_matrix(y, pred).tolist()


def test_roc_curve_against_sklearn(scored):
    y, s = scored
    fpr, tpr, thr = roc_curve(y, s)
    sk_fpr, sk_tpr, sk_thr = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    np.testing.assert_allclose(thr[1:], sk_thr[1:])


def test_hand_computed_small_case():
    y = [1, 1, 0, 0, 1]
    s = [0.9, 0.4, 0.6, 0.1, 0.8]
    m = binary_metrics(y, s)
    assert (m.tn, m.fp, m.fn, m.tp) == (1, 1, 1, 2)
    # po = 3/5, pe = (3/5)(3/5) + (2/5)(2/5) = 13/25 -> kappa = (15/25 - 13/25) / (12/25) = 1/6
    assert m.kappa == pytest.approx(1 / 6)
    assert m.auroc == pytest.approx(5 / 6)  # 5 of 6 positive/negative pairs ordered right


def test_degenerate_cases():
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3]))
    assert np.isnan(cohen_kappa([1, 1], [1, 1]))
    m = binary_metrics([0, 0], [0.1, 0.2])
    assert np.isnan(m.sensitivity) and m.specificity == 1.0
    assert m.to_dict()["sensitivity"] is None


@pytest.mark.parametrize(
    ("labels", "scores", "reason"),
    [
        ([0, 0, 0], [0.1, 0.2, 0.3], "only normal studies"),  # all right: κ would read 1.000
        ([1, 1], [0.9, 0.8], "only abnormal studies"),
        ([0, 0, 0], [0.1, 0.7, 0.9], "only normal studies"),  # κ would read 0.000
    ],
)
def test_one_class_groups_have_no_kappa_but_say_why(labels, scores, reason):
    m = binary_metrics(labels, scores)
    for name in ("kappa", "auroc", "precision", "f1"):
        assert np.isnan(getattr(m, name)) and reason in m.undefined[name]
        assert m.text(name) == "n/a"
    assert not np.isnan(m.accuracy) and "accuracy" not in m.undefined
    data = m.to_dict()
    assert data["kappa"] is None and reason in data["undefined"]["kappa"]


def _result(uid: str, part: str, label: int, probability: float) -> StudyResult:
    return StudyResult(uid=uid, name=uid, body_part=part, label=label, probability=probability)


def test_metrics_table_prints_na_with_the_reason():
    studies = [
        _result("a", "WRIST", 1, 0.9), _result("b", "WRIST", 0, 0.2),
        _result("c", "HAND", 0, 0.1), _result("d", "HAND", 0, 0.3),
    ]  # fmt: skip
    metrics = study_metrics(studies)
    table = format_metrics_table(metrics)
    hand = next(line for line in table.splitlines() if line.startswith("HAND"))
    assert hand.split()[3:5] == ["n/a", "n/a"] and "1.000" not in hand.split()[3]
    assert "HAND: κ, AUROC, precision, F1: only normal studies: needs both classes" in table
    assert "WRIST:" not in table  # both classes, everything defined


def test_operating_points(scored):
    y, s = scored
    t_sens = threshold_for_sensitivity(y, s, 0.95)
    t_spec = threshold_for_specificity(y, s, 0.95)
    assert binary_metrics(y, s, t_sens).sensitivity >= 0.95
    assert binary_metrics(y, s, t_spec).specificity >= 0.95
    assert t_sens <= t_spec
    # the highest threshold meeting the target: one step higher would miss it
    higher = s[s > t_sens]
    if higher.size:
        assert binary_metrics(y, s, higher.min()).sensitivity < 0.95


def test_study_metrics_by_part():
    studies = [
        StudyResult(uid=str(i), name=str(i), body_part=part, label=label, probability=p)
        for i, (part, label, p) in enumerate(
            [("WRIST", 1, 0.9), ("WRIST", 0, 0.2), ("HAND", 1, 0.3), ("HAND", 0, 0.1)]
        )
    ] + [StudyResult(uid="u", name="u", label=None, probability=0.9)]
    m = study_metrics(studies)
    assert list(m) == [OVERALL, "HAND", "WRIST"]
    assert m[OVERALL].n == 4
    assert m["WRIST"].accuracy == 1.0
    assert m["HAND"].sensitivity == 0.0
    table = format_metrics_table(m)
    assert table.splitlines()[2].startswith("ALL")


def test_no_negative_zero_is_shown():
    from mura_desktop.core.metrics import format_number

    assert format_number(-0.0) == format_number(-0.0001) == "0.000"
    assert format_number(-0.0006) == "-0.001" and format_number(0.5) == "0.500"
    m = binary_metrics([0, 1, 0, 1], [0.6, 0.4, 0.4, 0.6])  # κ exactly 0, computed as -0.0
    assert m.text("kappa") == "0.000"
