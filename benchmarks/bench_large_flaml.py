"""FLAML on the large fit of ``bench_large.py``: the same 500,000 x 50 rows and test rows.

Run it in FLAML's environment (``bash benchmarks/peers_setup.sh flaml``)::

    .venv-flaml/bin/python benchmarks/bench_large_flaml.py [N_ROWS] [TIME_BUDGET] [N_JOBS] [SEED]

Prints the fit's wall time against its budget, FLAML's trials and best configuration, the
peak memory of the process tree and the test ROC AUC.
"""

from __future__ import annotations

import sys
import time

from bench_large import PeakMemory, arguments, synthetic
from flaml import AutoML
from sklearn.metrics import roc_auc_score


def main(n_rows: int = 500_000, budget: float = 120, n_jobs: int = 1, seed: int = 0) -> None:
    X, y = synthetic(n_rows)
    X_test, y_test = synthetic(20_000, seed=1)
    with PeakMemory() as memory:
        start = time.monotonic()
        automl = AutoML()
        automl.fit(X, y, task="classification", metric="roc_auc", time_budget=budget,
                   n_jobs=n_jobs, seed=seed, verbose=0)
        elapsed = time.monotonic() - start
    print(f"fit {elapsed:.1f} s for budget {budget} s (n_jobs={n_jobs}, seed {seed}); "
          f"{len(automl.config_history)} trials; best {automl.best_estimator} "
          f"{automl.best_config}")
    print(f"peak memory (process tree): {memory.peak / 2**30:.2f} GB")
    auc = roc_auc_score(y_test, automl.predict_proba(X_test)[:, 1])
    print(f"test ROC AUC on 20,000 new rows: {auc:.4f}")


if __name__ == "__main__":
    main(*arguments(sys.argv[1:]))
