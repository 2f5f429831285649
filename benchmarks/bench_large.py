"""A large fit: 500,000 x 50 synthetic classification (10 categorical columns, 2 % missing).

Reports the fit's wall time against its budget, the trials run (and the distinct
configurations among them), the promotions, SMAC proposals and portfolio configurations
skipped as too slow, and the peak memory of the whole process tree (this process plus its
worker processes, sampled every 0.2 s).

Usage: python benchmarks/bench_large.py [N_ROWS] [TIME_BUDGET] [N_JOBS] [SEED]

Also prints the test ROC AUC of a default LightGBM fitted on the same rows with N_JOBS
threads, the model autometa should beat. ``bench_large_flaml.py`` runs FLAML on the same
rows.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import numpy as np
import pandas as pd
import psutil
from lightgbm import LGBMClassifier
from sklearn.metrics import roc_auc_score

N_CATEGORICAL = 10


def synthetic(n_rows: int, n_cols: int = 50, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric columns plus ``N_CATEGORICAL`` categorical ones; a nonlinear binary target."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(n_rows, n_cols - N_CATEGORICAL)).astype(np.float64)
    X = pd.DataFrame(num, columns=[f"x{i}" for i in range(num.shape[1])])
    for j in range(N_CATEGORICAL):
        levels = np.array([f"c{j}_{k}" for k in range(5 + 10 * j)])
        X[f"cat{j}"] = pd.Categorical(levels[rng.integers(0, len(levels), n_rows)])
    X = X.mask(rng.random(X.shape) < 0.02)
    signal = num[:, 0] * num[:, 1] + np.sin(num[:, 2]) + 0.5 * num[:, 3]
    signal += (X["cat0"].cat.codes.to_numpy() % 2) - 0.5
    y = (signal + rng.normal(scale=0.8, size=n_rows) > 0).astype(int)
    return X, y


class PeakMemory:
    """Peak resident memory of this process and all its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main(n_rows: int = 500_000, budget: float = 120, n_jobs: int = 1, seed: int = 0) -> None:
    from autometa import AutoMetaClassifier  # not needed by bench_large_flaml.py

    X, y = synthetic(n_rows)
    X_test, y_test = synthetic(20_000, seed=1)
    size = X.memory_usage(deep=True).sum() / 2**20
    print(f"data: {X.shape[0]:,} x {X.shape[1]} ({size:.0f} MB)")
    with PeakMemory() as memory:
        start = time.monotonic()
        clf = AutoMetaClassifier(time_budget=budget, n_jobs=n_jobs, random_state=seed).fit(X, y)
        elapsed = time.monotonic() - start
    board = clf.leaderboard()
    ok = board[board["status"] == "ok"]
    run = [t for t in clf.trials_ if t.status != "skipped"]
    configs = {json.dumps(t.config, sort_keys=True) for t in run}
    skipped = [t for t in clf.trials_ if t.status == "skipped"]
    designed = sum("of the initial design" in t.error for t in skipped)
    proposals = sum(t.error.startswith("not run") for t in skipped) - designed
    print(f"fit {elapsed:.1f} s for budget {budget} s (n_jobs={n_jobs}, seed {seed}); "
          f"{len(run)} trials run ({len(ok)} ok) on {len(configs)} configurations; skipped: "
          f"{len(skipped) - proposals - designed} promotions, {proposals} proposals, "
          f"{designed} portfolio configurations; families "
          f"{sorted(ok['family'].unique())}, fidelities {sorted(board['fidelity'].unique())}")
    print(board[["family", "origin", "status", "score", "fidelity", "wall_time",
                 "ensemble_weight"]].to_string())
    family = {t.id: t.family for t in clf.trials_}
    frame = clf._transform(X_test)
    alone = {m.trial: roc_auc_score(y_test, clf.ensemble_.member_predict(m, frame)[:, 1])
             for m in clf.ensemble_.members}
    members = ", ".join(f"{family[m.trial]} (trial {m.trial}, weight {m.weight:.2f}, test "
                        f"ROC AUC alone {alone[m.trial]:.4f}) on {m.rows or n_rows} rows"
                        for m in clf.ensemble_.members)
    print(f"ensemble members: {members}")
    print(f"peak memory (process tree): {memory.peak / 2**30:.2f} GB")
    auc = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])
    print(f"test ROC AUC on 20,000 new rows: {auc:.4f}")
    start = time.monotonic()
    default = LGBMClassifier(n_jobs=n_jobs, verbose=-1, random_state=seed).fit(X, y)
    elapsed = time.monotonic() - start
    auc = roc_auc_score(y_test, default.predict_proba(X_test)[:, 1])
    print(f"default LightGBM: test ROC AUC {auc:.4f}, fit {elapsed:.1f} s")


def arguments(args: list[str]) -> tuple[int, float, int, int]:
    """N_ROWS, TIME_BUDGET, N_JOBS and SEED from the command line (defaults for those left out)."""
    kinds, defaults = (int, float, int, int), (500_000, 120.0, 1, 0)
    return tuple(kind(a) for kind, a in zip(kinds, args, strict=False)) + defaults[len(args):]


if __name__ == "__main__":
    main(*arguments(sys.argv[1:]))
