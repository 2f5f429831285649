"""The public estimators: AutoMetaClassifier and AutoMetaRegressor."""

from __future__ import annotations

import os
import time
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from autometa import data as tabular
from autometa.components import registry
from autometa.evaluation import TaskData, prepare_task
from autometa.final import refit_members, refit_reserve, select_weights
from autometa.leaderboard import leaderboard_frame
from autometa.pool import borrowed_pool
from autometa.progress import fit_progress
from autometa.search import SearchSettings, run_search
from autometa.space import build_space, select_families

MB = 2**20
END_MARGIN = 0.4  # seconds kept for bookkeeping after the last refit


class _AutoMetaBase(BaseEstimator):
    """Shared fit/predict machinery; see the public subclasses for the parameters."""

    _task: str = ""

    _parameter_constraints: dict = {
        "time_budget": [Interval(Real, 0, None, closed="neither")],
        "metric": [None, str, callable],
        "max_evals": [None, Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral],
        "include": [None, list, tuple],
        "exclude": [None, list, tuple],
        "resampling": [StrOptions({"auto", "holdout", "cv"}), Interval(Integral, 2, None,
                                                                       closed="left")],
        "per_trial_time_limit": [None, Interval(Real, 0, None, closed="neither")],
        "memory_limit": [None, Interval(Real, 0, None, closed="neither")],
        "ensemble_size": [Interval(Integral, 1, None, closed="left")],
        "ensemble_nbest": [Interval(Integral, 1, None, closed="left")],
        "extra_models": [None, list, tuple],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        time_budget: float = 60,
        metric=None,
        max_evals: int | None = None,
        n_jobs: int = 1,
        include: list[str] | None = None,
        exclude: list[str] | None = None,
        resampling: str | int = "auto",
        per_trial_time_limit: float | None = None,
        memory_limit: float | None = None,
        ensemble_size: int = 50,
        ensemble_nbest: int = 50,
        extra_models=None,
        random_state=None,
        verbose: int = 0,
    ):
        self.time_budget = time_budget
        self.metric = metric
        self.max_evals = max_evals
        self.n_jobs = n_jobs
        self.include = include
        self.exclude = exclude
        self.resampling = resampling
        self.per_trial_time_limit = per_trial_time_limit
        self.memory_limit = memory_limit
        self.ensemble_size = ensemble_size
        self.ensemble_nbest = ensemble_nbest
        self.extra_models = extra_models
        self.random_state = random_state
        self.verbose = verbose

    # -- fit --------------------------------------------------------------------------------

    def fit(self, X, y):
        """Search pipelines for ``time_budget`` seconds and keep the best ensemble.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric, categorical, string, boolean and datetime columns; missing values allowed.
        y : array-like of shape (n_samples,)
            Target values (labels for classification, numbers for regression).

        Returns
        -------
        self : estimator
            The fitted estimator.
        """
        start = time.monotonic()
        self._validate_params()
        frame, target = self._check_training_data(X, y)
        seed = self._seed()
        n_workers = self._n_workers()
        with borrowed_pool(n_workers) as pool, fit_progress(self, start):
            pool.start()
            data = self._task_data(frame, target, seed)
            pool.set_data(data)
            state = self._search(data, pool, seed, n_workers, start)
            weights = select_weights(state, data, self.ensemble_size, self.ensemble_nbest)
            hard_end = start + 1.03 * self.time_budget - END_MARGIN
            self.ensemble_ = refit_members(weights, state, data, pool, seed, hard_end)
        self._store_results(state, data, weights)
        self.fit_time_ = time.monotonic() - start
        return self

    def _check_training_data(self, X, y):
        frame = tabular.as_frame(X)
        validate_data(self, X, reset=True, skip_check_array=True)
        if frame.shape[1] == 0:
            raise ValueError(f"0 feature(s) (shape={frame.shape}) while a minimum of 1 is "
                             "required.")
        tabular.check_min_rows(len(frame))
        target = tabular.check_target(y, len(frame), self._task, type(self).__name__)
        self.schema_ = tabular.learn_schema(frame)
        if target.classes is not None:
            self.classes_ = target.classes
        return self.schema_.transform(frame), target

    def _task_data(self, frame: pd.DataFrame, target, seed: int) -> TaskData:
        schema = self.schema_
        data = prepare_task(
            frame, target.y, self._task,
            categorical=schema.categorical_names,
            cardinalities=tuple(schema.cardinalities),
            n_classes=None if target.classes is None else len(target.classes),
            metric=self.metric, resampling=self.resampling, seed=seed,
            specs=registry(self.extra_models or ()),
        )
        self.metric_ = data.metric
        return data

    def _search(self, data: TaskData, pool, seed: int, n_workers: int, start: float):
        families = select_families(self._task, data.specs, self.include, self.exclude)
        space = build_space(self._task, families, seed=seed)
        settings = SearchSettings(
            seed=seed,
            deadline=start + self.time_budget,
            trial_time_limit=self._trial_time_limit(),
            memory_limit=int(self.memory_limit * MB) if self.memory_limit else None,
            max_evals=self.max_evals,
            n_random_initial=min(10, self.max_evals or 10),
            reserve=lambda trials: refit_reserve(trials, data, n_workers, self.time_budget),
        )
        state = run_search(space, pool, settings, on_trial=self._report_trial)
        if not state.successes:
            raise RuntimeError(self._no_success_message(state))
        return state

    def _no_success_message(self, state) -> str:
        if not state.trials:
            return (f"No pipeline could be evaluated within time_budget={self.time_budget} s; "
                    "increase time_budget.")
        errors = sorted({f"{t.status}: {t.error}" for t in state.trials})[:5]
        return (f"All {len(state.trials)} trials failed; increase time_budget or "
                f"per_trial_time_limit. Errors seen: {errors}")

    def _report_trial(self, trial) -> None:
        progress = getattr(self, "_progress", None)  # set by fit_progress when verbose
        if progress is not None:
            progress.update(trial)

    def _store_results(self, state, data: TaskData, weights: dict[int, float]) -> None:
        self.trials_ = state.trials
        self.leaderboard_ = leaderboard_frame(state.trials, weights)
        best = min(state.successes, key=lambda t: t.loss)
        self.best_config_ = dict(best.config)
        self.best_score_ = -best.loss

    def _trial_time_limit(self) -> float:
        if self.per_trial_time_limit is not None:
            return float(self.per_trial_time_limit)
        return max(2.0, self.time_budget / 8)

    def _seed(self) -> int:
        if isinstance(self.random_state, Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    def _n_workers(self) -> int:
        cpus = os.cpu_count() or 1
        return max(1, cpus + 1 + self.n_jobs if self.n_jobs < 0 else self.n_jobs)

    # -- predict ----------------------------------------------------------------------------

    def _transform(self, X) -> pd.DataFrame:
        check_is_fitted(self, "ensemble_")
        frame = tabular.as_frame(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        return self.schema_.transform(frame)

    def _raw_predict(self, X) -> np.ndarray:
        frame = self._transform(X)
        return self.ensemble_.predict(frame)

    def leaderboard(self) -> pd.DataFrame:
        """Every trial, best first: rank, family, origin, score, times, status, weight, config.

        Returns
        -------
        DataFrame
            One row per trial.
        """
        check_is_fitted(self, "leaderboard_")
        return self.leaderboard_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.sparse = True
        tags.non_deterministic = False
        return tags


_PARAMS_DOC = """
    Parameters
    ----------
    time_budget : float, default=60
        Wall-clock seconds for the whole ``fit`` (search, ensembling and refit).
    metric : str, scorer or None, default=None
        A scikit-learn scorer name (e.g. ``"roc_auc"``, ``"neg_log_loss"``,
        ``"balanced_accuracy"``, ``"r2"``) or a ``make_scorer`` object. ``None`` means
        ``roc_auc`` for binary, ``neg_log_loss`` for multiclass and
        ``neg_root_mean_squared_error`` for regression.
    max_evals : int or None, default=None
        Upper bound on the number of trials.
    n_jobs : int, default=1
        Trials run in parallel (``-1``: one per CPU).
    include, exclude : list of str or None
        Model families to search (or to leave out), e.g. ``["lightgbm", "linear"]``.
    resampling : {"auto", "holdout", "cv"} or int, default="auto"
        Validation scheme: ``"auto"`` uses 5-fold CV up to 2,000 rows, 3-fold up to
        20,000 and a 20 % holdout beyond; an int means k-fold CV.
    per_trial_time_limit : float or None
        Seconds per trial (default: an eighth of ``time_budget``, at least 2 s).
    memory_limit : float or None
        Megabytes of resident memory for a trial's worker process; a trial exceeding it
        is stopped and recorded as ``memout``.
    ensemble_size : int, default=50
        Steps of greedy ensemble selection; 1 keeps the single best pipeline.
    ensemble_nbest : int, default=50
        Number of best trials ensemble selection chooses from.
    extra_models : list of ModelSpec or None
        Additional model families to search besides the built-in ones
        (see ``autometa.components.ModelSpec``).
    random_state : int, RandomState or None
        Seed; the same seed with ``max_evals`` gives the same result.
    verbose : int, default=0
        Print progress when > 0.
"""

_ATTRS_DOC = """
    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Column names seen during fit (only when X was a DataFrame).
    leaderboard_ : DataFrame
        Every trial (see :meth:`leaderboard`).
    best_config_ : dict
        Configuration of the best single pipeline.
    best_score_ : float
        Its validation score.
    ensemble_ : Ensemble
        The fitted members and their weights.
    metric_ : Metric
        The metric optimised.
"""


class AutoMetaClassifier(ClassifierMixin, _AutoMetaBase):
    __doc__ = ("AutoML classifier: searches model families and hyperparameters, then "
               "ensembles the best pipelines.\n" + _PARAMS_DOC + _ATTRS_DOC
               + "    classes_ : ndarray\n        Class labels.\n")
    _task = "classification"

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return self._raw_predict(X)

    def predict(self, X) -> np.ndarray:
        """Predicted class labels."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class AutoMetaRegressor(RegressorMixin, _AutoMetaBase):
    __doc__ = ("AutoML regressor: searches model families and hyperparameters, then "
               "ensembles the best pipelines.\n" + _PARAMS_DOC + _ATTRS_DOC)
    _task = "regression"

    def predict(self, X) -> np.ndarray:
        """Predicted values."""
        return self._raw_predict(X)
