"""Permutation feature importance of a fitted estimator, scored with the fit's metric.

The estimator predicts the original labels (and probabilities in the order of its
``classes_``) while a :class:`~autometa.metrics.Metric` scores encoded labels
``0 .. C-1``: :func:`metric_scorer` encodes the predicted labels, and the true labels are
encoded once by :func:`encode_labels`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.inspection import permutation_importance
from sklearn.utils.validation import check_is_fitted

from autometa import data as tabular
from autometa.io import listed
from autometa.metrics import Metric
from autometa.task import REGRESSION

COLUMNS = ["feature", "importance_mean", "importance_std", "importances"]


def encode_labels(labels, classes: np.ndarray, what: str = "y") -> np.ndarray:
    """The positions of ``labels`` in ``classes`` (the encoding the metric scores).

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Original class labels.
    classes : ndarray
        The estimator's ``classes_``.
    what : str
        What the labels are, for the error message.

    Returns
    -------
    ndarray of int64
        ``0 .. len(classes) - 1``.

    Raises
    ------
    ValueError
        When a label is missing or is no class the model was fitted on.
    """
    values = np.asarray(labels).ravel()
    codes = pd.Index(classes).get_indexer(values)
    unknown = values[codes < 0]
    if len(unknown):
        raise ValueError(
            f"{what} holds {len(unknown)} value(s) that are not classes the model was fitted "
            f"on ({listed(sorted({repr(v) for v in unknown}), 5)}); the classes are "
            f"{listed(list(classes))}."
        )
    return codes.astype(np.int64)


def metric_scorer(metric: Metric, classes: np.ndarray | None) -> Callable[..., float]:
    """A scorer ``score(estimator, X, y_encoded)`` applying ``metric`` to the estimator's
    predictions (greater is better).

    Parameters
    ----------
    metric : Metric
        The fit's metric (``metric_``).
    classes : ndarray or None
        The estimator's ``classes_`` (``None`` for regression).

    Returns
    -------
    callable
        For classification, ``y_encoded`` holds positions in ``classes`` (see
        :func:`encode_labels`); a metric of labels scores ``estimator.predict`` (so a
        tuned decision threshold counts), other metrics ``estimator.predict_proba``.
    """

    def score(estimator, X, y) -> float:
        if classes is None:
            return metric.score(y, np.asarray(estimator.predict(X), dtype=np.float64))
        if metric.response == "label":
            return metric.score(y, encode_labels(estimator.predict(X), classes, "predict"))
        return metric.score(y, np.asarray(estimator.predict_proba(X), dtype=np.float64))

    return score


def feature_names(estimator) -> list[str]:
    """The names of the features as the user gave them, or ``x0 ..`` for an array."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return [f"x{i}" for i in range(estimator.n_features_in_)]
    return [str(n) for n in names]


def permutable(X):
    """``X`` as ``permutation_importance`` can shuffle it: a DataFrame or a dense array."""
    if isinstance(X, pd.DataFrame):
        return X
    if sp.issparse(X):
        return tabular.as_frame(X).to_numpy()
    return np.asarray(X, dtype=object) if isinstance(X, (list, tuple)) else np.asarray(X)


def target_for(estimator, y, n_rows: int) -> np.ndarray:
    """``y`` as the metric scores it: encoded labels, or floats for regression."""
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        return tabular.check_target(y, n_rows, REGRESSION, type(estimator).__name__).y
    values = np.asarray(y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values.ravel()
    if values.shape != (n_rows,):
        raise ValueError(f"y must hold one label per row of X ({n_rows} rows); got shape "
                         f"{values.shape}.")
    return encode_labels(values, classes)


def permutation_frame(estimator, X, y, *, n_repeats: int = 5, random_state=None
                      ) -> pd.DataFrame:
    """Permutation importance of every feature for a fitted autometa estimator.

    Parameters
    ----------
    estimator : AutoMetaClassifier or AutoMetaRegressor
        Fitted; its ``metric_`` scores the predictions.
    X : array-like or DataFrame of shape (n_samples, n_features)
        Rows to score on, with the columns of the fit.
    y : array-like of shape (n_samples,)
        Their targets (original labels for classification).
    n_repeats : int, default=5
        Shuffles per feature.
    random_state : int, RandomState or None
        Seed of the shuffles.

    Returns
    -------
    DataFrame
        ``feature``, ``importance_mean`` and ``importance_std`` (the drop in the metric
        when the feature is shuffled; greater means more important) and ``importances``
        (a tuple of the drop in each repeat), most important first.
    """
    check_is_fitted(estimator, "ensemble_")
    X = permutable(X)
    y = target_for(estimator, y, X.shape[0])
    scorer = metric_scorer(estimator.metric_, getattr(estimator, "classes_", None))
    result = permutation_importance(estimator, X, y, scoring=scorer, n_repeats=n_repeats,
                                    random_state=random_state)
    frame = pd.DataFrame({
        "feature": feature_names(estimator),
        "importance_mean": result.importances_mean,
        "importance_std": result.importances_std,
        "importances": [tuple(float(v) for v in row) for row in result.importances],
    }, columns=COLUMNS)
    return frame.sort_values("importance_mean", ascending=False, kind="stable"
                             ).reset_index(drop=True)
