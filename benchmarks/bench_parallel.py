"""Trials per minute with n_jobs = 1 and 2 on the same data (a 3,000-row mixed table).

Usage: python benchmarks/bench_parallel.py [TIME_BUDGET]
"""

from __future__ import annotations

import sys

from bench_predict import mixed_table

from autometa import AutoMetaClassifier


def main(budget: float = 60) -> None:
    X, y = mixed_table(3_000)
    for n_jobs in (1, 2):
        clf = AutoMetaClassifier(time_budget=budget, n_jobs=n_jobs, random_state=0).fit(X, y)
        board = clf.leaderboard()
        per_minute = 60 * len(board) / clf.fit_time_
        print(f"n_jobs={n_jobs}: {len(board)} trials ({(board['status'] == 'ok').sum()} ok) in "
              f"{clf.fit_time_:.1f} s -> {per_minute:.1f} trials/min; "
              f"best validation ROC AUC {clf.best_score_:.4f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 60)
