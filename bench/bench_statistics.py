"""How long the intervals of a large evaluation take: 3,000 studies of ~1,800 patients in
seven body parts, 2,000 patient-bootstrap resamples, every metric, overall and per part.

    python bench/bench_statistics.py [--studies N] [--resamples B]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mura_desktop.core.results import StudyResult, ViewResult
from mura_desktop.core.stats.summary import format_statistics_table, study_statistics
from mura_desktop.core.study import BODY_PARTS


def synthetic_studies(n: int, seed: int = 0) -> list[StudyResult]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    patients = rng.integers(0, int(n * 0.6), n)
    studies = []
    for i in range(n):
        views = rng.uniform(0, 1, rng.integers(1, 5)) * 0.7 + 0.2 * labels[i]
        studies.append(
            StudyResult(
                uid=f"s{i}", name=f"s{i}", label=int(labels[i]), patient_id=f"p{patients[i]}",
                body_part=BODY_PARTS[patients[i] % len(BODY_PARTS)],
                views=[ViewResult(f"s{i}/{j}.png", float(p)) for j, p in enumerate(views)],
                probability=float(views.mean()),
            )
        )  # fmt: skip
    return studies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--studies", type=int, default=3000)
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args()
    studies = synthetic_studies(args.studies)
    start = time.perf_counter()
    stats = study_statistics(studies, resamples=args.resamples)
    seconds = time.perf_counter() - start
    print(format_statistics_table(stats))
    patients = len({s.patient_id for s in studies})
    print(
        f"\n{args.studies} studies, {patients} patients, {len(stats.groups)} groups, "
        f"{args.resamples} resamples: {seconds:.2f} s"
    )


if __name__ == "__main__":
    main()
