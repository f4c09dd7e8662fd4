"""Intervals, DeLong, McNemar and calibration against references: scikit-learn, scipy,
hand-worked cases and slow loop implementations of the same definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from mura_desktop.core.metrics import OVERALL, RATES, binary_metrics
from mura_desktop.core.results import StudyResult, ViewResult
from mura_desktop.core.stats.bootstrap import (
    bootstrap_metrics,
    cluster_codes,
    draw_counts,
    resampled_clusters,
    weighted_metrics,
)
from mura_desktop.core.stats.calibration import (
    calibration,
    fit_temperature,
    logit,
    scaled_probabilities,
)
from mura_desktop.core.stats.delong import delong_covariance, delong_interval, delong_paired_test
from mura_desktop.core.stats.mcnemar import mcnemar_test
from mura_desktop.core.stats.summary import format_statistics_table, study_statistics


def _scores(n: int, seed: int, separation: float = 0.3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.clip(separation * y + rng.normal(0.35, 0.2, n), 0, 1).round(2)  # ties
    return y, s


def _studies(y, s, patients=None, parts=None) -> list[StudyResult]:
    return [
        StudyResult(
            uid=f"s{i}", name=f"s{i}", label=int(label), probability=float(p),
            patient_id=None if patients is None else f"p{patients[i]}",
            body_part=None if parts is None else parts[i],
            views=[ViewResult(path=f"s{i}/a.png", probability=float(p))],
        )
        for i, (label, p) in enumerate(zip(y, s, strict=True))
    ]  # fmt: skip


# --- bootstrap ---------------------------------------------------------------------------


def test_weighted_metrics_equal_the_metrics_of_the_expanded_resample():
    """Slow reference: each resample built as a list of studies, scored by binary_metrics."""
    y, s = _scores(40, 1)
    clusters = np.arange(40) // 2  # patients of two studies
    draws = next(resampled_clusters(20, 50, seed=5))
    weights = draw_counts(draws, 20)[:, clusters]
    fast = weighted_metrics(weights, y, s, s >= 0.5)
    for b in range(50):
        rows = np.concatenate([np.flatnonzero(clusters == c) for c in draws[b]])
        slow = binary_metrics(y[rows], s[rows], 0.5)
        for name in RATES:
            expected = getattr(slow, name)
            assert fast[name][b] == pytest.approx(expected, nan_ok=True), (name, b)


def test_unit_weights_give_the_point_estimates():
    y, s = _scores(200, 2)
    fast = weighted_metrics(np.ones((1, 200)), y, s, s >= 0.5)
    m = binary_metrics(y, s)
    assert fast["auroc"][0] == pytest.approx(skm.roc_auc_score(y, s))
    assert fast["kappa"][0] == pytest.approx(skm.cohen_kappa_score(y, s >= 0.5))
    for name in RATES:
        assert fast[name][0] == pytest.approx(getattr(m, name))


def test_bootstrap_is_reproducible_and_covers_the_estimate():
    y, s = _scores(300, 3)
    clusters = cluster_codes([str(i // 3) for i in range(300)], [str(i) for i in range(300)])
    one = bootstrap_metrics(y, s, s >= 0.5, clusters, resamples=500, seed=7)
    two = bootstrap_metrics(y, s, s >= 0.5, clusters, resamples=500, seed=7)
    other = bootstrap_metrics(y, s, s >= 0.5, clusters, resamples=500, seed=8)
    np.testing.assert_array_equal(one["kappa"], two["kappa"])
    assert not np.array_equal(one["kappa"], other["kappa"])
    low, high = np.quantile(one["auroc"], [0.025, 0.975])
    assert low < skm.roc_auc_score(y, s) < high
    # the textbook normal-approximation SE of a proportion, for accuracy
    acc = np.mean(y == (s >= 0.5))
    assert np.std(one["accuracy"]) == pytest.approx(math.sqrt(acc * (1 - acc) / 300), rel=0.25)


def test_patients_move_together():
    """Studies of one patient that are copies of each other: resampling studies would
    pretend to 4× the information; resampling patients does not."""
    y, s = _scores(100, 4)
    y4, s4 = np.repeat(y, 4), np.repeat(s, 4)
    by_patient = study_statistics(_studies(y4, s4, patients=np.repeat(np.arange(100), 4)))
    alone = study_statistics(_studies(y, s, patients=np.arange(100)))
    by_study = study_statistics(_studies(y4, s4))  # no patient ids: every study its own
    width = {k: v.groups[OVERALL].intervals["kappa"] for k, v in
             {"patient": by_patient, "alone": alone, "study": by_study}.items()}  # fmt: skip
    w = {k: i.high - i.low for k, i in width.items()}
    assert w["patient"] == pytest.approx(w["alone"], rel=0.15)
    assert w["study"] < 0.7 * w["patient"]


def test_small_groups_say_why_there_is_no_interval():
    y, s = _scores(60, 5)
    parts = ["XR_HAND"] * 6 + ["XR_WRIST"] * 54
    y[6:9] = [1, 0, 0]  # keep classes mixed in WRIST
    stats = study_statistics(_studies(y, s, parts=parts), resamples=200)
    hand = stats.groups["XR_HAND"].intervals["kappa"]
    assert not hand.ok and hand.reason == "6 studies (an interval needs 10)"
    assert hand.text() == "n/a: 6 studies (an interval needs 10)"
    assert stats.groups["XR_WRIST"].intervals["kappa"].ok
    one_class = study_statistics(_studies([0] * 20 + [1], [0.2] * 20 + [0.9]), resamples=200)
    g = one_class.groups[OVERALL]
    assert g.intervals["sensitivity"].reason == "1 abnormal studies (needs 2)"
    assert g.intervals["specificity"].ok and g.intervals["accuracy"].ok
    assert "no studies" not in format_statistics_table(stats)
    table = format_statistics_table(stats)
    assert "XR_HAND: κ, AUROC, accuracy" in table and "[n/a]" in table
    off = study_statistics(_studies(y, s), resamples=0).groups[OVERALL]
    assert off.intervals["kappa"].reason == "bootstrap off" and off.auroc_delong.ok


def test_statistics_to_dict_keeps_the_old_keys_and_adds_intervals():
    y, s = _scores(80, 6)
    stats = study_statistics(_studies(y, s), resamples=300, seed=3)
    data = stats.to_dict()[OVERALL]
    old = binary_metrics(y, s).to_dict()
    assert {k: data[k] for k in old} == old
    kappa = data["intervals"]["kappa"]
    assert kappa["method"] == "patient bootstrap" and kappa["low"] < old["kappa"] < kappa["high"]
    assert data["bootstrap"] == {"unit": "patient", "resamples": 300, "seed": 3}
    assert data["auroc_delong"]["method"] == "DeLong" and data["patients"] == 80
    assert len(data["calibration"]["bins"]) == 10


# --- DeLong ------------------------------------------------------------------------------


def test_delong_hand_worked_case():
    # positives 0.9, 0.8, 0.4; negatives 0.7, 0.3, 0.2, 0.1
    # shares of negatives below each positive: 1, 1, 3/4 -> AUROC 11/12, var 1/48
    # shares of positives above each negative: 2/3, 1, 1, 1 -> var 1/36
    # Var(AUROC) = (1/48)/3 + (1/36)/4 = 1/72
    y = [1, 1, 1, 0, 0, 0, 0]
    s = [0.9, 0.8, 0.4, 0.7, 0.3, 0.2, 0.1]
    auc, se, low, high = delong_interval(y, s)
    assert auc == pytest.approx(11 / 12)
    assert se == pytest.approx(math.sqrt(1 / 72))
    assert high == 1.0 and low == pytest.approx(11 / 12 - 1.959964 * math.sqrt(1 / 72))


def _slow_delong(y, scores):
    """DeLong et al. (1988) straight from the definition, with O(m·n) comparisons."""
    y = np.asarray(y, dtype=bool)
    comps = []
    for s in scores:
        x, z = s[y], s[~y]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        comps.append((psi.mean(1), psi.mean(0), psi.mean()))
    m, n = y.sum(), (~y).sum()
    v10 = np.array([c[0] for c in comps])
    v01 = np.array([c[1] for c in comps])
    return np.array([c[2] for c in comps]), np.cov(v10) / m + np.cov(v01) / n


def test_fast_delong_equals_the_definition_with_ties():
    y, s = _scores(150, 7)
    rng = np.random.default_rng(0)
    s2 = np.clip(s + rng.normal(0, 0.15, s.size), 0, 1).round(2)
    aucs, cov = delong_covariance(y, [s, s2])
    ref_aucs, ref_cov = _slow_delong(y, [s, s2])
    np.testing.assert_allclose(aucs, ref_aucs)
    np.testing.assert_allclose(cov, ref_cov)
    assert aucs[0] == pytest.approx(skm.roc_auc_score(y, s))


def test_delong_paired_test():
    y, s = _scores(300, 8, separation=0.35)
    rng = np.random.default_rng(1)
    noisy = np.clip(s + rng.normal(0, 0.3, s.size), 0, 1)
    test = delong_paired_test(y, s, noisy)
    assert test.difference > 0 and test.p_value < 0.01
    assert test.low < test.difference < test.high
    _, cov = _slow_delong(y, [s, noisy])
    assert test.se == pytest.approx(math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]))
    same = delong_paired_test(y, s, s)
    assert same.difference == 0 and same.p_value == 1.0
    # a monotone transform has the same ranks: the same AUROC
    assert delong_paired_test(y, s, s**2).p_value == 1.0


# --- McNemar -----------------------------------------------------------------------------


def test_mcnemar_exact_and_chi_square():
    # 1 study only A got right, 6 only B: exact two-sided p = 2 * (1 + 7) / 2**7
    a = [True] * 10 + [True] + [False] * 6
    b = [True] * 10 + [False] + [True] * 6
    r = mcnemar_test(a, b)
    assert (r.only_a, r.only_b, r.method) == (1, 6, "exact binomial")
    assert r.p_value == pytest.approx(16 / 128)
    # 40 against 20 discordant: chi2 = (|40 - 20| - 1)^2 / 60
    a = [True] * 40 + [False] * 20
    r = mcnemar_test(a, [not v for v in a])
    assert r.statistic == pytest.approx(19**2 / 60)
    assert r.p_value == pytest.approx(math.erfc(math.sqrt(19**2 / 60 / 2)))  # χ²(1) tail
    assert mcnemar_test([True, False], [True, False]).p_value == 1.0


# --- calibration -------------------------------------------------------------------------


def test_calibration_against_sklearn():
    y, s = _scores(500, 9)
    c = calibration(y, s)
    assert c.brier == pytest.approx(skm.brier_score_loss(y, s))
    prob_true, prob_pred = calibration_curve(y, s, n_bins=10)
    filled = [b for b in c.bins if b.count]
    np.testing.assert_allclose([b.observed for b in filled], prob_true)
    np.testing.assert_allclose([b.mean_predicted for b in filled], prob_pred)
    assert sum(b.count for b in c.bins) == 500
    ece = sum(b.count / 500 * abs(b.observed - b.mean_predicted) for b in filled)
    assert c.ece == pytest.approx(ece)
    perfect = calibration([0, 1, 1, 0], [0.0, 1.0, 1.0, 0.0])
    assert perfect.ece == 0 and perfect.brier == 0
    assert calibration([], []).text() == "n/a: nothing scored"


def test_temperature_scaling_recovers_a_known_temperature():
    rng = np.random.default_rng(10)
    true_logits = rng.normal(0, 2, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-true_logits))).astype(int)
    overconfident = true_logits * 3.0  # a model 3× too sure of itself
    t = fit_temperature(overconfident, y)
    assert t == pytest.approx(3.0, rel=0.1)
    before = calibration(y, scaled_probabilities(overconfident, 1.0)).ece
    after = calibration(y, scaled_probabilities(overconfident, t)).ece
    assert after < before / 2
    # two members: the mean of each member's scaled sigmoid
    two = np.stack([overconfident, overconfident + 0.1])
    p = scaled_probabilities(two, 2.0)
    assert p[0] == pytest.approx(np.mean(1 / (1 + np.exp(-two[:, 0] / 2.0))))
    assert logit([0.0, 0.5, 1.0])[1] == 0 and np.isfinite(logit([0.0, 1.0])).all()


# --- comparing two models ----------------------------------------------------------------


def test_compare_matches_studies_and_pairs_the_tests():
    from mura_desktop.core.stats.comparison import compare_results, format_comparison

    y, s = _scores(120, 11, separation=0.35)
    rng = np.random.default_rng(2)
    worse = np.clip(s + rng.normal(0, 0.25, s.size), 0, 1)
    patients = np.arange(120) // 2
    a = _studies(y, s, patients=patients, parts=["XR_HAND"] * 60 + ["XR_WRIST"] * 60)
    b = _studies(y, worse, patients=patients, parts=["XR_HAND"] * 60 + ["XR_WRIST"] * 60)
    for study in a:
        study.uid = f"/data/here/MURA-v1.1/valid/XR_HAND/patient{study.uid}/study1"
    for study in b[:100]:  # the same dataset on another machine; 20 studies A never scored
        study.uid = f"D:\\elsewhere\\MURA-v1.1\\valid\\XR_HAND\\patient{study.uid}\\study1"
    a = a[:110]  # 10 of B's matched studies are missing from A as well
    c = compare_results(a, b[:100] + b[110:], resamples=400, seed=1)
    assert (c.matched, c.matched_by_path, c.only_a, c.only_b) == (100, 100, 10, 10)
    g = c.groups[OVERALL]
    assert g.metrics_a.n == 100
    ref = delong_paired_test(y[:100], s[:100], worse[:100])
    assert g.auroc == ref
    decided_a, decided_b = s[:100] >= 0.5, worse[:100] >= 0.5
    truth = y[:100].astype(bool)
    assert g.mcnemar.only_a == np.sum((decided_a == truth) & (decided_b != truth))
    assert len(c.disagreements) == np.sum(decided_a != decided_b)
    assert g.kappa_difference == pytest.approx(
        skm.cohen_kappa_score(truth, decided_a) - skm.cohen_kappa_score(truth, decided_b)
    )
    # slow reference of the paired bootstrap: the same patient draws for both models
    clusters = cluster_codes([f"p{k}" for k in patients[:100]], [""] * 100)
    diffs = []
    for draws in resampled_clusters(50, 400, seed=1):
        for row in draws:
            idx = np.concatenate([np.flatnonzero(clusters == k) for k in row])
            diffs.append(
                binary_metrics(truth[idx], s[:100][idx]).kappa
                - binary_metrics(truth[idx], worse[:100][idx]).kappa
            )
    low, high = np.nanquantile(diffs, [0.025, 0.975])
    assert (g.kappa_interval.low, g.kappa_interval.high) == pytest.approx((low, high))
    text = format_comparison(c)
    assert "matched 100 studies (100 by their path below the dataset root)" in text
    assert "10 only in A, 10 only in B" in text and "XR_HAND" in text
    data = c.to_dict()
    first = data["disagreements"][0]
    assert first.keys() >= {"uid", "probability_a", "verdict_b"}
    assert first["abnormal_a"] != first["abnormal_b"]


def test_the_95_percent_quantile_is_scipys() -> None:
    from scipy.stats import norm

    from mura_desktop.core.stats.delong import Z95

    assert norm.ppf(0.975) == pytest.approx(Z95, abs=1e-15)
