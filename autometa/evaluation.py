"""Scoring one configuration: resampling splits, fitting, validation predictions.

Pure functions of their arguments; they run inside a sandbox process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.model_selection import (
    KFold,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    train_test_split,
)
from sklearn.pipeline import Pipeline

from autometa.components import BuildContext, ModelSpec, registry
from autometa.fidelity import with_trees
from autometa.forest import pipeline_predict
from autometa.metrics import Metric, resolve_metric
from autometa.serving import accelerate
from autometa.space import build_pipeline
from autometa.table import Table
from autometa.task import CLASSIFICATION, TaskType
from autometa.weights import training_rows

HOLDOUT_FRACTION = 0.2
SEARCH_ROWS_PER_SECOND = 200  # a holdout search trains on 200 rows per second of budget,
SEARCH_TRAIN_RANGE = (10_000, 200_000)  # within these bounds, and validates on a quarter
WIDER_SEARCH = 9  # a multi-fidelity search's highest rung trains on up to this many times
# as many rows (its lower rungs keep trials cheap); the validation rows stay the same
SHORT_BUDGET = 60.0  # below this many seconds, "auto" uses 3 folds on small data, not 5
REPEATS = 3  # "repeated_cv": 5-fold cross-validation, three times with other shuffles
REPEATED_ROWS = 500  # "auto" repeats 5-fold CV on binary and regression tasks this small:
# one split's validation loss is too noisy to choose by (benchmarks/README.md, small_data)
ACCELERATION_SAMPLE = 200  # training rows a refit's faster encoders are checked on


@dataclass(frozen=True)
class TaskData:
    """Everything a trial needs besides its configuration."""

    X: pd.DataFrame
    y: np.ndarray
    task: TaskType
    n_classes: int | None
    splits: tuple[tuple[np.ndarray, np.ndarray], ...]
    metric: Metric
    specs: dict[str, ModelSpec]
    categorical: tuple[str, ...] = ()
    cardinalities: tuple[int, ...] = ()
    sample_weight: np.ndarray | None = None
    orders: tuple[np.ndarray, ...] | None = None  # per split, its training rows in the
    # order lower fidelities take them (see :mod:`autometa.fidelity`)
    search_cap: int | None = None  # training rows of a holdout search on one fidelity
    # (see :meth:`capped`); the holdout's training split may hold up to WIDER_SEARCH times more

    @classmethod
    def from_table(cls, table: Table, *, resampling: str | int | tuple = "auto",
                   seed: int = 0, metric=None, specs: dict[str, ModelSpec] | None = None,
                   budget: float | None = None) -> TaskData:
        """The task of a validated table: its resampling splits, metric and model families.

        Parameters
        ----------
        table : Table
            The typed training table.
        resampling : {"auto", "holdout", "cv", "repeated_cv"}, int or Resampling
            See :func:`choose_resampling`; a :class:`Resampling` (or a ``(kind,
            n_splits[, n_repeats])`` tuple) is used as it is.
        seed : int
            Seed of the splits.
        metric : str, scorer or None
            See :func:`autometa.metrics.resolve_metric`.
        specs : dict of str to ModelSpec, optional
            The model families trials may use (default: the built-in ones).
        budget : float, optional
            The fit's time budget (see :func:`choose_resampling` and :func:`search_rows`).

        Raises
        ------
        ValueError
            When the table is weighted and the metric's score function takes no
            ``sample_weight``.
        """
        n_rows = len(table.y)
        scorer = resolve_metric(metric, table.task, table.n_classes)
        if table.sample_weight is not None and not scorer.takes_sample_weight:
            raise ValueError(f"The metric {scorer.name!r} takes no sample_weight, so a weighted "
                             "fit cannot score its trials; use a metric whose score function "
                             "has a sample_weight parameter, or fit without weights.")
        scheme = Resampling(*resampling) if isinstance(resampling, tuple) else \
            choose_resampling(resampling, n_rows, budget, table.n_classes)
        cap = search_rows(budget)
        return cls(
            X=table.X,
            y=table.y,
            task=table.task,
            n_classes=table.n_classes,
            splits=make_splits(table.y, table.task, scheme.kind, scheme.n_splits, seed,
                               cap * WIDER_SEARCH, scheme.n_repeats, max_val=cap // 4),
            metric=scorer,
            specs=registry() if specs is None else specs,
            categorical=table.schema.categorical_names,
            cardinalities=tuple(table.schema.cardinalities),
            sample_weight=table.sample_weight,
            search_cap=cap if scheme.kind == "holdout" else None,
        )

    def capped(self, seed: int, rows: int | None = None) -> TaskData:
        """A holdout's training split cut to a random ``rows`` of its rows (default:
        ``search_cap``, the rows of a search on one fidelity); validation rows unchanged."""
        rows = rows or self.search_cap
        if rows is None or self.full_rows <= rows:
            return self
        rng = np.random.default_rng(seed)
        splits = tuple((np.sort(rng.permutation(train)[:rows]), val)
                       for train, val in self.splits)
        return replace(self, splits=splits, orders=None)

    @property
    def val_index(self) -> np.ndarray:
        """Rows that receive validation predictions, in prediction order."""
        return np.concatenate([va for _, va in self.splits])

    @property
    def val_weight(self) -> np.ndarray | None:
        """Weights of the rows of :attr:`val_index` (``None`` when unweighted)."""
        return None if self.sample_weight is None else self.sample_weight[self.val_index]

    @property
    def full_rows(self) -> int:
        """Training rows of the largest split: the highest fidelity."""
        return max(len(train) for train, _ in self.splits)

    def train_rows(self, split: int, rows: int | None = None) -> np.ndarray:
        """The training rows of split ``split`` at fidelity ``rows`` (``None``: all): the
        first ``rows`` of its ordering, in table order.

        Raises
        ------
        ValueError
            When a lower fidelity is asked for and the data has no orderings.
        """
        train = self.splits[split][0]
        if rows is None or rows >= len(train):
            return train
        if self.orders is None:
            raise ValueError("a trial at a lower fidelity needs the row orderings of the "
                             "splits (TaskData.orders); none were computed.")
        return np.sort(self.orders[split][:rows])

    def training(self, rows: np.ndarray | None
                 ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
        """``X``, ``y`` and weights to train on ``rows`` (``None``: all rows); rows of
        weight 0 are left out (see :func:`autometa.weights.training_rows`)."""
        rows, weights = training_rows(self.sample_weight, rows, len(self.y))
        if rows is None:
            return self.X, self.y, None
        return self.X.iloc[rows], self.y[rows], weights

    def context(self, n_rows: int, seed: int, n_threads: int) -> BuildContext:
        numeric = tuple(c for c in self.X.columns if c not in set(self.categorical))
        return BuildContext(
            task=self.task,
            n_rows=n_rows,
            numeric=numeric,
            categorical=self.categorical,
            cardinalities=self.cardinalities,
            seed=seed,
            n_threads=n_threads,
        )


@dataclass(frozen=True)
class Outcome:
    """A successful evaluation: its loss, validation predictions and timings."""

    loss: float
    predictions: np.ndarray
    fit_time: float
    predict_time: float
    models: FoldAverage | None = None  # sent only when the trial is its worker's best so far
    loss_std: float | None = None  # over the splits (None for a holdout)


class Resampling(NamedTuple):
    """How trials are validated: a ``"holdout"`` split, or ``"cv"`` with ``n_splits`` folds,
    repeated ``n_repeats`` times with other shuffles."""

    kind: str
    n_splits: int
    n_repeats: int = 1


def choose_resampling(strategy: str | int, n_rows: int, budget: float | None = None,
                      n_classes: int | None = None) -> Resampling:
    """The :class:`Resampling` of a user's ``resampling`` parameter.

    ``"auto"`` repeats 5-fold CV on binary and regression tasks (``n_classes`` 2 or
    ``None``) of at most :data:`REPEATED_ROWS` rows, and saves the cost of 5 folds for
    budgets under :data:`SHORT_BUDGET` seconds.
    """
    if strategy == "auto":
        if n_rows <= REPEATED_ROWS and (n_classes is None or n_classes <= 2):
            return Resampling("cv", 5, REPEATS)
        if n_rows <= 2_000 and (budget is None or budget >= SHORT_BUDGET):
            return Resampling("cv", 5)
        return Resampling("cv", 3) if n_rows <= 20_000 else Resampling("holdout", 1)
    if strategy == "holdout":
        return Resampling("holdout", 1)
    if strategy == "cv":
        return Resampling("cv", 5)
    if strategy == "repeated_cv":
        return Resampling("cv", 5, REPEATS)
    if isinstance(strategy, (int, np.integer)) and not isinstance(strategy, bool) and strategy >= 2:
        return Resampling("cv", int(strategy))
    raise ValueError(
        "resampling must be 'auto', 'holdout', 'cv', 'repeated_cv' or an int >= 2, got "
        f"{strategy!r}."
    )


def search_rows(budget: float | None) -> int:
    """Most training rows a holdout search uses for a time budget (refits use all rows)."""
    if budget is None:
        return SEARCH_TRAIN_RANGE[1]
    return int(np.clip(SEARCH_ROWS_PER_SECOND * budget, *SEARCH_TRAIN_RANGE))


def make_splits(y: np.ndarray, task: str, kind: str, n_splits: int, seed: int,
                max_train: int | None = None, n_repeats: int = 1, max_val: int | None = None):
    """Train/validation index pairs, stratified for classification where possible.

    A holdout keeps at most ``max_train`` training rows and ``max_val`` validation rows
    (default: a quarter of ``max_train``), so that a search on large data evaluates many
    configurations. Cross-validation repeated ``n_repeats`` times validates every row once
    per repeat.
    """
    n = len(y)
    stratify = task == CLASSIFICATION and np.bincount(y).min() >= 2
    if kind == "holdout":
        n_val = max(1, round(HOLDOUT_FRACTION * n))
        max_train = max_train or n
        max_val = max(1, max_val or max_train // 4)
        # stratifying needs a row of every class on each side
        stratify = stratify and min(n_val, n - n_val, max_val) >= len(np.unique(y))
        train, val = train_test_split(
            np.arange(n),
            train_size=min(n - n_val, max_train),
            test_size=min(n_val, max_val),
            random_state=seed,
            stratify=y if stratify else None,
        )
        return ((np.sort(train), np.sort(val)),)
    if stratify:
        n_splits = max(2, min(n_splits, int(np.bincount(y).min())))
        cv = StratifiedKFold(n_splits, shuffle=True, random_state=seed) if n_repeats == 1 \
            else RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats,
                                         random_state=seed)
    else:
        cv = KFold(n_splits, shuffle=True, random_state=seed) if n_repeats == 1 \
            else RepeatedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    return tuple((tr, va) for tr, va in cv.split(np.zeros(n), y))


def fit_pipeline(pipeline, X: pd.DataFrame, y: np.ndarray, task: str,
                 sample_weight: np.ndarray | None = None):
    """Fit ``pipeline`` and return it; labels absent from ``y`` are handled by the caller.

    ``sample_weight`` goes to the fit of the pipeline's last step.
    """
    params = weight_params(pipeline, sample_weight)
    with config_context(enable_metadata_routing=False):  # ``step__sample_weight`` style
        if task == CLASSIFICATION:
            present = np.unique(y)
            pipeline.fit(X, np.searchsorted(present, y), **params)
            pipeline.autometa_classes_ = present
        else:
            pipeline.fit(X, y, **params)
    return pipeline


def weight_params(pipeline, sample_weight: np.ndarray | None) -> dict[str, np.ndarray]:
    """The fit parameters that pass ``sample_weight`` to the model of ``pipeline``."""
    if sample_weight is None:
        return {}
    if isinstance(pipeline, Pipeline):
        return {f"{pipeline.steps[-1][0]}__sample_weight": sample_weight}
    return {"sample_weight": sample_weight}


def predict_pipeline(pipeline, X: pd.DataFrame, task: str, n_classes: int | None) -> np.ndarray:
    """Probabilities over all ``n_classes`` (classification) or values (regression)."""
    if task != CLASSIFICATION:
        return np.asarray(pipeline_predict(pipeline, X, proba=False), dtype=np.float64)
    proba = np.asarray(pipeline_predict(pipeline, X, proba=True), dtype=np.float64)
    present = pipeline.autometa_classes_
    if len(present) == n_classes:
        return proba
    full = np.zeros((len(X), n_classes))
    full[:, present] = proba
    return full


class FoldAverage:
    """The fold models of a cross-validated trial, predicting as their average."""

    def __init__(self, pipelines: list, task: str, n_classes: int | None):
        self.pipelines = pipelines
        self.task = task
        self.autometa_classes_ = np.arange(n_classes or 0)

    def _mean(self, X) -> np.ndarray:
        n = len(self.autometa_classes_) or None
        return np.mean([predict_pipeline(p, X, self.task, n) for p in self.pipelines], axis=0)

    def predict_proba(self, X) -> np.ndarray:
        return self._mean(X)

    def predict(self, X) -> np.ndarray:
        return self._mean(X)


def evaluate(config: dict[str, Any], data: TaskData, seed: int, n_threads: int = 1,
             rows: int | None = None) -> Outcome:
    """Fit and validate ``config`` on every split, training on ``rows`` rows of each
    (``None``: all; see :meth:`TaskData.train_rows`); raises on failure."""
    return evaluate_with_models(config, data, seed, n_threads, rows)[0]


def evaluate_with_models(config: dict[str, Any], data: TaskData, seed: int,
                         n_threads: int = 1, rows: int | None = None
                         ) -> tuple[Outcome, FoldAverage]:
    """:func:`evaluate`, also returning the fitted fold models."""
    fit_time = predict_time = 0.0
    parts, models = [], []
    for i, (_, val) in enumerate(data.splits):
        X, y, weights = data.training(data.train_rows(i, rows))
        ctx = data.context(len(y), seed, n_threads)
        pipeline = build_pipeline(config, ctx, data.specs)
        start = time.perf_counter()
        models.append(fit_pipeline(pipeline, X, y, data.task, weights))
        fit_time += time.perf_counter() - start
        start = time.perf_counter()
        parts.append(predict_pipeline(pipeline, data.X.iloc[val], data.task, data.n_classes))
        predict_time += time.perf_counter() - start
    predictions = np.concatenate(parts)
    if not np.isfinite(predictions).all():
        raise FloatingPointError("the model predicted NaN or infinite values")
    loss = data.metric.loss(data.y[data.val_index], predictions, data.val_weight)
    if not np.isfinite(loss):
        raise FloatingPointError(f"the metric {data.metric.name} is not finite")
    outcome = Outcome(loss, predictions.astype(np.float32), fit_time, predict_time,
                      loss_std=split_loss_std(parts, data))
    return outcome, FoldAverage(models, data.task, data.n_classes)


def split_loss_std(parts: list[np.ndarray], data: TaskData) -> float | None:
    """The standard deviation of the validation loss over the splits (``None`` for one
    split, or when a split alone cannot be scored, e.g. ROC AUC of one class)."""
    if len(parts) < 2:
        return None
    weights = data.sample_weight
    losses = []
    for (_, val), pred in zip(data.splits, parts, strict=True):
        try:
            losses.append(data.metric.loss(data.y[val], pred,
                                           None if weights is None else weights[val]))
        except ValueError:
            return None
    return float(np.std(losses)) if np.isfinite(losses).all() else None


@dataclass(frozen=True)
class Evaluation:
    """A job for an executor: evaluate ``config`` on the executor's data.

    The fold models come back with the outcome only when its loss is below
    ``keep_models_below`` (the search passes the best loss known when it sends the job:
    the best trial's models are the fallback should the fit end before any refit; by
    default they never come back).
    """

    config: dict[str, Any]
    seed: int
    n_threads: int = 1
    keep_models_below: float = -float("inf")
    rows: int | None = None  # the fidelity: training rows per split (None: all)
    trees: float = 1.0  # the share of its trees to train (see fidelity.tree_share)

    def __call__(self, data: TaskData) -> Outcome:
        outcome, models = evaluate_with_models(with_trees(self.config, self.trees), data,
                                               self.seed, self.n_threads, self.rows)
        return replace(outcome, models=models) if outcome.loss < self.keep_models_below \
            else outcome


@dataclass(frozen=True)
class Refit:
    """A job for an executor: fit ``config`` on all rows (or ``max_rows`` of them), but
    the validation rows when ``hold_out``."""

    config: dict[str, Any]
    seed: int
    n_threads: int = 1
    max_rows: int | None = None
    hold_out: bool = False

    def __call__(self, data: TaskData):
        return refit(self.config, data, self.seed, self.n_threads, self.max_rows,
                     self.hold_out)


def refit(config: dict[str, Any], data: TaskData, seed: int, n_threads: int = 1,
          max_rows: int | None = None, hold_out: bool = False):
    """The pipeline of ``config`` fitted on all rows (or ``max_rows`` of them; but the
    validation rows when ``hold_out``), with their weights, its encoders made fast for
    predicting (see :func:`autometa.serving.accelerate`)."""
    X, y, weights = data.training(refit_rows(data, max_rows, seed, hold_out))
    ctx = data.context(len(y), seed, n_threads)
    pipeline = fit_pipeline(build_pipeline(config, ctx, data.specs), X, y, data.task, weights)
    return accelerate(pipeline, X.iloc[:ACCELERATION_SAMPLE])


def refit_rows(data: TaskData, max_rows: int | None, seed: int, hold_out: bool = False
               ) -> np.ndarray | None:
    """Rows for a refit limited to ``max_rows`` (``None``: all rows, but the validation
    rows when ``hold_out``): the first split's training rows (stratified), topped up with
    seeded random others."""
    n = len(data.y)
    left_out = data.val_index if hold_out else np.array([], dtype=np.int64)
    if max_rows is None or max_rows >= n - len(left_out):
        return np.setdiff1d(np.arange(n), left_out) if hold_out else None
    rng = np.random.default_rng(seed)
    train = data.splits[0][0]
    if len(train) >= max_rows:
        return np.sort(rng.choice(train, max_rows, replace=False))
    others = np.setdiff1d(np.arange(n), np.concatenate([train, left_out]), assume_unique=True)
    extra = rng.choice(others, max_rows - len(train), replace=False)
    return np.sort(np.concatenate([train, extra]))
