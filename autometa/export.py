"""The fitted ensemble as plain scikit-learn: a soft ``VotingClassifier`` or a ``VotingRegressor``.

A classifier whose probabilities are temperature-scaled is wrapped in a fitted
:class:`TemperatureScaled`; a binary classifier with a tuned decision threshold, in a
fitted ``FixedThresholdClassifier`` (around the scaled one, so that it cuts the
probabilities ``predict_proba`` returns). A regressor's members are each wrapped in a
fitted :class:`Clipped`, to the training target's range, as the autometa estimator clips
them.

Each member becomes ``Pipeline([("types", SchemaTransformer), ("model", member)])`` so the
exported estimator takes the same raw input as the autometa estimator. Members were
trained on integer-encoded labels; the voting classifier's label encoder maps them back.
A member made of fold models (the fallback when no refit finished in time) becomes a
small equal-weight voting estimator of its folds. Refit members keep their encoders as
:mod:`autometa.serving` made them (lookup tables with the outputs of scikit-learn's).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, RegressorMixin, clone
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from autometa.calibration import apply_temperature
from autometa.data import SchemaTransformer, TabularSchema
from autometa.ensemble import Ensemble
from autometa.evaluation import FoldAverage
from autometa.task import CLASSIFICATION


def fitted_types(schema: TabularSchema, n_features_in: int,
                 feature_names_in: np.ndarray | None = None) -> SchemaTransformer:
    """A :class:`SchemaTransformer` in its fitted state, without refitting it."""
    types = SchemaTransformer(schema)
    types.schema_ = schema
    types.n_features_in_ = n_features_in
    if feature_names_in is not None:
        types.feature_names_in_ = feature_names_in
    return types


def to_voting(ensemble: Ensemble, types: SchemaTransformer,
              classes: np.ndarray | None = None) -> VotingClassifier | VotingRegressor:
    """The fitted voting estimator predicting as ``ensemble`` does on raw input.

    Parameters
    ----------
    ensemble : Ensemble
        The fitted members and their weights.
    types : SchemaTransformer
        A fitted transformer typing raw input as at fit time (see :func:`fitted_types`).
    classes : ndarray or None
        The original class labels (classification); members predict their indices.

    Returns
    -------
    VotingClassifier or VotingRegressor
        Fitted: soft voting over ``types`` + member pipelines with the ensemble weights.
    """
    names = [f"trial_{m.trial}" for m in ensemble.members]
    members = [
        Pipeline([("types", types), ("model", _plain(m.pipeline, ensemble, name))])
        for m, name in zip(ensemble.members, names, strict=True)
    ]
    weights = [float(m.weight) for m in ensemble.members]
    if ensemble.task == CLASSIFICATION:
        return voting_classifier(names, members, weights, np.asarray(classes))
    if ensemble.value_range is not None:
        members = [clipped(member, *ensemble.value_range) for member in members]
    return voting_regressor(names, members, weights)


def with_threshold(vote, threshold: float) -> FixedThresholdClassifier:
    """A fitted binary classifier ``vote`` that predicts ``classes_[1]`` when its
    probability is at least ``threshold``."""
    fixed = FixedThresholdClassifier(vote, threshold=float(threshold),
                                     response_method="predict_proba")
    fixed.estimator_ = vote
    return fixed


class _Wrapper(MetaEstimatorMixin, BaseEstimator):
    """An estimator around one fitted ``estimator_``, whose settings are kept as given."""

    def fit(self, X, y, **fit_params):
        """Fit a clone of ``estimator``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self
        """
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        return self

    @property
    def n_features_in_(self) -> int:
        """Number of features the wrapped estimator was fitted on."""
        return self.estimator_.n_features_in_


class TemperatureScaled(ClassifierMixin, _Wrapper):
    """A classifier whose probabilities are scaled by a temperature:
    ``softmax(log(p) / temperature)`` of the wrapped classifier's ``p``.

    Parameters
    ----------
    estimator : classifier
        Has ``predict_proba`` and ``classes_`` once fitted.
    temperature : float, default=1.0
        Above 1 softens the probabilities, below 1 sharpens them; the most probable
        class of every row is unchanged.

    Attributes
    ----------
    estimator_ : classifier
        The fitted wrapped classifier.
    classes_ : ndarray
        Its class labels.
    """

    def __init__(self, estimator=None, temperature: float = 1.0):
        self.estimator = estimator
        self.temperature = temperature

    def fit(self, X, y, **fit_params):
        """Fit a clone of ``estimator`` (see :meth:`_Wrapper.fit`); the temperature is
        kept as given."""
        super().fit(X, y, **fit_params)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        """The wrapped classifier's probabilities scaled by ``temperature``."""
        check_is_fitted(self, "estimator_")
        return apply_temperature(self.estimator_.predict_proba(X), float(self.temperature))

    def predict(self, X) -> np.ndarray:
        """The most probable class (as the wrapped classifier's: scaling keeps the order)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def with_temperature(vote, temperature: float) -> TemperatureScaled:
    """A fitted classifier ``vote`` whose probabilities are scaled by ``temperature``."""
    scaled = TemperatureScaled(vote, float(temperature))
    scaled.estimator_ = vote
    scaled.classes_ = vote.classes_
    return scaled


class Clipped(RegressorMixin, _Wrapper):
    """A regressor whose predictions are clipped to ``[low, high]``.

    Parameters
    ----------
    estimator : regressor
    low, high : float
        The smallest and largest value predicted (autometa: the training target's range,
        widened by a quarter of its span).

    Attributes
    ----------
    estimator_ : regressor
        The fitted wrapped regressor.
    """

    def __init__(self, estimator=None, low: float = -np.inf, high: float = np.inf):
        self.estimator = estimator
        self.low = low
        self.high = high

    def predict(self, X) -> np.ndarray:
        """The wrapped regressor's predictions, clipped to ``[low, high]``."""
        check_is_fitted(self, "estimator_")
        return np.clip(self.estimator_.predict(X), self.low, self.high)


def clipped(regressor, low: float, high: float) -> Clipped:
    """A fitted ``regressor`` whose predictions are clipped to ``[low, high]``."""
    wrapped = Clipped(regressor, float(low), float(high))
    wrapped.estimator_ = regressor
    return wrapped


def voting_classifier(names: Sequence[str], fitted: Sequence, weights: Sequence[float] | None,
                      classes: np.ndarray) -> VotingClassifier:
    """A soft ``VotingClassifier`` of estimators already fitted on ``0 .. len(classes)-1``."""
    vote = VotingClassifier(list(zip(names, fitted, strict=True)), voting="soft",
                            weights=None if weights is None else list(weights))
    _set_fitted(vote, names, fitted)
    vote.le_ = LabelEncoder()
    vote.le_.classes_ = classes
    vote.classes_ = classes
    return vote


def voting_regressor(names: Sequence[str], fitted: Sequence,
                     weights: Sequence[float] | None) -> VotingRegressor:
    """A ``VotingRegressor`` of already fitted regressors."""
    vote = VotingRegressor(list(zip(names, fitted, strict=True)),
                           weights=None if weights is None else list(weights))
    _set_fitted(vote, names, fitted)
    return vote


def _set_fitted(vote, names: Sequence[str], fitted: Sequence) -> None:
    vote.estimators_ = list(fitted)
    vote.named_estimators_ = Bunch(**dict(zip(names, fitted, strict=True)))


def _plain(model, ensemble: Ensemble, name: str):
    """``model`` as a scikit-learn estimator predicting over all classes."""
    if not isinstance(model, FoldAverage):
        return _all_classes(model, ensemble, name)
    folds = [_all_classes(p, ensemble, f"{name} fold {i}") for i, p in enumerate(model.pipelines)]
    fold_names = [f"fold_{i}" for i in range(len(folds))]
    if ensemble.task == CLASSIFICATION:
        return voting_classifier(fold_names, folds, None, np.arange(ensemble.n_classes))
    return voting_regressor(fold_names, folds, None)


def _all_classes(pipeline, ensemble: Ensemble, name: str):
    if ensemble.task != CLASSIFICATION:
        return pipeline
    present = getattr(pipeline, "autometa_classes_", None)
    if present is None or len(present) != ensemble.n_classes:
        n_seen = "an unknown number of" if present is None else len(present)
        raise ValueError(
            f"Ensemble member {name} was fitted on {n_seen} of the {ensemble.n_classes} "
            "classes, so its probabilities cannot be averaged with the others by a plain "
            "VotingClassifier. Refit with a larger time_budget so the members are refitted "
            "on all rows, or use the autometa estimator itself."
        )
    return pipeline
