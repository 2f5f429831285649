"""Ensemble selection under ROC AUC on the test suite's small mixed table: the rule before
November 2026 against autometa's, on one search per seed.

The table (``tests/conftest.py``: 200 rows, numeric, categorical, string and boolean
columns, missing values) is fitted with a 12 s budget; both ensembles come from the same
search (see ``ensemble_rules.py``) and are scored on 2,000 fresh rows of the same
distribution: accuracy (what ``predict`` gives), ROC AUC, and the largest member weight.

Usage::

    PYTHONPATH=. python benchmarks/ensemble_flattening.py [n_seeds]
"""

from __future__ import annotations

import sys

import ensemble_rules as er
import numpy as np
from sklearn.metrics import roc_auc_score

from autometa.data import as_frame
from tests.conftest import mixed_frame


def main(n_seeds: int) -> None:
    X, y = mixed_frame()
    X_new, y_new = mixed_frame(2000, seed=1)
    for seed in range(n_seeds):
        cells = []
        with er.one_search(X, y, "classification", 12, 1, seed) as (ensemble, table, _):
            frame = table.schema.transform(as_frame(X_new))
            for rule in ("before", "autometa"):
                chosen = ensemble(rule)
                proba = chosen.predict(frame)
                accuracy = np.mean(table.classes[proba.argmax(axis=1)] == y_new)
                auc = roc_auc_score(y_new == "yes", proba[:, 1])
                largest = max(chosen.weights.values())
                cells.append(f"{rule}: accuracy {accuracy:.3f}, ROC AUC {auc:.4f}, "
                             f"largest weight {largest:.2f}")
        print(f"seed {seed} | " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
