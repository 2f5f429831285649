"""The public estimators: AutoMetaClassifier and AutoMetaRegressor."""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from autometa import data as tabular
from autometa import metafeatures
from autometa.components import registry
from autometa.docs import ATTRS_DOC, PARAMS_DOC
from autometa.evaluation import TaskData, prepare_task
from autometa.export import fitted_types, to_voting
from autometa.final import best_trial_ensemble, refit_members, refit_reserve, select_weights
from autometa.leaderboard import leaderboard_frame
from autometa.pool import borrowed_pool
from autometa.portfolio import Portfolio
from autometa.progress import fit_progress
from autometa.search import SearchSettings, SearchState, run_search
from autometa.space import build_space, select_families
from autometa.versions import library_versions, warn_if_changed
from autometa.warmstart import WarmStart, warm_start

MB = 2**20
END_MARGIN = 0.4  # seconds kept for bookkeeping after the last refit
AFFORDABLE = 0.5  # portfolio candidates expected to need more of the trial limit are skipped


@dataclass(frozen=True)
class _Previous:
    """A finished search that ``warm_start`` may continue, and the data it ran on."""

    state: SearchState
    seed: int
    fingerprint: str


def fingerprint(frame: pd.DataFrame, y: np.ndarray) -> str:
    """A cheap identity of a training set: shape, columns, types, target and sampled rows."""
    step = max(1, len(frame) // 1000)
    sample = frame.iloc[::step]
    rows = pd.util.hash_pandas_object(sample, index=False).to_numpy()
    return joblib.hash((frame.shape, list(map(str, frame.columns)), list(map(str, frame.dtypes)),
                        y, rows))


class AutoMetaEstimator(BaseEstimator):
    """Shared fit/predict machinery; see the public subclasses for the parameters."""

    _task: str = ""

    _parameter_constraints: dict = {
        "time_budget": [Interval(Real, 0, None, closed="neither")],
        "metric": [None, str, callable],
        "max_evals": [None, Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral],
        "dask_client": "no_validation",
        "include": [None, list, tuple],
        "exclude": [None, list, tuple],
        "resampling": [StrOptions({"auto", "holdout", "cv"}), Interval(Integral, 2, None,
                                                                       closed="left")],
        "per_trial_time_limit": [None, Interval(Real, 0, None, closed="neither")],
        "memory_limit": [None, Interval(Real, 0, None, closed="neither")],
        "ensemble_size": [Interval(Integral, 1, None, closed="left")],
        "ensemble_nbest": [Interval(Integral, 1, None, closed="left")],
        "extra_models": [None, list, tuple],
        "warm_start": ["boolean"],
        "meta_learning": [StrOptions({"auto", "greedy", "off"})],
        "n_initial_configs": [Interval(Integral, 0, None, closed="left")],
        "portfolio": [None, str, os.PathLike, Portfolio],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        time_budget: float = 60,
        metric=None,
        max_evals: int | None = None,
        n_jobs: int = 1,
        dask_client=None,
        include: list[str] | None = None,
        exclude: list[str] | None = None,
        resampling: str | int = "auto",
        per_trial_time_limit: float | None = None,
        memory_limit: float | None = None,
        ensemble_size: int = 50,
        ensemble_nbest: int = 50,
        extra_models=None,
        warm_start: bool = False,
        meta_learning: str = "auto",
        n_initial_configs: int = 16,
        portfolio=None,
        random_state=None,
        verbose: int = 0,
    ):
        self.time_budget = time_budget
        self.metric = metric
        self.max_evals = max_evals
        self.n_jobs = n_jobs
        self.dask_client = dask_client
        self.include = include
        self.exclude = exclude
        self.resampling = resampling
        self.per_trial_time_limit = per_trial_time_limit
        self.memory_limit = memory_limit
        self.ensemble_size = ensemble_size
        self.ensemble_nbest = ensemble_nbest
        self.extra_models = extra_models
        self.warm_start = warm_start
        self.meta_learning = meta_learning
        self.n_initial_configs = n_initial_configs
        self.portfolio = portfolio
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
        previous = self._previous_search(frame, target.y)
        seed = previous.seed if previous else self._seed()
        with borrowed_pool(self._n_workers(), self.dask_client) as pool, \
                fit_progress(self, start):
            pool.start()
            data = self._task_data(frame, target, seed)
            pool.set_data(data)
            state = self._search(data, pool, seed, start, previous)
            self.ensemble_ = self._final_ensemble(state, data, pool, seed, start)
        self._store_results(state, frame, target.y, seed)
        self.fit_time_ = time.monotonic() - start
        return self

    def _previous_search(self, frame: pd.DataFrame, y: np.ndarray) -> _Previous | None:
        """The search to continue when ``warm_start`` and this data was fitted before."""
        previous = getattr(self, "_previous", None)
        if not self.warm_start or previous is None:
            return None
        if previous.fingerprint != fingerprint(frame, y):
            raise ValueError(
                "warm_start=True continues the previous search, which was run on other data; "
                "fit the same X and y again, or set warm_start=False to start anew."
            )
        return previous

    def _final_ensemble(self, state, data: TaskData, pool, seed: int, start: float):
        """Ensemble selection and refit; after Ctrl-C, the best trial's models at once."""
        if state.interrupted:
            warnings.warn(f"fit interrupted after {len(state.trials)} trials; the model is "
                          "the best pipeline found so far (not refitted, no ensemble).",
                          UserWarning, stacklevel=3)
            return best_trial_ensemble(state, data)
        weights = select_weights(state, data, self.ensemble_size, self.ensemble_nbest)
        hard_end = start + 1.03 * self.time_budget - END_MARGIN
        return refit_members(weights, state, data, pool, seed, hard_end)

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
            specs=registry(self.extra_models or ()), budget=self.time_budget,
        )
        self.metric_ = data.metric
        return data

    def _search(self, data: TaskData, pool, seed: int, start: float,
                previous: _Previous | None):
        families = select_families(self._task, data.specs, self.include, self.exclude)
        space = build_space(self._task, families, seed=seed)
        warm = WarmStart(None) if previous else self._warm_start(data, families, seed)
        n_workers = pool.capacity
        settings = SearchSettings(
            seed=seed,
            deadline=start + self.time_budget,
            trial_time_limit=self._trial_time_limit(),
            memory_limit=int(self.memory_limit * MB) if self.memory_limit else None,
            max_evals=self.max_evals,
            warm_start=None if warm.done else warm,
            n_random_initial=0 if not warm.done else min(10, self.max_evals or 10),
            reserve=lambda trials: refit_reserve(trials, data, n_workers, self.time_budget),
        )
        state = run_search(space, pool, settings, state=previous and previous.state,
                           on_trial=self._report_trial)
        if not previous:
            self.initial_configs_ = [{"config": p.config, "reason": p.reason} for p in warm.picks]
        if not state.successes:
            raise RuntimeError(self._no_success_message(state))
        return state

    def _warm_start(self, data: TaskData, families, seed: int) -> WarmStart:
        """Meta-features of the task and the portfolio's warm start for it."""
        self.metafeatures_ = None
        if self.meta_learning == "auto":
            self.metafeatures_ = metafeatures.compute(data.X, data.y, self._task,
                                                      categorical=data.categorical, seed=seed)
        fit_rows = sum(len(train) for train, _ in data.splits)
        return warm_start(self._task, self.meta_learning, self.metafeatures_,
                          self.n_initial_configs, [f.name for f in families], self.portfolio,
                          (AFFORDABLE * self._trial_time_limit(), fit_rows, data.n_classes),
                          n_rows=len(data.y))

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

    def _store_results(self, state, frame: pd.DataFrame, y: np.ndarray, seed: int) -> None:
        self.trials_ = list(state.trials)
        self.interrupted_ = state.interrupted
        self._previous = _Previous(state, seed, fingerprint(frame, y))
        # the refitted members' weights: a member whose refit missed the deadline is out
        self.leaderboard_ = leaderboard_frame(state.trials, self.ensemble_.weights)
        best = min(state.successes, key=lambda t: t.loss)
        self.best_config_ = dict(best.config)
        self.best_score_ = -best.loss
        self.versions_ = library_versions()

    def _trial_time_limit(self) -> float:
        if self.per_trial_time_limit is not None:
            return float(self.per_trial_time_limit)
        return max(4.0, self.time_budget / 5)

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
        return self.ensemble_.predict(frame, n_threads=os.cpu_count() or 1)

    def leaderboard(self) -> pd.DataFrame:
        """Every trial, best first: rank, family, origin, score, times, status, weight, config.

        Returns
        -------
        DataFrame
            One row per trial.
        """
        check_is_fitted(self, "leaderboard_")
        return self.leaderboard_.copy()

    def to_sklearn(self):
        """The fitted ensemble as a plain scikit-learn estimator with the same predictions.

        Each member is exported as ``Pipeline([("types", SchemaTransformer), ("model",
        member)])``, so the result takes the same raw input (DataFrame or array) as this
        estimator and unpickles where scikit-learn, XGBoost, LightGBM and autometa's
        typing/encoding transformers are importable.

        Returns
        -------
        VotingClassifier or VotingRegressor
            Fitted; soft voting with the ensemble weights (``VotingClassifier``) for a
            classifier, weighted averaging (``VotingRegressor``) for a regressor.
        """
        check_is_fitted(self, "ensemble_")
        types = fitted_types(self.schema_, self.n_features_in_,
                             getattr(self, "feature_names_in_", None))
        return to_voting(self.ensemble_, types, getattr(self, "classes_", None))

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_previous", None)  # the live search (SMAC, fold models) stays in memory
        state["dask_client"] = None  # a connection does not pickle
        return state

    def __sklearn_clone__(self):
        """An unfitted copy with the same parameters; a ``dask_client`` is shared, not copied."""
        params = self.get_params(deep=False)
        client = params.pop("dask_client")
        return type(self)(**{k: clone(v, safe=False) for k, v in params.items()},
                          dask_client=client)

    def __setstate__(self, state):
        super().__setstate__(state)
        warn_if_changed(state.get("versions_"), type(self).__name__)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.sparse = True
        tags.non_deterministic = False
        return tags




class AutoMetaClassifier(ClassifierMixin, AutoMetaEstimator):
    __doc__ = ("AutoML classifier: searches model families and hyperparameters, then "
               "ensembles the best pipelines.\n" + PARAMS_DOC + ATTRS_DOC
               + "    classes_ : ndarray\n        Class labels.\n")
    _task = "classification"

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return self._raw_predict(X)

    def predict(self, X) -> np.ndarray:
        """Predicted class labels."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class AutoMetaRegressor(RegressorMixin, AutoMetaEstimator):
    __doc__ = ("AutoML regressor: searches model families and hyperparameters, then "
               "ensembles the best pipelines.\n" + PARAMS_DOC + ATTRS_DOC)
    _task = "regression"

    def predict(self, X) -> np.ndarray:
        """Predicted values."""
        return self._raw_predict(X)
