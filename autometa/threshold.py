"""The decision threshold of a binary classifier, tuned for a metric of its labels.

A metric of predicted labels (F1, balanced accuracy, MCC, precision, recall) depends on
where the positive-class probability is cut; with imbalanced classes the usual 0.5 is
often far from the best cut. :func:`tune_threshold` chooses the cut on the final
ensemble's blended validation predictions (:func:`blend`); a metric of probabilities
(ROC AUC, log loss) keeps 0.5.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from autometa.metrics import Metric

DEFAULT_THRESHOLD = 0.5
MAX_CUTS = 256  # candidate thresholds at most: quantiles of the probabilities beyond
TIE_TOLERANCE = 1e-12  # scores this close count as equal


def depends_on_threshold(metric: Metric, n_classes: int | None) -> bool:
    """Whether ``metric`` scores labels cut from a binary task's probabilities.

    Parameters
    ----------
    metric : Metric
        The fit's metric.
    n_classes : int or None
        Number of classes (``None`` for regression).

    Returns
    -------
    bool
        True for a binary task scored on labels (``metric.response == "label"``).
    """
    return n_classes == 2 and metric.response == "label"


def blend(weights: Mapping[int, float], predictions: Mapping[int, np.ndarray]) -> np.ndarray:
    """The weighted average of the trials' stored validation predictions.

    Parameters
    ----------
    weights : mapping of trial id to float
        Ensemble weights (any positive scale).
    predictions : mapping of trial id to ndarray
        Each trial's validation predictions, all of one shape.

    Returns
    -------
    ndarray
        The blended predictions.
    """
    total = sum(weights.values())
    return sum(w * np.asarray(predictions[i], dtype=np.float64)
               for i, w in weights.items()) / total


def candidate_thresholds(positive: np.ndarray, max_cuts: int = MAX_CUTS,
                         sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Sorted thresholds giving every distinct labelling (at most ``max_cuts``), and 0.5.

    The midpoints between consecutive distinct probabilities; with more than
    ``max_cuts`` of them, midpoints between quantiles of the probabilities instead.
    With ``sample_weight``, rows of weight 0 are left out and the quantiles are those of
    the rows repeated by their weights (see :func:`weighted_quantiles`).
    """
    if sample_weight is not None:
        positive, sample_weight = positive[sample_weight > 0], sample_weight[sample_weight > 0]
    values = np.unique(positive)
    if len(values) > max_cuts + 1:
        levels = np.linspace(0.0, 1.0, max_cuts + 1)
        values = np.unique(np.quantile(positive, levels) if sample_weight is None
                           else weighted_quantiles(positive, sample_weight, levels))
    cuts = (values[:-1] + values[1:]) / 2
    return np.union1d(cuts, [DEFAULT_THRESHOLD])


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, levels: np.ndarray
                       ) -> np.ndarray:
    """Quantiles (linear interpolation) of ``values`` each repeated ``weights`` times.

    For integer weights they are ``np.quantile`` of the repeated values; other weights
    stretch the sorted values over their cumulative weight the same way.
    """
    order = np.argsort(values, kind="stable")
    sorted_values, ends = values[order], np.cumsum(weights[order])
    position = np.maximum(ends[-1] - 1.0, 0.0) * levels
    low = np.floor(position)

    def at(k):
        index = np.searchsorted(ends, k, side="right")
        return sorted_values[np.minimum(index, len(sorted_values) - 1)]

    return at(low) + (position - low) * (at(low + 1) - at(low))


def threshold_scores(y_true: np.ndarray, positive: np.ndarray, thresholds: np.ndarray,
                     metric: Metric, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """The metric (greater is better) of the labels ``positive >= t`` for each threshold.

    A scikit-learn metric taking ``sample_weight`` is a function of the confusion matrix,
    so it scores each threshold's four counts (as weights of the four label pairs; with
    ``sample_weight``, the rows' summed weights) rather than every row; other metrics
    score the labels of every row.
    """
    with warnings.catch_warnings():  # e.g. precision with no predicted positive
        warnings.simplefilter("ignore")
        if scores_counts(metric):
            counts = confusion_counts(y_true, positive, thresholds, sample_weight)
            scores = [counts_score(metric, c) for c in counts]
        else:
            scores = [metric.score(y_true, (positive >= t).astype(np.int64), sample_weight)
                      for t in thresholds]
    return np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)


def scores_counts(metric: Metric) -> bool:
    """Whether ``metric`` is a scikit-learn metric of labels that takes ``sample_weight``."""
    func = metric.score_func
    module = getattr(func, "__module__", "") or ""
    return module.startswith("sklearn.metrics") and metric.takes_sample_weight and \
        "sample_weight" not in metric.kwargs


def confusion_counts(y_true: np.ndarray, positive: np.ndarray, thresholds: np.ndarray,
                     sample_weight: np.ndarray | None = None) -> np.ndarray:
    """``(tn, fp, fn, tp)`` of the labels ``positive >= t``, one row per threshold; with
    ``sample_weight``, the summed weights of those rows."""
    if sample_weight is None:
        pos = np.sort(positive[y_true == 1])
        neg = np.sort(positive[y_true != 1])
        tp = len(pos) - np.searchsorted(pos, thresholds, side="left")
        fp = len(neg) - np.searchsorted(neg, thresholds, side="left")
        return np.column_stack([len(neg) - fp, fp, len(pos) - tp, tp])
    is_pos = y_true == 1
    tp, total_pos = _weight_at_or_above(positive[is_pos], sample_weight[is_pos], thresholds)
    fp, total_neg = _weight_at_or_above(positive[~is_pos], sample_weight[~is_pos], thresholds)
    return np.column_stack([total_neg - fp, fp, total_pos - tp, tp])


def _weight_at_or_above(scores: np.ndarray, weights: np.ndarray, thresholds: np.ndarray
                        ) -> tuple[np.ndarray, float]:
    """Summed weight of the rows scoring at least each threshold, and the total weight."""
    order = np.argsort(scores, kind="stable")
    below = np.concatenate([[0.0], np.cumsum(weights[order])])
    index = np.searchsorted(scores[order], thresholds, side="left")
    return below[-1] - below[index], below[-1]


_PAIRS = (np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))  # (true, predicted) of the counts


def counts_score(metric: Metric, counts: np.ndarray) -> float:
    """The metric of the rows a confusion matrix ``(tn, fp, fn, tp)`` stands for."""
    present = counts > 0  # the label pairs that occur, as in the rows themselves
    y_true, y_pred = _PAIRS[0][present], _PAIRS[1][present]
    return metric.sign * float(metric.score_func(y_true, y_pred, sample_weight=counts[present],
                                                 **metric.kwargs))


def pick_threshold(thresholds: np.ndarray, scores: np.ndarray) -> float:
    """The threshold of the best score, robust to ties.

    Among equally good thresholds, the best ones form runs of neighbours (plateaus);
    the run nearest 0.5 wins, and within it 0.5 when the run spans it, else the
    run's midpoint, so that the cut is not pinned to one validation probability.
    """
    best = scores.max()
    if not np.isfinite(best):
        return DEFAULT_THRESHOLD
    good = np.flatnonzero(scores >= best - TIE_TOLERANCE)
    runs = np.split(good, np.flatnonzero(np.diff(good) > 1) + 1)
    spans = [(thresholds[r[0]], thresholds[r[-1]]) for r in runs]
    low, high = min(spans, key=lambda s: max(s[0] - DEFAULT_THRESHOLD,
                                             DEFAULT_THRESHOLD - s[1], 0.0))
    if low <= DEFAULT_THRESHOLD <= high:
        return DEFAULT_THRESHOLD
    return float((low + high) / 2)


def tune_threshold(y_true: np.ndarray, positive: np.ndarray, metric: Metric,
                   sample_weight: np.ndarray | None = None) -> float:
    """The threshold on the positive-class probability that maximises ``metric``.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,)
        Encoded labels, 0 or 1.
    positive : ndarray of shape (n_samples,)
        Predicted probability of class 1.
    metric : Metric
        A metric of labels (``metric.response == "label"``).
    sample_weight : ndarray of shape (n_samples,) or None
        Row weights: integer weights tune as the rows repeated that many times would.

    Returns
    -------
    float
        Predict class 1 when its probability is at least this; 0.5 when no other cut
        scores better.
    """
    positive = np.asarray(positive, dtype=np.float64)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    thresholds = candidate_thresholds(positive, sample_weight=sample_weight)
    return pick_threshold(thresholds, threshold_scores(np.asarray(y_true), positive,
                                                       thresholds, metric, sample_weight))


def ensemble_threshold(weights: Mapping[int, float], predictions: Mapping[int, np.ndarray],
                       y_val: np.ndarray, metric: Metric, n_classes: int | None,
                       sample_weight: np.ndarray | None = None) -> float | None:
    """The decision threshold of an ensemble, from its members' validation predictions.

    Parameters
    ----------
    weights : mapping of trial id to float
        The final ensemble's weights.
    predictions : mapping of trial id to ndarray
        The trials' validation predictions (``SearchState.predictions``).
    y_val : ndarray
        The encoded labels of the validation rows, in prediction order.
    metric : Metric
        The fit's metric.
    n_classes : int or None
        Number of classes (``None`` for regression).
    sample_weight : ndarray or None
        Weights of the validation rows.

    Returns
    -------
    float or None
        ``None`` unless the task is binary; 0.5 unless the metric scores labels
        (see :func:`depends_on_threshold`); else the tuned threshold.
    """
    if n_classes != 2:
        return None
    if not depends_on_threshold(metric, n_classes):
        return DEFAULT_THRESHOLD
    blended = blend(weights, predictions)
    positive = blended[:, 1] if blended.ndim == 2 else blended
    return tune_threshold(y_val, positive, metric, sample_weight)
