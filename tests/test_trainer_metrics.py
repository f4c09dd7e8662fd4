"""The trainer's study-level metrics path and operating points, against scikit-learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, confusion_matrix, roc_auc_score

from mura_desktop.core.metrics import OVERALL, study_metrics
from mura_desktop.core.study import Study, View
from mura_desktop.core.verdict import VerdictRule
from trainer.engine import study_results
from trainer.export import operating_points


def _fixture(seed: int = 0, n_studies: int = 40):
    rng = np.random.default_rng(seed)
    studies, view_study, paths, probs = [], [], [], []
    for i in range(n_studies):
        label = int(rng.random() < 0.4)
        part = ("WRIST", "HAND", "ELBOW")[i % 3]
        n_views = int(rng.integers(1, 5))
        views = [View(Path(f"/d/{i}/image{v}.png")) for v in range(n_views)]
        studies.append(Study(uid=f"s{i}", name=f"s{i}", views=views, body_part=part, label=label))
        for v in views:
            view_study.append(i)
            paths.append(str(v.path))
            probs.append(float(np.clip(rng.normal(0.35 + 0.3 * label, 0.2), 0, 1)))
    probs = np.array(probs)
    probs[3] = np.nan  # a view that could not be read
    return studies, view_study, paths, probs


def _study_means(studies, view_study, probs):
    view_study = np.array(view_study)
    means = []
    for i in range(len(studies)):
        p = probs[view_study == i]
        p = p[np.isfinite(p)]
        means.append(p.mean() if p.size else np.nan)
    return np.array(means)


def test_study_metrics_match_sklearn_overall_and_per_part():
    studies, view_study, paths, probs = _fixture()
    results = study_results(studies, view_study, paths, probs, VerdictRule())
    metrics = study_metrics(results)
    means = _study_means(studies, view_study, probs)
    labels = np.array([s.label for s in studies])
    assert [r.probability for r in results] == pytest.approx(list(means))
    for name in (OVERALL, "WRIST", "HAND", "ELBOW"):
        keep = np.array([name == OVERALL or s.body_part == name for s in studies])
        y, p = labels[keep], means[keep]
        m = metrics[name]
        assert m.kappa == pytest.approx(cohen_kappa_score(y, p >= 0.5))
        assert m.auroc == pytest.approx(roc_auc_score(y, p))
        assert m.confusion.tolist() == confusion_matrix(y, p >= 0.5, labels=[0, 1]).tolist()
    failed = results[view_study[3]]
    assert failed.n_failed == 1 and failed.probability is not None


def test_study_with_no_readable_view_is_left_out_of_metrics():
    studies, view_study, paths, probs = _fixture(n_studies=5)
    probs[np.array(view_study) == 2] = np.nan
    results = study_results(studies, view_study, paths, probs, VerdictRule())
    assert results[2].probability is None and results[2].verdict is None
    assert study_metrics(results)[OVERALL].n == 4


def test_operating_points_meet_their_targets_and_are_tightest():
    studies, view_study, _, probs = _fixture(seed=4, n_studies=200)
    means = _study_means(studies, view_study, probs)
    labels = np.array([s.label for s in studies])
    points = operating_points(list(labels), list(means), 0.95, 0.95)
    assert points["default"] == 0.5
    hs, hsp = points["high_sensitivity"], points["high_specificity"]
    pos, neg = means[labels == 1], means[labels == 0]
    assert np.mean(pos >= hs) >= 0.95
    assert np.mean(pos >= np.min(pos[pos > hs])) < 0.95  # the next higher score misses it
    assert np.mean(neg < hsp) >= 0.95
    assert np.mean(neg < np.max(neg[neg < hsp])) < 0.95
    assert hs <= hsp


def test_operating_points_of_a_separable_set_meet_in_the_middle():
    labels = [0, 0, 0, 1, 1, 1]
    probs = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]
    points = operating_points(labels, probs, 0.95, 0.95)
    assert points["high_sensitivity"] == points["high_specificity"]
    assert 0.3 < points["high_sensitivity"] <= 0.7
    assert operating_points([1, 1], [0.2, 0.9]) == {"default": 0.5}
