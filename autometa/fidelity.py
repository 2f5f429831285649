"""Proxy subsets for multi-fidelity search: orderings of a split's training rows.

A trial at a lower fidelity trains on a prefix of its split's ordering, so the subsets of
growing fidelities are nested, and validates on the split's unchanged validation rows (its
loss is comparable with the full-data trials'). Every ordering starts with a *head* of
``PER_CLASS`` rows of each class (classification), so that any prefix of at least
:func:`row_floor` rows holds every class. Two orderings:

* ``"random"``: a stratified random order, whose every prefix keeps the class shares
  (classification) or the shares of the target's deciles (regression);
* ``"boundary"`` (after Meta-HPO's perturbation-aware sampling, CIKM 2021): the rows on
  which a cheap model is least sure — the smallest margin between its two most probable
  classes, or the largest residual for regression — interleaved with the stratified
  random order, ``BOUNDARY_SHARE`` of every prefix from the former, so the target's
  distribution survives. The cheap model (a small gradient-boosting model) is
  cross-fitted on a sample, so its training rows are not scored by themselves.

:func:`choose_rungs` decides whether a fit searches over fidelities at all, and on how
many rows its lowest rung trains. Below the highest rung, forests and gradient-boosting
models also train a third of their trees (:func:`tree_share`, :func:`with_trees`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from autometa.smac_setup import ETA, MultiFidelity
from autometa.space import ROOT, SEP
from autometa.task import CLASSIFICATION

MODES = ("auto", "full", "successive_halving", "hyperband")
ORDERINGS = ("boundary", "random")
AUTO_SHARE = 0.03  # "auto" searches over fidelities when a full trial of the cheapest
# portfolio candidate is expected to take more than this share of the budget
LOWEST_RUNG_SHARE = 0.015  # a typical candidate's trial on the lowest rung: this share
SLOW_SHARE = 2 * LOWEST_RUNG_SHARE  # a trial expected to take more than this share of the
# budget is slow: such a proposal of SMAC, later configuration of a family in the initial
# design, or promotion of a configuration not the best of its rung is not run ...
FAMILY_SHARE = 2 * SLOW_SHARE  # ... but up to this share for its family's best there (at
# 60 s on nycflights linear models led every rung: without trees promoted, the ensemble
# was linear alone, RMSE 18.0 against 17.4; on 500,000 rows an extra trees' promotion
# expected at 6 % of the budget ran 9 s, the time of a dozen cheap configurations)
BRACKET_SHARE = 0.5  # a large holdout's highest rung: its bracket takes at most this
# share of the budget
MAX_RUNGS = 5  # the lowest rung trains on at least 1 / ETA**4 of the rows
PER_CLASS = 10  # rows of each class at the head of every ordering
MIN_ROWS = 500  # no fidelity trains on fewer rows
FORESTS = ("random_forest", "extra_trees")  # below the highest rung, their trials train
LOWER_RUNG_TREES = 1 / ETA  # this share of their trees (a forest's time grows with its
# trees as with its rows: on 500,000 rows a random forest's and four extra trees' trials
# on the lowest rung took 23 of a one-worker search's 60 s, the time of 45 cheap trials)
MIN_TREES = 16  # but never fewer trees than this
BOOSTERS = ("lightgbm", "xgboost", "hist_gradient_boosting")  # theirs too, each tree's
# learning rate raised in proportion (the same sum of steps), ...
MAX_LEARNING_RATE = 0.5  # ... unless it would exceed this: then they train all their trees
TREES = {"hist_gradient_boosting": "max_iter"}  # the number of trees (else n_estimators)
N_BINS = 10  # regression strata: deciles of the target
BOUNDARY_SHARE = 0.5  # share of a boundary prefix taken from the least certain rows
SAMPLE_ROWS = 4000  # rows the cheap model of the boundary ordering is cross-fitted on
CHEAP_ITERATIONS = 30  # boosting rounds of the cheap model


def split_orders(X: pd.DataFrame, y: np.ndarray, task: str,
                 splits, kind: str = "random", seed: int = 0) -> tuple[np.ndarray, ...]:
    """An ordering of each split's training rows (row indices of ``X``), see the module.

    Parameters
    ----------
    X : DataFrame
        The canonical table.
    y : ndarray
        Encoded labels (classification) or values.
    task : {"classification", "regression"}
    splits : sequence of (train, validation) index arrays
    kind : {"boundary", "random"}
    seed : int

    Returns
    -------
    tuple of ndarray
        Per split, a permutation of its training rows.
    """
    if kind not in ORDERINGS:
        raise ValueError(f"proxy_subsets must be one of {ORDERINGS}, got {kind!r}.")
    orders = []
    for i, (train, _) in enumerate(splits):
        rng = np.random.default_rng([seed, i])
        y_train = y[train]
        strata = strata_of(y_train, task)
        head = head_mask(y_train, task, rng)
        if kind == "random":
            positions = stratified_order(strata, rng, head)
        else:
            scores = uncertainty(X.iloc[train], y_train, task, rng)
            positions = boundary_order(strata, scores, rng, head)
        orders.append(np.asarray(train)[positions])
    return tuple(orders)


def choose_rungs(mode: str, budget: float, full_rows: int, floor: int, n_splits: int,
                 seconds_per_row: np.ndarray, eta: int = ETA, cap: int | None = None
                 ) -> MultiFidelity | None:
    """The fit's successive halving, or ``None`` to evaluate every trial on all rows.

    Parameters
    ----------
    mode : {"auto", "full", "successive_halving", "hyperband"}
        ``"auto"``: successive halving when a full trial of the cheapest candidate is
        expected to take more than ``AUTO_SHARE`` of ``budget``, or when ``full_rows``
        exceed ``cap``.
    budget : float
        Seconds of the fit.
    full_rows : int
        Training rows per split of a full-fidelity trial.
    floor : int
        Fewest rows of the lowest rung (see :func:`row_floor`).
    n_splits : int
        Splits a trial trains on.
    seconds_per_row : ndarray
        The portfolio candidates' expected seconds per training row (NaN: unknown).
    eta : int
    cap : int, optional
        Training rows a search on one fidelity uses when ``full_rows`` are more (a large
        holdout, see :attr:`autometa.evaluation.TaskData.search_cap`). The highest rung then
        trains on the most of ``full_rows``, ``cap * eta**2``, ``cap * eta`` and ``cap``
        whose bracket (about one median candidate's trial on it per rung) takes at most
        ``BRACKET_SHARE`` of ``budget``.

    Returns
    -------
    MultiFidelity or None
        The lowest rung trains within a factor sqrt(eta) of ``LOWEST_RUNG_SHARE`` of
        ``budget`` for the median candidate (a forced mode or a large holdout: at most the
        second highest),
        on at least ``floor`` rows; ``None`` (with a
        warning when multi-fidelity was asked for) when the rows leave room for one rung.
    """
    if mode not in MODES:
        raise ValueError(f"fidelity must be one of {MODES}, got {mode!r}.")
    known = seconds_per_row[np.isfinite(seconds_per_row)]
    wider = cap is not None and full_rows > cap
    if mode == "full" or (mode == "auto" and not wider and (
            not len(known) or known.min() * full_rows * n_splits <= AUTO_SHARE * budget)):
        return None
    median = float(np.median(known)) if len(known) else None
    for top in _tops(full_rows, cap, eta) if wider else (full_rows,):
        n = _n_rungs(mode != "auto" or wider, budget, top, floor, n_splits, median, eta)
        if median is None or n * median * top * n_splits <= BRACKET_SHARE * budget:
            break
    if n < 2:
        if mode != "auto":
            warnings.warn(f"fidelity={mode!r}: {top} training rows leave no room for a rung "
                          f"below them (the lowest needs {floor}); every trial uses all rows.",
                          UserWarning, stacklevel=2)
        return None
    return MultiFidelity("successive_halving" if mode == "auto" else mode, top, n, eta)


def _tops(full_rows: int, cap: int, eta: int) -> list[int]:
    """The highest rungs a wider holdout may have, largest first (the last: ``cap``)."""
    return sorted({min(full_rows, cap * eta ** k) for k in range(3)}, reverse=True)


def _n_rungs(two: bool, budget: float, full_rows: int, floor: int, n_splits: int,
             median: float | None, eta: int) -> int:
    """Rungs up to ``full_rows``: the lowest at ``LOWEST_RUNG_SHARE`` of ``budget`` for a
    candidate of ``median`` seconds per row (unknown: at ``floor``); at least 2 when
    ``two`` and the floor allows, at most ``MAX_RUNGS``."""
    steps = _log(full_rows / floor, eta, math.floor)  # rungs below all rows, at most
    if median is not None:
        wanted = _log(full_rows * median * n_splits / (LOWEST_RUNG_SHARE * budget), eta, round)
        steps = min(steps, max(1, wanted) if two else wanted)
    return min(steps, MAX_RUNGS - 1) + 1


def _log(ratio: float, eta: int, rounding) -> int:
    """``rounding(log_eta(ratio))``, at least 0."""
    return max(0, int(rounding(math.log(ratio) / math.log(eta) + 1e-9))) if ratio > 0 else 0


def tree_share(config: Mapping[str, Any], rows: int | None) -> float:
    """The share of its trees a trial of ``config`` on ``rows`` training rows trains
    (``rows=None``: the highest rung, where every trial trains all of them):
    ``LOWER_RUNG_TREES`` of a forest's or booster's trees on a lower rung, at least
    ``MIN_TREES`` (a booster whose learning rate :func:`with_trees` would raise above
    ``MAX_LEARNING_RATE``: all). Its time is measured for this share (see
    :attr:`autometa.records.Trial.trees`)."""
    family = str(config[ROOT])
    if rows is None or family not in FORESTS + BOOSTERS:
        return 1.0
    n = int(config[trees_key(family)])
    share = _trees(n, LOWER_RUNG_TREES) / n
    if family in BOOSTERS and \
            float(config[family + SEP + "learning_rate"]) / share > MAX_LEARNING_RATE:
        return 1.0
    return share


def with_trees(config: Mapping[str, Any], share: float) -> dict[str, Any]:
    """``config`` with ``share`` of its trees (as :func:`tree_share` gave it), a
    booster's learning rate raised in proportion."""
    if share >= 1.0:
        return dict(config)
    family = str(config[ROOT])
    key = trees_key(family)
    n = int(config[key])
    trained = {**config, key: _trees(n, share)}
    if family in BOOSTERS:
        rate = family + SEP + "learning_rate"
        trained[rate] = float(config[rate]) * n / trained[key]
    return trained


def trees_key(family: str) -> str:
    """The hyperparameter holding the number of trees of a forest or booster ``family``."""
    return family + SEP + TREES.get(family, "n_estimators")


def _trees(n: int, share: float) -> int:
    return min(n, max(MIN_TREES, round(n * share)))


def row_floor(y_train: np.ndarray, task: str) -> int:
    """The fewest rows a fidelity may use: ``MIN_ROWS``, and at least the head of every
    ordering (so every class is present)."""
    if task != CLASSIFICATION:
        return min(MIN_ROWS, len(y_train))
    head = int(np.minimum(np.bincount(y_train), PER_CLASS).sum())
    return min(max(MIN_ROWS, head), len(y_train))


def strata_of(y: np.ndarray, task: str) -> np.ndarray:
    """The stratum of each row: its class, or its target decile."""
    if task == CLASSIFICATION:
        return np.asarray(y)
    edges = np.unique(np.quantile(y, np.linspace(0, 1, N_BINS + 1)[1:-1]))
    return np.searchsorted(edges, y, side="right")


def head_mask(y: np.ndarray, task: str, rng: np.random.Generator) -> np.ndarray:
    """Rows that open every ordering: ``PER_CLASS`` random rows of each class (none for
    regression)."""
    head = np.zeros(len(y), dtype=bool)
    if task != CLASSIFICATION:
        return head
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        head[rng.choice(rows, min(PER_CLASS, len(rows)), replace=False)] = True
    return head


def stratified_order(strata: np.ndarray, rng: np.random.Generator,
                     head: np.ndarray | None = None) -> np.ndarray:
    """Positions in an order whose every prefix keeps the strata's shares (within a
    stratum, random), the ``head`` rows first."""
    return np.argsort(_stratified_keys(strata, rng, head), kind="stable")


def _stratified_keys(strata: np.ndarray, rng: np.random.Generator,
                     head: np.ndarray | None) -> np.ndarray:
    """Each row's place in the stratified order, as a number in [0, 1) (head rows below
    0): the k-th of a stratum of size m gets (k + u) / m."""
    key = np.empty(len(strata))
    for stratum in np.unique(strata):
        rows = np.flatnonzero(strata == stratum)
        rows = rows[rng.permutation(len(rows))]
        key[rows] = (np.arange(len(rows)) + rng.random(len(rows))) / len(rows)
    if head is not None:
        key[head] -= 1.0
    return key


def boundary_order(strata: np.ndarray, scores: np.ndarray, rng: np.random.Generator,
                   head: np.ndarray | None = None, share: float = BOUNDARY_SHARE
                   ) -> np.ndarray:
    """Positions in an order that takes ``share`` of every prefix from the rows of highest
    ``scores`` and the rest from the stratified order (a row comes where either stream
    first reaches it), the ``head`` rows first."""
    n = len(strata)
    random_rank = np.empty(n)
    random_rank[np.argsort(_stratified_keys(strata, rng, None), kind="stable")] = np.arange(n)
    hard_rank = np.empty(n)
    hard_rank[np.argsort(-scores, kind="stable")] = np.arange(n)
    key = np.minimum(hard_rank / share, random_rank / (1.0 - share))
    if head is not None:
        key[head] = -1.0 + np.arange(head.sum()) / max(1, head.sum())
    return np.argsort(key, kind="stable")


def uncertainty(X: pd.DataFrame, y: np.ndarray, task: str, rng: np.random.Generator,
                sample_rows: int = SAMPLE_ROWS) -> np.ndarray:
    """How unsure a cheap model is of each row: one minus the margin between its two
    most probable classes, or the absolute residual (regression).

    Two cheap models are fitted on the two halves of a sample of ``sample_rows`` rows;
    each scores the other half, and their average scores the rows outside the sample.
    """
    with threadpool_limits(1):  # in the main process: OpenMP threads would contend there
        return _cross_fitted(numeric_view(X), y, task, rng, sample_rows)


def _cross_fitted(features: np.ndarray, y: np.ndarray, task: str, rng: np.random.Generator,
                  sample_rows: int) -> np.ndarray:
    sample = rng.choice(len(y), min(sample_rows, len(y)), replace=False)
    halves = (sample[: len(sample) // 2], sample[len(sample) // 2:])
    models = [_cheap_model(features[h], y[h], task) for h in halves]
    outside = np.ones(len(y), dtype=bool)
    outside[sample] = False
    scores = np.empty(len(y))
    scores[halves[0]] = _score(models[1], features[halves[0]], y[halves[0]], task)
    scores[halves[1]] = _score(models[0], features[halves[1]], y[halves[1]], task)
    if outside.any():
        scores[outside] = np.mean([_score(m, features[outside], y[outside], task)
                                   for m in models], axis=0)
    return scores


def numeric_view(X: pd.DataFrame) -> np.ndarray:
    """The table as floats: categories as their codes (missing stays NaN)."""
    columns = []
    for name in X.columns:
        col = X[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy().astype(np.float64)
            columns.append(np.where(codes < 0, np.nan, codes))
        else:
            columns.append(col.to_numpy(dtype=np.float64))
    return np.column_stack(columns) if columns else np.zeros((len(X), 0))


def _cheap_model(features: np.ndarray, y: np.ndarray, task: str):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if task == CLASSIFICATION and len(np.unique(y)) < 2:
        return ("constant", y[0] if len(y) else 0)
    cls = HistGradientBoostingClassifier if task == CLASSIFICATION \
        else HistGradientBoostingRegressor
    model = cls(max_iter=CHEAP_ITERATIONS, learning_rate=0.2, early_stopping=False,
                random_state=0)
    return model.fit(features, y)


def _score(model, features: np.ndarray, y: np.ndarray, task: str) -> np.ndarray:
    if isinstance(model, tuple):  # one class in its half: sure of it everywhere
        return np.zeros(len(y))
    if task != CLASSIFICATION:
        return np.abs(y - model.predict(features))
    proba = model.predict_proba(features)
    if proba.shape[1] < 2:
        return np.zeros(len(y))
    top = np.sort(proba, axis=1)[:, -2:]
    return 1.0 - (top[:, 1] - top[:, 0])
