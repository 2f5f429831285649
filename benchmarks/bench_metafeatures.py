"""Time :func:`autometa.metafeatures.compute` on synthetic mixed data.

Run with ``python benchmarks/bench_metafeatures.py``. Each case is warmed up once, then
timed three times; the table shows the median (and the fastest) wall-clock time.
Budgets: under 1 s at 10,000 x 100 and under 3 s at 200,000 x 100.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from autometa import metafeatures

N_CATEGORICAL = 10
MISSING_RATE = 0.05


def synthetic(n_rows: int, n_cols: int, task: str, seed: int = 0):
    """A canonical typed frame: numeric float64 + categorical columns, 5% missing cells.

    Parameters
    ----------
    n_rows, n_cols : int
        Shape of the frame; ``N_CATEGORICAL`` of the columns are categorical.
    task : {"classification", "regression"}
        Binary labels ``0/1`` or a float target.
    seed : int
        Random seed.

    Returns
    -------
    tuple of (pandas.DataFrame, numpy.ndarray, list of str)
        The frame, the target and the names of the categorical columns.
    """
    rng = np.random.default_rng(seed)
    n_num = n_cols - N_CATEGORICAL
    num = rng.normal(size=(n_rows, n_num))
    num[:, ::3] = np.exp(num[:, ::3])  # some skewed columns
    signal = num[:, 0] - num[:, 1] + 0.5 * num[:, 2]
    num[rng.random((n_rows, n_num)) < MISSING_RATE] = np.nan
    columns = {f"f{j}": num[:, j] for j in range(n_num)}
    cats = []
    for j in range(N_CATEGORICAL):
        card = (3, 10, 50, 1000)[j % 4]
        codes = rng.integers(0, card, size=n_rows)
        codes[rng.random(n_rows) < MISSING_RATE] = -1
        name = f"f{n_num + j}"
        columns[name] = pd.Categorical.from_codes(codes, categories=[f"c{i}" for i in range(card)])
        cats.append(name)
    X = pd.DataFrame(columns)
    noise = rng.normal(scale=0.5, size=n_rows)
    y = (signal + noise > 0).astype(np.int64) if task == "classification" else signal + noise
    return X, y, cats


def time_case(n_rows: int, n_cols: int, task: str, repeats: int = 3) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls to ``compute`` after one warm-up call."""
    X, y, cats = synthetic(n_rows, n_cols, task)
    metafeatures.compute(X, y, task, categorical=cats)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        metafeatures.compute(X, y, task, categorical=cats)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    """Print a table of median / best times per shape and task."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    shapes = [(10_000, 100, 1.0), (200_000, 100, 3.0)]
    print(f"{'rows':>8} {'cols':>5} {'task':<15} {'median s':>9} {'best s':>8} {'budget s':>9}")
    for n_rows, n_cols, budget in shapes:
        for task in ("classification", "regression"):
            times = time_case(n_rows, n_cols, task, args.repeats)
            print(f"{n_rows:>8} {n_cols:>5} {task:<15} {statistics.median(times):>9.3f} "
                  f"{min(times):>8.3f} {budget:>9.1f}")


if __name__ == "__main__":
    main()
