"""The public estimators: AutoMetaClassifier and AutoMetaRegressor.

They hold the parameters, validate the input, and copy the result of
:func:`autometa.automl.run_automl` onto themselves; the fit itself happens there.
"""

from __future__ import annotations

import copy
import os
import time
import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from autometa import data as tabular
from autometa.automl import FitResult, run_automl
from autometa.calibration import apply_temperature
from autometa.callbacks import Callback
from autometa.continuation import Previous, fingerprint, search_settings, to_continue
from autometa.docs import (
    ATTRS_DOC,
    PARAMS_DOC,
    TARGET_TRANSFORM_DOC,
    TEMPERATURE_DOC,
    THRESHOLD_DOC,
)
from autometa.experience import ExperienceStore
from autometa.experience_use import FitExperience, open_experience, table_key
from autometa.export import fitted_types, to_voting, with_temperature, with_threshold
from autometa.final import GreedyEnsembler
from autometa.latency import DEFAULT_BATCH_SIZE, LatencyLimit
from autometa.plan import FitPlan
from autometa.pool import borrowed_pool
from autometa.portfolio import Portfolio
from autometa.progress import FitProgress
from autometa.surrogate import SURROGATES, resolve
from autometa.table import Table
from autometa.task import CLASSIFICATION, REGRESSION, TaskType
from autometa.threshold import DEFAULT_THRESHOLD
from autometa.versions import library_versions, warn_if_changed


class AutoMetaEstimator(BaseEstimator):
    """Shared fit/predict machinery; see the public subclasses for the parameters."""

    _task_type: TaskType

    _parameter_constraints: dict = {
        "time_budget": [Interval(Real, 0, None, closed="neither")],
        "metric": [None, str, callable],
        "max_evals": [None, Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral],
        "dask_client": "no_validation",
        "include": [None, list, tuple],
        "exclude": [None, list, tuple],
        "resampling": [StrOptions({"auto", "holdout", "cv", "repeated_cv"}),
                       Interval(Integral, 2, None, closed="left")],
        "per_trial_time_limit": [None, Interval(Real, 0, None, closed="neither")],
        "memory_limit": [None, Interval(Real, 0, None, closed="neither")],
        "ensemble_size": [Interval(Integral, 1, None, closed="left")],
        "ensemble_nbest": [Interval(Integral, 1, None, closed="left")],
        "infer_limit": [None, Interval(Real, 0, None, closed="neither")],
        "infer_limit_batch_size": [None, Interval(Integral, 1, None, closed="left")],
        "extra_models": [None, list, tuple],
        "warm_start": ["boolean"],
        "meta_learning": [StrOptions({"auto", "greedy", "off"})],
        "n_initial_configs": [Interval(Integral, 0, None, closed="left")],
        "n_learned_configs": [Interval(Integral, 0, None, closed="left")],
        "surrogate": [StrOptions(set(SURROGATES))],
        "portfolio": [None, str, os.PathLike, Portfolio],
        "callbacks": [None, list, tuple],
        "experience": [None, Options(bool, {False}), str, os.PathLike, ExperienceStore],
        "experience_tag": [None, str],
        "fidelity": [StrOptions({"auto", "full", "successive_halving", "hyperband"})],
        "proxy_subsets": [StrOptions({"boundary", "random"})],
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
        infer_limit: float | None = None,
        infer_limit_batch_size: int | None = None,
        extra_models=None,
        warm_start: bool = False,
        meta_learning: str = "auto",
        n_initial_configs: int = 16,
        n_learned_configs: int = 0,
        surrogate: str = "auto",
        portfolio=None,
        callbacks: list[Callback] | None = None,
        experience=None,
        experience_tag: str | None = None,
        fidelity: str = "auto",
        proxy_subsets: str = "random",
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
        self.infer_limit = infer_limit
        self.infer_limit_batch_size = infer_limit_batch_size
        self.extra_models = extra_models
        self.warm_start = warm_start
        self.meta_learning = meta_learning
        self.n_initial_configs = n_initial_configs
        self.n_learned_configs = n_learned_configs
        self.surrogate = surrogate
        self.portfolio = portfolio
        self.callbacks = callbacks
        self.experience = experience
        self.experience_tag = experience_tag
        self.fidelity = fidelity
        self.proxy_subsets = proxy_subsets
        self.random_state = random_state
        self.verbose = verbose

    # -- fit --------------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Search pipelines for ``time_budget`` seconds and keep the best ensemble.

        Nothing of the estimator changes unless the fit succeeds.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric, categorical, string, boolean and datetime columns; missing values allowed.
        y : array-like of shape (n_samples,)
            Target values (labels for classification, numbers for regression).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Non-negative row weights. Every trial's model is trained with the weights of
            its training rows, the validation losses, ensemble selection and the decision
            threshold are weighted, and the final pipelines are refit with them (the
            resampling splits are not weighted). Only relative weights matter (they are
            scaled to a mean of 1 over the rows of positive weight; weights all equal are
            the same as none); rows of weight 0 are left out of training. Model families
            whose estimator cannot take ``sample_weight`` (``knn``) are left out of the
            search; ``include`` naming only such families is an error, as is a metric
            whose score function takes no ``sample_weight``.

        Returns
        -------
        self : estimator
            The fitted estimator.
        """
        start = time.monotonic()
        self._validate_params()
        frame = tabular.as_frame(X)
        shape = self._input_shape(X)
        table = Table.from_frame(frame, y, self._task_type, type(self).__name__, sample_weight)
        key = fingerprint(frame, table.y, table.sample_weight)
        previous = self._previous_fit(key)
        seed = previous.seed if previous else self._seed()
        link = self._experience(frame, table, key, previous is not None)
        callbacks = self._callbacks() + ([link.recorder()] if link else [])
        with borrowed_pool(self._n_workers(), self.dask_client) as executor:
            executor.start()
            plan = replace(self._plan(table, seed, start, executor.capacity),
                           experience=link)
            ensembler = GreedyEnsembler(self.ensemble_size, self.ensemble_nbest, plan.latency)
            result = run_automl(table, plan, executor=executor, callbacks=callbacks,
                                ensembler=ensembler, previous=previous)
        self._set_fitted(table, shape, result, key, link)
        return self

    def _experience(self, frame: pd.DataFrame, table: Table, key: str,
                    continued: bool) -> FitExperience | None:
        """The fit's link to its experience store (``None`` without one); a continued
        fit replaces the record of the fit it continues."""
        uid = self._previous.experience_uid if continued else None
        return open_experience(self.experience, self.experience_tag, key,
                               table_key(frame, self._task_type, table.classes), uid)

    def _input_shape(self, X) -> dict:
        """``n_features_in_`` (and ``feature_names_in_``) of ``X``, not yet set on self."""
        probe = object.__new__(type(self))  # the parameters, without the fitted state
        probe.__dict__.update(self.get_params(deep=False))
        validate_data(probe, X, reset=True, skip_check_array=True)
        return {name: getattr(probe, name) for name in ("n_features_in_", "feature_names_in_")
                if hasattr(probe, name)}

    def _previous_fit(self, key: str) -> FitResult | None:
        """The fit to continue when ``warm_start`` (see :func:`autometa.continuation.
        to_continue`)."""
        previous = getattr(self, "_previous", None) if self.warm_start else None
        return to_continue(previous, key, self._search_settings())

    def _search_settings(self) -> dict:
        """The parameters that shape the search space and its losses (a continued search
        must keep them)."""
        return search_settings(self, ("metric", "resampling", "include", "exclude",
                                      "extra_models", "fidelity", "proxy_subsets",
                                      *self._task_settings()))

    def _plan(self, table: Table, seed: int, start: float, n_workers: int) -> FitPlan:
        return FitPlan.create(
            self.time_budget, len(table.y), n_classes=table.n_classes, seed=seed, start=start,
            n_workers=n_workers,
            per_trial_time_limit=self.per_trial_time_limit, memory_limit=self.memory_limit,
            resampling=self.resampling, max_evals=self.max_evals, metric=self.metric,
            include=None if self.include is None else tuple(self.include),
            exclude=None if self.exclude is None else tuple(self.exclude),
            extra_models=tuple(self.extra_models or ()), meta_learning=self.meta_learning,
            n_initial_configs=self.n_initial_configs, portfolio=self.portfolio,
            n_learned_configs=self.n_learned_configs,
            surrogate=resolve(self.surrogate, self.meta_learning),
            fidelity=self.fidelity, proxy_subsets=self.proxy_subsets,
            latency=LatencyLimit(self.infer_limit,
                                 self.infer_limit_batch_size or DEFAULT_BATCH_SIZE),
            **self._task_settings(),
        )

    def _task_settings(self) -> dict:
        """Plan settings only one kind of task has."""
        return {}

    def _callbacks(self) -> list[Callback]:
        shown = [FitProgress(self.time_budget, int(self.verbose))] if self.verbose else []
        return shown + list(self.callbacks or ())

    def _set_fitted(self, table: Table, shape: dict, result: FitResult, key: str,
                    link: FitExperience | None = None) -> None:
        """Every fitted attribute, from the fit's result."""
        if result.interrupted:
            warnings.warn(f"fit interrupted after {len(result.trials)} trials; the model is "
                          "the best pipeline found so far (not refitted, no ensemble).",
                          UserWarning, stacklevel=3)
        for name in ("feature_names_in_", "threshold_", "temperature_"):
            self.__dict__.pop(name, None)
        self.__dict__.update(shape)
        self.schema_ = table.schema
        if table.classes is not None:
            self.classes_ = table.classes
            self.threshold_ = result.threshold
            self.temperature_ = result.temperature
        self.metric_ = result.metric
        self.ensemble_ = result.ensemble
        self.trials_ = result.trials
        self.leaderboard_ = result.leaderboard()
        self.best_config_ = dict(result.best.config)
        self.best_score_ = -result.best.loss
        self.metafeatures_ = result.metafeatures
        self.initial_configs_ = result.initial_configs
        self.surrogate_weights_ = result.surrogate_weights
        self.interrupted_ = result.interrupted
        self.fit_time_ = result.fit_time
        self.predict_latency_ = result.predict_latency
        self.versions_ = library_versions()
        self._previous = Previous(replace(result, data=None), key, link and link.uid,
                                   self._search_settings())

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
        return self.ensemble_.predict(frame, n_threads=self._n_workers())

    def leaderboard(self) -> pd.DataFrame:
        """Every trial, best first: rank, family, origin, score, times, status, weight, config.

        Returns
        -------
        DataFrame
            One row per trial.
        """
        check_is_fitted(self, "leaderboard_")
        return self.leaderboard_.copy()

    def feature_importance(self, X, y, n_repeats: int = 5, random_state=None) -> pd.DataFrame:
        """Permutation importance of each feature for the whole ensemble, scored by ``metric_``.

        Each column of ``X`` is shuffled ``n_repeats`` times; its importance is how much
        the metric drops (greater means more important; near zero or negative means the
        ensemble does not rely on it). Score on held-out rows to see what generalises.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with the columns of the fit.
        y : array-like of shape (n_samples,)
            Their targets (the original labels for a classifier).
        n_repeats : int, default=5
            Shuffles per feature.
        random_state : int, RandomState or None
            Seed of the shuffles.

        Returns
        -------
        DataFrame
            ``feature`` (named as in ``feature_names_in_``, or ``x0, x1, ...``),
            ``importance_mean``, ``importance_std`` and ``importances`` (the drop in each
            repeat), most important first.
        """
        from autometa.importance import permutation_frame

        return permutation_frame(self, X, y, n_repeats=n_repeats, random_state=random_state)

    def to_sklearn(self):
        """The fitted ensemble as a plain scikit-learn estimator with the same predictions.

        Each member is exported as ``Pipeline([("types", SchemaTransformer), ("model",
        member)])``, so the result takes the same raw input (DataFrame or array) as this
        estimator and unpickles where scikit-learn, XGBoost, LightGBM and autometa's
        typing/encoding transformers are importable.

        Returns
        -------
        VotingClassifier, TemperatureScaled, FixedThresholdClassifier or VotingRegressor
            Fitted; soft voting with the ensemble weights (``VotingClassifier``) for a
            classifier, wrapped in an ``autometa.export.TemperatureScaled`` when
            ``temperature_`` is not 1, then in a ``FixedThresholdClassifier`` when
            ``threshold_`` is not 0.5; weighted averaging (``VotingRegressor``) for a
            regressor.
        """
        check_is_fitted(self, "ensemble_")
        types = fitted_types(self.schema_, self.n_features_in_,
                             getattr(self, "feature_names_in_", None))
        model = to_voting(self.ensemble_, types, getattr(self, "classes_", None))
        temperature = getattr(self, "temperature_", None)
        if temperature not in (None, 1.0):
            model = with_temperature(model, temperature)
        threshold = getattr(self, "threshold_", None)
        return model if threshold in (None, DEFAULT_THRESHOLD) else with_threshold(model,
                                                                                  threshold)

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: the object's own __dict__ otherwise
        state.pop("_previous", None)  # the live search (SMAC, fold models) stays in memory
        state["dask_client"] = None  # a connection does not pickle
        return state

    def __sklearn_clone__(self):
        """An unfitted copy with the same parameters and metadata requests; a ``dask_client`` is
        shared, not copied."""
        params = self.get_params(deep=False)
        client = params.pop("dask_client")
        twin = type(self)(**{k: clone(v, safe=False) for k, v in params.items()},
                          dask_client=client)
        if hasattr(self, "_metadata_request"):  # set_fit_request(...), as clone() keeps it
            twin._metadata_request = copy.deepcopy(self._metadata_request)
        return twin

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
               + "    classes_ : ndarray\n        Class labels.\n" + THRESHOLD_DOC
               + TEMPERATURE_DOC)
    _task_type = CLASSIFICATION

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``: the ensemble's,
        scaled by ``temperature_``."""
        return apply_temperature(self._raw_predict(X), getattr(self, "temperature_", None)
                                 or 1.0)

    def predict(self, X) -> np.ndarray:
        """Predicted class labels: for a binary task, ``classes_[1]`` when its probability
        is at least ``threshold_``; else the most probable class."""
        proba = self.predict_proba(X)
        threshold = getattr(self, "threshold_", None)
        if threshold is None or threshold == DEFAULT_THRESHOLD:
            return self.classes_[np.argmax(proba, axis=1)]
        return self.classes_[(proba[:, 1] >= threshold).astype(np.int64)]


class AutoMetaRegressor(RegressorMixin, AutoMetaEstimator):
    __doc__ = ("AutoML regressor: searches model families and hyperparameters, then "
               "ensembles the best pipelines.\n" + PARAMS_DOC + TARGET_TRANSFORM_DOC
               + ATTRS_DOC)
    _task_type = REGRESSION

    _parameter_constraints: dict = {
        **AutoMetaEstimator._parameter_constraints,
        "target_transform": [StrOptions({"auto", "none"})],
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
        infer_limit: float | None = None,
        infer_limit_batch_size: int | None = None,
        extra_models=None,
        warm_start: bool = False,
        meta_learning: str = "auto",
        n_initial_configs: int = 16,
        n_learned_configs: int = 0,
        surrogate: str = "auto",
        portfolio=None,
        callbacks: list[Callback] | None = None,
        experience=None,
        experience_tag: str | None = None,
        fidelity: str = "auto",
        proxy_subsets: str = "random",
        random_state=None,
        verbose: int = 0,
        target_transform: str = "none",
    ):
        super().__init__(
            time_budget=time_budget, metric=metric, max_evals=max_evals, n_jobs=n_jobs,
            dask_client=dask_client, include=include, exclude=exclude, resampling=resampling,
            per_trial_time_limit=per_trial_time_limit, memory_limit=memory_limit,
            ensemble_size=ensemble_size, ensemble_nbest=ensemble_nbest,
            infer_limit=infer_limit, infer_limit_batch_size=infer_limit_batch_size,
            extra_models=extra_models, warm_start=warm_start, meta_learning=meta_learning,
            n_initial_configs=n_initial_configs, n_learned_configs=n_learned_configs,
            surrogate=surrogate, portfolio=portfolio,
            callbacks=callbacks, experience=experience, experience_tag=experience_tag,
            fidelity=fidelity, proxy_subsets=proxy_subsets, random_state=random_state,
            verbose=verbose,
        )
        self.target_transform = target_transform

    def _task_settings(self) -> dict:
        return {"target_transform": self.target_transform}

    def predict(self, X) -> np.ndarray:
        """Predicted values."""
        return self._raw_predict(X)
