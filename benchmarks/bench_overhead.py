"""Per-trial overhead: a trial's wall time (submit -> result, as the search sees it) minus
the pipeline's own fit + predict time, on small data.

Usage: python benchmarks/bench_overhead.py [TIME_BUDGET] [N_JOBS]
"""

from __future__ import annotations

import sys
import time

import numpy as np
from sklearn.datasets import load_breast_cancer

from autometa import AutoMetaClassifier


def main(budget: float = 30, n_jobs: int = 1) -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    start = time.monotonic()
    clf = AutoMetaClassifier(time_budget=budget, n_jobs=n_jobs, random_state=0).fit(X, y)
    elapsed = time.monotonic() - start
    ok = [t for t in clf.trials_ if t.ok]
    overhead = np.array([t.wall_time - t.fit_time - t.predict_time for t in ok])
    work = sum((t.fit_time or 0) + (t.predict_time or 0) for t in clf.trials_)
    outside = (elapsed * n_jobs - work) / len(clf.trials_)
    print(f"fit {elapsed:.1f} s for budget {budget} s, n_jobs={n_jobs}: "
          f"{len(clf.trials_)} trials ({len(ok)} ok)")
    print(f"in-trial overhead (wall - fit - predict): median {np.median(overhead):.3f} s, "
          f"p90 {np.percentile(overhead, 90):.3f} s")
    print(f"whole fit, per trial, time not spent in pipeline fit/predict (start-up, SMAC, "
          f"ensemble, refit included): {outside:.3f} s")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(float(args[0]) if args else 30, int(args[1]) if len(args) > 1 else 1)
