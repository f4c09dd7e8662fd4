"""Patient-cluster bootstrap of the study-level metrics, vectorised over resamples.

A resample draws patients with replacement (as many as there are); every study of a
drawn patient comes along, once per draw. A study's weight in a resample is therefore
its patient's draw count, and every metric is computed from weighted confusion counts
and a weighted Mann–Whitney AUROC: no per-resample Python loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

# Weight matrices are built in chunks of at most this many cells (resamples × studies).
_CHUNK_CELLS = 4_000_000


def cluster_codes(patient_ids: Sequence[str | None], uids: Sequence[str]) -> np.ndarray:
    """One integer per study naming its cluster: its patient, or itself without one."""
    keys = [
        f"patient:{pid}" if pid else f"study:{uid}"
        for pid, uid in zip(patient_ids, uids, strict=True)
    ]
    _, codes = np.unique(np.asarray(keys, dtype=object), return_inverse=True)
    return codes.astype(np.intp)


def resampled_clusters(n_clusters: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Chunks of resamples: each row holds the ``n_clusters`` cluster indices drawn."""
    rng = np.random.default_rng(seed)
    per_chunk = max(1, _CHUNK_CELLS // max(n_clusters, 1))
    for start in range(0, resamples, per_chunk):
        yield rng.integers(0, n_clusters, size=(min(per_chunk, resamples - start), n_clusters))


def draw_counts(draws: np.ndarray, n_clusters: int) -> np.ndarray:
    """(resamples, clusters) how often each cluster was drawn in each resample."""
    b = draws.shape[0]
    flat = draws + (np.arange(b) * n_clusters)[:, None]
    return np.bincount(flat.ravel(), minlength=b * n_clusters).reshape(b, n_clusters)


def weighted_metrics(
    weights: np.ndarray, labels: np.ndarray, scores: np.ndarray, decisions: np.ndarray
) -> dict[str, np.ndarray]:
    """Each metric of ``core.metrics.RATES`` for every row of ``weights`` (resamples × studies).

    A metric that would be undefined for the resampled group (``undefined_metrics``) is
    ``nan`` in that resample.
    """
    y = labels.astype(bool)
    d = decisions.astype(bool)
    w = weights.astype(np.float64)
    tp = w @ (y & d)
    fp = w @ (~y & d)
    fn = w @ (y & ~d)
    tn = w @ (~y & ~d)
    n = tp + fp + fn + tn
    pos, neg = tp + fn, tn + fp
    both = (pos > 0) & (neg > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = (tp + tn) / n
        p_true, p_pred = pos / n, (tp + fp) / n
        expected = p_true * p_pred + (1 - p_true) * (1 - p_pred)
        kappa = (observed - expected) / (1 - expected)
        out = {
            "kappa": np.where(both, kappa, np.nan),
            "auroc": np.where(both, _weighted_auroc(w, y, scores), np.nan),
            "accuracy": np.where(n > 0, observed, np.nan),
            "sensitivity": np.where(pos > 0, tp / pos, np.nan),
            "specificity": np.where(neg > 0, tn / neg, np.nan),
            "precision": np.where(both & (tp + fp > 0), tp / (tp + fp), np.nan),
            "f1": np.where(both, 2 * tp / (2 * tp + fp + fn), np.nan),
        }
    return out


def _weighted_auroc(w: np.ndarray, y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Mann–Whitney AUROC per row of weights; tied scores count one half."""
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ws, ys = w[:, order], y[order]
    w_pos = np.add.reduceat(ws * ys, starts, axis=1)
    w_neg = np.add.reduceat(ws * ~ys, starts, axis=1)
    below = np.cumsum(w_neg, axis=1) - w_neg
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w_pos * (below + 0.5 * w_neg)).sum(1) / (w_pos.sum(1) * w_neg.sum(1))


def bootstrap_metrics(
    labels: Sequence[int],
    scores: Sequence[float],
    decisions: Sequence[bool],
    clusters: np.ndarray,
    *,
    resamples: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """The bootstrap distribution (``resamples`` values, ``nan`` where undefined) of every
    metric, resampling the clusters (``cluster_codes``) with replacement."""
    return paired_bootstrap_metrics(
        labels, [(scores, decisions)], clusters, resamples=resamples, seed=seed
    )[0]


def paired_bootstrap_metrics(
    labels: Sequence[int],
    models: Sequence[tuple[Sequence[float], Sequence[bool]]],
    clusters: np.ndarray,
    *,
    resamples: int,
    seed: int,
) -> list[dict[str, np.ndarray]]:
    """``bootstrap_metrics`` of several models' ``(scores, decisions)`` on the same studies,
    all scored on the same resamples, so that their differences are paired."""
    y = np.asarray(labels, dtype=bool)
    arrays = [(np.asarray(s, dtype=np.float64), np.asarray(d, dtype=bool)) for s, d in models]
    _, codes = np.unique(clusters, return_inverse=True)
    n_clusters = int(codes.max()) + 1 if codes.size else 0
    chunks: list[list[dict[str, np.ndarray]]] = [[] for _ in arrays]
    if n_clusters:
        for draws in resampled_clusters(n_clusters, resamples, seed):
            weights = draw_counts(draws, n_clusters)[:, codes]
            for out, (s, d) in zip(chunks, arrays, strict=True):
                out.append(weighted_metrics(weights, y, s, d))
    return [
        {k: np.concatenate([c[k] for c in model]) for k in model[0]} if model else {}
        for model in chunks
    ]
