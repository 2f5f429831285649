"""Prediction latency of the final ensemble: median seconds to predict 1,000 rows with a
model fitted on a 5,000-row mixed-type table (numeric, categorical, string, bool, missing).

Usage: python benchmarks/bench_predict.py [TIME_BUDGET] [REPEATS]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from autometa import AutoMetaClassifier
from autometa.data import as_frame
from autometa.ensemble import Ensemble

N_TRAIN, N_PREDICT = 5_000, 1_000


def mixed_table(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Eight numeric, two categorical, one string and one bool column; a binary target."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(n, 8))
    X = pd.DataFrame(num, columns=[f"n{i}" for i in range(8)])
    X["colour"] = pd.Categorical(rng.choice(["red", "green", "blue", "grey"], size=n))
    X["shop"] = pd.Categorical(rng.choice([f"s{i}" for i in range(30)], size=n))
    X["city"] = pd.array(rng.choice(["x", "y", "z", None], size=n), dtype="string")
    X["flag"] = rng.random(n) > 0.5
    X.loc[rng.random(n) < 0.1, "n0"] = np.nan
    logit = (2 * num[:, 0] - num[:, 1] + num[:, 2] * num[:, 3]
             + (X["colour"] == "red") * 1.5 - X["flag"] * 0.5)
    y = np.where(logit + rng.normal(scale=1.0, size=n) > 0, "yes", "no")
    return X, y


def median_seconds(predict, X, repeats: int) -> float:
    """Median wall time of ``predict(X)`` over ``repeats`` calls, after one warm-up call."""
    predict(X)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(X)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(budget: float = 45, repeats: int = 30) -> None:
    X, y = mixed_table(N_TRAIN + N_PREDICT)
    X_train, y_train = X.iloc[:N_TRAIN], y[:N_TRAIN]
    X_new = X.iloc[N_TRAIN:].reset_index(drop=True)
    clf = AutoMetaClassifier(time_budget=budget, random_state=0).fit(X_train, y_train)
    members = clf.ensemble_.members
    board = clf.leaderboard().set_index("trial")
    families = ", ".join(f"{board.loc[m.trial, 'family']} {m.weight:.2f}" for m in members)
    print(f"fit {clf.fit_time_:.1f} s (budget {budget} s), {len(clf.trials_)} trials; "
          f"ensemble of {len(members)} members: {families}")
    print(f"accuracy on the {N_PREDICT} new rows: {clf.score(X_new, y[N_TRAIN:]):.3f}")
    proba = median_seconds(clf.predict_proba, X_new, repeats)
    one_row = median_seconds(clf.predict_proba, X_new.iloc[:1], repeats)
    label = median_seconds(clf.predict, X_new, repeats)
    exported = median_seconds(clf.to_sklearn().predict_proba, X_new, repeats)
    print(f"predict_proba on {N_PREDICT} rows: median {1e3 * proba:.1f} ms "
          f"(predict {1e3 * label:.1f} ms, to_sklearn() predict_proba {1e3 * exported:.1f} ms) "
          f"over {repeats} calls; one row: {1e3 * one_row:.1f} ms; measured at fit: "
          f"{1e6 * clf.predict_latency_:.1f} ms per 1,000 rows")
    print("of which, median ms: " + ", ".join(
        f"{name} {1e3 * seconds:.1f}" for name, seconds in parts(clf, X_new, repeats)))


def parts(clf, X, repeats: int) -> list[tuple[str, float]]:
    """Median seconds of typing the input once, then of each member's own prediction."""
    typed = clf.schema_.transform(as_frame(X))
    out = [("typing", median_seconds(lambda X: clf.schema_.transform(as_frame(X)), X, repeats))]
    family = clf.leaderboard().set_index("trial")["family"]
    for m in clf.ensemble_.members:
        alone = Ensemble((m,), clf.ensemble_.task, clf.ensemble_.n_classes)
        out.append((family[m.trial], median_seconds(
            lambda X, alone=alone: alone.predict(X, n_threads=clf.n_jobs), typed, repeats)))
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    main(float(args[0]) if args else 45, int(args[1]) if len(args) > 1 else 30)
