"""How much faster a refit trains with more threads, per model family.

Fits the shipped classification portfolio's configurations of each family (the first
``PER_FAMILY`` of its greedy order, as a fit would refit them) on a synthetic table, once
with one thread and once with ``N_THREADS``, each under the thread limits a worker sets
(see :mod:`autometa.sandbox`), and prints the median speed-up per family.

Usage: python benchmarks/thread_speedup.py [N_ROWS] [N_THREADS]
"""

from __future__ import annotations

import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from autometa.evaluation import TaskData, refit
from autometa.portfolio import load
from autometa.table import Table
from benchmarks.bench_large import synthetic

PER_FAMILY = 2


def seconds(config: dict, data: TaskData, n_threads: int) -> float:
    start = time.perf_counter()
    with threadpool_limits(n_threads):
        refit(config, data, seed=0, n_threads=n_threads)
    return time.perf_counter() - start


def main(n_rows: int = 60_000, n_threads: int = 2) -> None:
    X, y = synthetic(n_rows)
    data = TaskData.from_table(Table.from_raw(X, y, "classification"), resampling="holdout")
    portfolio = load("classification")
    chosen: dict[str, list[dict]] = {}
    for i in portfolio.order:
        config = portfolio.configs[i]
        chosen.setdefault(config["model"], [])
        if len(chosen[config["model"]]) < PER_FAMILY:
            chosen[config["model"]].append(config)
    print(f"{n_rows:,} rows x {X.shape[1]}, 1 against {n_threads} threads")
    for family, configs in sorted(chosen.items()):
        pairs = [(seconds(c, data, 1), seconds(c, data, n_threads)) for c in configs]
        ratios = [one / many for one, many in pairs]
        times = ", ".join(f"{one:.1f}/{many:.1f} s" for one, many in pairs)
        print(f"{family:24s} speed-up median {np.median(ratios):.2f} ({times})", flush=True)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
