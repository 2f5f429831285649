"""The optimisation metric: a scikit-learn scorer applied to stored predictions.

Trials keep their validation predictions (class probabilities or values), so the
metric must score predictions, not estimators. :class:`Metric` wraps a scorer's
score function, sign and response method for exactly that.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import get_scorer, get_scorer_names

from autometa.task import CLASSIFICATION, REGRESSION

DEFAULT_METRICS = {
    "binary": "roc_auc",
    "multiclass": "neg_log_loss",
    REGRESSION: "neg_root_mean_squared_error",
}


@dataclass(frozen=True)
class Metric:
    """A scorer turned into a function of predictions.

    Attributes
    ----------
    name : str
        Scorer name (or the score function's name for custom scorers).
    score_func : callable
        ``score_func(y_true, y_pred, **kwargs)``.
    sign : int
        +1 if greater is better, -1 otherwise.
    response : str
        ``"proba"`` (probabilities), ``"label"`` (class labels) or ``"value"`` (regression).
    """

    name: str
    score_func: Any
    sign: int
    response: str
    kwargs: dict = field(default_factory=dict)

    @property
    def ranks_only(self) -> bool:
        """Whether the score sees only the order of the probabilities, not their level
        (ROC AUC, average precision)."""
        module = getattr(self.score_func, "__module__", "") or ""
        return self.response == "proba" and module.endswith("._ranking")

    def score(self, y_true: np.ndarray, pred: np.ndarray,
              sample_weight: np.ndarray | None = None) -> float:
        """Score predictions; greater is better (the scorer's convention).

        Parameters
        ----------
        y_true : ndarray of shape (n_samples,)
            Encoded labels or values.
        pred : ndarray
            Probabilities (one column per class, or of class 1), labels or values.
        sample_weight : ndarray of shape (n_samples,) or None
            Row weights, passed to the score function.
        """
        y_pred = self._prepare(pred)
        fast = self._fast(y_pred, sample_weight)
        if fast is not None:
            args = () if sample_weight is None else (np.asarray(sample_weight),)
            return float(fast(np.asarray(y_true), y_pred, *args))
        kwargs = dict(self.kwargs)
        if self.response == "proba" and pred.ndim == 2 and pred.shape[1] > 2:
            kwargs.setdefault("labels", np.arange(pred.shape[1]))
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        return self.sign * float(self.score_func(y_true, y_pred, **kwargs))

    def loss(self, y_true: np.ndarray, pred: np.ndarray,
             sample_weight: np.ndarray | None = None) -> float:
        """The quantity minimised by the search: minus the score (see :meth:`score`)."""
        value = -self.score(y_true, pred, sample_weight)
        return value if np.isfinite(value) else np.inf

    @property
    def takes_sample_weight(self) -> bool:
        """Whether the score function has a ``sample_weight`` parameter."""
        try:
            return "sample_weight" in inspect.signature(self.score_func).parameters
        except (TypeError, ValueError):
            return False

    def _fast(self, y_pred: np.ndarray, sample_weight):
        """The exact re-implementation for these predictions, if there is one."""
        if self.kwargs or (self.name == "roc_auc" and y_pred.ndim != 1):
            return None
        return (_FAST if sample_weight is None else _WEIGHTED_FAST).get(self.name)

    def _prepare(self, pred: np.ndarray) -> np.ndarray:
        if self.response == "value" or pred.ndim == 1:
            return pred
        if self.response == "label":
            return np.argmax(pred, axis=1)
        if pred.shape[1] == 2:
            return pred[:, 1]
        return pred


def _binary_auc(y: np.ndarray, score: np.ndarray) -> float:
    if score.ndim != 1:
        raise ValueError("fast AUC is for binary scores")
    positive = y == 1
    n_pos = int(positive.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return np.nan
    ranks = rankdata(score)
    return (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _neg_log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    eps = np.finfo(np.float64).eps
    if proba.ndim == 1:
        p = np.where(y == 1, proba, 1.0 - proba)
    else:
        p = proba[np.arange(len(y)), y] / proba.sum(axis=1)
    return -float(np.mean(-np.log(np.clip(p, eps, 1.0 - eps))))


def _neg_rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return -float(np.sqrt(np.mean((y - pred) ** 2)))


def _accuracy(y: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(y == labels))


# Exact re-implementations of common scorers (ensemble selection calls them thousands
# of times; scikit-learn's input validation would dominate). Values already carry the
# scorer's sign.
_FAST = {
    "roc_auc": _binary_auc,
    "neg_log_loss": _neg_log_loss,
    "neg_root_mean_squared_error": _neg_rmse,
    "accuracy": _accuracy,
}


def _weighted_binary_auc(y: np.ndarray, score: np.ndarray, w: np.ndarray) -> float:
    positive = y == 1
    w_pos, w_neg = np.where(positive, w, 0.0), np.where(positive, 0.0, w)
    total_pos, total_neg = w_pos.sum(), w_neg.sum()
    if total_pos == 0 or total_neg == 0:
        return np.nan
    values, group = np.unique(score, return_inverse=True)
    pos = np.bincount(group, weights=w_pos, minlength=len(values))
    neg = np.bincount(group, weights=w_neg, minlength=len(values))
    below = np.cumsum(neg) - neg  # negative weight scored strictly lower; ties count half
    return float(np.sum(pos * (below + 0.5 * neg)) / (total_pos * total_neg))


def _weighted_neg_log_loss(y: np.ndarray, proba: np.ndarray, w: np.ndarray) -> float:
    eps = np.finfo(np.float64).eps
    if proba.ndim == 1:
        p = np.where(y == 1, proba, 1.0 - proba)
    else:
        p = proba[np.arange(len(y)), y] / proba.sum(axis=1)
    return -float(np.average(-np.log(np.clip(p, eps, 1.0 - eps)), weights=w))


def _weighted_neg_rmse(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> float:
    return -float(np.sqrt(np.average((y - pred) ** 2, weights=w)))


def _weighted_accuracy(y: np.ndarray, labels: np.ndarray, w: np.ndarray) -> float:
    return float(np.average(y == labels, weights=w))


# The same with row weights (``score_func(y, pred, sample_weight=w)``).
_WEIGHTED_FAST = {
    "roc_auc": _weighted_binary_auc,
    "neg_log_loss": _weighted_neg_log_loss,
    "neg_root_mean_squared_error": _weighted_neg_rmse,
    "accuracy": _weighted_accuracy,
}


def resolve_metric(metric, task: str, n_classes: int | None = None) -> Metric:
    """Turn ``None``, a scorer name or a scorer object into a :class:`Metric`."""
    if metric is None:
        kind = REGRESSION if task == REGRESSION else (
            "binary" if n_classes == 2 else "multiclass"
        )
        metric = DEFAULT_METRICS[kind]
    if isinstance(metric, str):
        if metric not in get_scorer_names():
            raise ValueError(
                f"Unknown metric {metric!r}. Use a scikit-learn scorer name "
                "(see sklearn.metrics.get_scorer_names()) or a scorer from make_scorer."
            )
        name, scorer = metric, get_scorer(metric)
        _check_task(name, scorer, task)
    elif hasattr(scorer := metric, "_score_func"):
        name = getattr(metric._score_func, "__name__", "custom")
    else:
        raise TypeError(
            f"metric must be None, a scorer name or a make_scorer object, got {metric!r}."
        )
    return Metric(
        name=name,
        score_func=scorer._score_func,
        sign=scorer._sign,
        response=_response(scorer, task),
        kwargs=dict(scorer._kwargs),
    )


def _check_task(name: str, scorer, task: str) -> None:
    """A named scikit-learn scorer must be one for the task (a custom scorer is trusted)."""
    module = getattr(scorer._score_func, "__module__", "")
    if task == CLASSIFICATION and module.endswith("._regression"):
        raise ValueError(
            f"metric={name!r} is a regression metric, but y holds classes. Use a "
            "classification scorer such as 'roc_auc', 'neg_log_loss', 'accuracy' or "
            "'f1_macro', or pass a numeric y to AutoMetaRegressor."
        )
    if task == REGRESSION and module.endswith(("._classification", "._ranking")):
        raise ValueError(
            f"metric={name!r} is a classification metric, but this is a regression task. "
            "Use a regression scorer such as 'neg_root_mean_squared_error', "
            "'neg_mean_absolute_error' or 'r2'."
        )


def _response(scorer, task: str) -> str:
    if task == REGRESSION:
        return "value"
    methods = scorer._response_method
    methods = (methods,) if isinstance(methods, str) else tuple(methods)
    if "predict_proba" in methods or "decision_function" in methods:
        return "proba"
    return "label"
