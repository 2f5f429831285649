"""Prediction latency: estimated from the trials, measured on the fitted ensemble, and kept
under a limit.

A limit (``infer_limit``, seconds per row on batches of ``infer_limit_batch_size`` rows,
as in AutoGluon) covers typing the rows (:func:`typing_latency`; the members get what is
left, :func:`members_share`) and the members' predictions. Ensemble selection only
combines trials whose estimated latencies (:func:`trial_latency`) add up to less than it;
after the refit, the members are timed on a batch of training rows and the slowest are
dropped until the sum fits (:func:`trim_to_limit`); when not even one fits, the best
trials of other families are refit alone and timed (``automl.faster_single``). Every fit
then times its final ensemble on such a batch, in both ways it can use several threads,
and keeps the faster (:func:`fastest_serving`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from autometa.data import as_frame
from autometa.ensemble import Ensemble, Member
from autometa.records import Trial

DEFAULT_BATCH_SIZE = 1_000
LIMIT_SHARE = 0.75  # of a latency limit, what the members may take when timed at fit


@dataclass(frozen=True)
class LatencyLimit:
    """Most seconds per row a prediction of ``batch_size`` rows may take (``None``: no
    limit; the latency is still measured on such batches)."""

    seconds_per_row: float | None = None
    batch_size: int = DEFAULT_BATCH_SIZE


def trial_latency(trial: Trial, n_val: int, n_splits: int, batch_size: int) -> float:
    """Estimated seconds per row of one of the trial's models predicting ``batch_size`` rows.

    Each split's model predicted ``n_val / n_splits`` rows in one call; per row, a smaller
    batch costs at most what that call cost, and a larger one at most as much per row
    (the call's fixed cost is shared by more rows), so the estimate errs high.
    """
    per_call = (trial.predict_time or 0.0) / n_splits
    return per_call / max(1.0, min(batch_size, n_val / n_splits))


def latency_batch(X: pd.DataFrame, batch_size: int, seed: int) -> pd.DataFrame:
    """``batch_size`` rows of ``X`` drawn with replacement (seeded)."""
    rows = np.random.default_rng(seed).integers(0, len(X), batch_size)
    return X.iloc[rows].reset_index(drop=True)


def typing_latency(schema, rows: pd.DataFrame, batch_size: int, seed: int) -> float:
    """Seconds per row of typing a batch of ``rows`` (as given to ``predict``: a frame of
    :func:`autometa.data.as_frame`) with ``schema``, as every prediction does before the
    members see the rows."""
    return seconds_per_row(lambda X: schema.transform(as_frame(X)),
                           latency_batch(rows, batch_size, seed))


def members_share(limit: LatencyLimit, typing: float) -> LatencyLimit:
    """What the members may take of ``limit``, timed at fit: ``LIMIT_SHARE`` of it, less
    ``typing`` (timings of a few milliseconds vary by a third between calls and
    processes)."""
    if limit.seconds_per_row is None:
        return limit
    return replace(limit, seconds_per_row=max(LIMIT_SHARE * limit.seconds_per_row - typing,
                                              0.0))


def seconds_per_row(predict, batch: pd.DataFrame, repeats: int = 2) -> float:
    """The fastest of ``repeats`` timed calls of ``predict(batch)`` (after one warm-up
    call on a single row), per row."""
    predict(batch.iloc[:1])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        predict(batch)
        best = min(best, time.perf_counter() - start)
    return best / len(batch)


def measure_ensemble(ensemble: Ensemble, batch: pd.DataFrame, n_threads: int) -> float:
    """Seconds per row of ``ensemble.predict`` on ``batch``, as the estimators call it."""
    return seconds_per_row(lambda X: ensemble.predict(X, n_threads=n_threads), batch)


def fastest_serving(ensemble: Ensemble, batch: pd.DataFrame, n_threads: int
                    ) -> tuple[Ensemble, float]:
    """``ensemble`` set to the faster of its two ways of predicting with ``n_threads``
    threads (members one after the other, or concurrently: see
    :meth:`~autometa.ensemble.Ensemble.served`), and its seconds per row on ``batch``."""
    one_by_one = ensemble.served(n_threads)
    seconds = measure_ensemble(one_by_one, batch, n_threads)
    if n_threads == 1 or len(ensemble.members) == 1:
        return one_by_one, seconds
    concurrent = ensemble.served(n_threads, concurrent=True)
    other = measure_ensemble(concurrent, batch, n_threads)
    if other < seconds:
        return concurrent, other
    return ensemble.served(n_threads), seconds


def trim_to_limit(ensemble: Ensemble, batch: pd.DataFrame, limit: LatencyLimit,
                  n_threads: int = 1) -> tuple[Ensemble, bool]:
    """``ensemble`` with the members whose summed seconds per row on ``batch`` fit ``limit``,
    and whether any fits.

    Members are timed one by one and kept greedily by weight per second while the sum
    fits; when no member fits alone, the fastest one is kept (and ``False`` returned).
    """
    times = {m.trial: seconds_per_row(_member(ensemble, m, n_threads), batch, repeats=1)
             for m in ensemble.members}
    kept, total = [], 0.0
    for m in sorted(ensemble.members, key=lambda m: -m.weight / max(times[m.trial], 1e-12)):
        if total + times[m.trial] <= limit.seconds_per_row:
            kept.append(m)
            total += times[m.trial]
    if not kept:
        fastest = min(ensemble.members, key=lambda m: times[m.trial])
        return replace(ensemble, members=(fastest,)), False
    if len(kept) == len(ensemble.members):
        return ensemble, True
    return replace(ensemble, members=tuple(sorted(kept, key=lambda m: m.trial))), True


def _member(ensemble: Ensemble, member: Member, n_threads: int) -> Callable:
    alone = replace(ensemble, members=(member,))
    return lambda X: alone.predict(X, n_threads=n_threads)
