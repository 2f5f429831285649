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
from sklearn.metrics import roc_auc_score

import autometa.estimators as estimators
from autometa import AutoMetaClassifier
from tests.conftest import mixed_frame


def main(n_seeds: int) -> None:
    X, y = mixed_frame()
    X_new, y_new = mixed_frame(2000, seed=1)
    original = (estimators.run_search, estimators.select_weights)
    for seed in range(n_seeds):
        estimators.run_search = er.OneSearch()
        AutoMetaClassifier(time_budget=12, random_state=seed).fit(X, y)  # the search
        cells = []
        for rule in ("before", "autometa"):
            estimators.select_weights = er.rule_weights(rule)
            clf = AutoMetaClassifier(time_budget=12, random_state=seed).fit(X, y)
            auc = roc_auc_score(y_new == "yes", clf.predict_proba(X_new)[:, 1])
            board = clf.leaderboard()
            cells.append(f"{rule}: accuracy {clf.score(X_new, y_new):.3f}, ROC AUC {auc:.4f}, "
                         f"largest weight {board['ensemble_weight'].max():.2f}")
        estimators.run_search, estimators.select_weights = original
        print(f"seed {seed} | " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
