"""The decision threshold of a binary classifier, tuned for a metric of its labels.

A metric of predicted labels (F1, balanced accuracy, MCC, precision, recall) depends on
where the positive-class probability is cut; with imbalanced classes the usual 0.5 is
often far from the best cut. :func:`tune_threshold` chooses the cut on the final
ensemble's blended validation predictions (:func:`blend`); a metric of probabilities
(ROC AUC, log loss) keeps 0.5. The best cut on few minority rows can be chance, so the
cut leaves 0.5 only when tuning pays off on held-out rows: tuned on one half of the
validation rows, it must beat 0.5 on the other half (both ways, :func:`threshold_gain`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from autometa.calibration import apply_temperature, stratified_halves
from autometa.ensemble import blend
from autometa.metrics import Metric
from autometa.weights import weights_of

DEFAULT_THRESHOLD = 0.5
MAX_CUTS = 256  # candidate thresholds at most: quantiles of the probabilities beyond
TIE_TOLERANCE = 1e-12  # scores this close count as equal
MIN_GAIN = 0.0  # a tuned cut must beat 0.5 by more than this on held-out rows
SMOOTH = 0  # neighbouring cuts averaged on either side when scoring a cut
NOISE = 1.0  # ... plus this many standard errors of that held-out gain
N_BOOTSTRAP = 100  # resamples of the held-out rows for that standard error


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
            formula = COUNT_FORMULAS.get(getattr(metric.score_func, "__name__", ""))
            scores = metric.sign * formula(*counts.T.astype(np.float64)) if formula and \
                set(metric.kwargs.items()) <= BINARY_DEFAULTS \
                else [counts_score(metric, c) for c in counts]
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


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, 0 where ``den`` is 0 (scikit-learn's ``zero_division`` default)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def _balanced_accuracy(tn, fp, fn, tp):
    recalls = np.stack([_nan_ratio(tp, tp + fn), _nan_ratio(tn, tn + fp)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class absent from the true labels
        return np.nanmean(recalls, axis=0)


def _nan_ratio(num, den):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _mcc(tn, fp, fn, tp):
    den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return _ratio(tp * tn - fp * fn, den)


BINARY_DEFAULTS = {("average", "binary"), ("pos_label", 1)}  # scorer arguments the formulas
# below assume
# the binary label metrics of scikit-learn as functions of the confusion counts, vectorised
# over thresholds (each equals the scikit-learn function on the counts; tested)
COUNT_FORMULAS = {
    "f1_score": lambda tn, fp, fn, tp: _ratio(2 * tp, 2 * tp + fp + fn),
    "precision_score": lambda tn, fp, fn, tp: _ratio(tp, tp + fp),
    "recall_score": lambda tn, fp, fn, tp: _ratio(tp, tp + fn),
    "accuracy_score": lambda tn, fp, fn, tp: _ratio(tp + tn, tn + fp + fn + tp),
    "jaccard_score": lambda tn, fp, fn, tp: _ratio(tp, tp + fp + fn),
    "balanced_accuracy_score": _balanced_accuracy,
    "matthews_corrcoef": _mcc,
}


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


def best_threshold(y_true: np.ndarray, positive: np.ndarray, metric: Metric,
                   smooth: int = 0, sample_weight: np.ndarray | None = None) -> float:
    """The threshold with the best score on these rows (see :func:`pick_threshold`).

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,)
        Encoded labels, 0 or 1.
    positive : ndarray of shape (n_samples,)
        Predicted probability of class 1.
    metric : Metric
        A metric of labels.
    smooth : int
        Each candidate is scored by the mean score of the ``smooth`` cuts on either side
        of it and itself (:func:`smoothed`); 0 scores each cut alone.
    sample_weight : ndarray of shape (n_samples,) or None
        Row weights: integer weights tune as the rows repeated that many times would.

    Returns
    -------
    float
        The best cut; 0.5 when it ties with the best.
    """
    positive = np.asarray(positive, dtype=np.float64)
    thresholds = candidate_thresholds(positive, sample_weight=sample_weight)
    scores = threshold_scores(np.asarray(y_true), positive, thresholds, metric, sample_weight)
    return pick_threshold(thresholds, smoothed(scores, smooth))


def smoothed(scores: np.ndarray, width: int) -> np.ndarray:
    """The moving mean of ``scores`` over ``width`` neighbours on either side (fewer at
    the ends); unchanged for ``width`` 0. Unscorable cuts (-inf) stay unscorable."""
    if width <= 0 or len(scores) < 2:
        return scores
    finite = np.isfinite(scores)
    values = np.where(finite, scores, 0.0)
    kernel = np.ones(2 * width + 1)
    sums = np.convolve(values, kernel, mode="same")
    counts = np.convolve(finite.astype(np.float64), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    return np.where(finite, means, -np.inf)


def threshold_gain(y_true: np.ndarray, positive: np.ndarray, metric: Metric, seed: int,
                   smooth: int = 0, n_bootstrap: int = N_BOOTSTRAP,
                   sample_weight: np.ndarray | None = None) -> tuple[float, float]:
    """How much a tuned cut beats 0.5 on rows it was not tuned on, and the noise of that.

    The cut is tuned (:func:`best_threshold`) on one half of the rows
    (:func:`autometa.calibration.stratified_halves`) and scored on the other against
    0.5, both ways; the two gains are averaged, weighted by the halves' sizes. Their
    standard error is the spread of the gain over bootstrap resamples of the held-out
    rows.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,)
        Encoded labels, 0 or 1.
    positive : ndarray of shape (n_samples,)
        Predicted probability of class 1.
    metric : Metric
        A metric of labels.
    seed : int
        Seed of the halves and of the bootstrap.
    smooth : int
        As in :func:`best_threshold`.
    n_bootstrap : int
        Resamples of each held-out half.
    sample_weight : ndarray of shape (n_samples,) or None
        Row weights (each half's share is its share of the weight).

    Returns
    -------
    gain : float
        The held-out score at the tuned cuts minus that at 0.5 (in the metric's units,
        greater is better); 0 when a half is empty.
    error : float
        Its standard error.
    """
    rng = np.random.default_rng(seed)
    w = np.ones(len(y_true)) if sample_weight is None else np.asarray(sample_weight, float)
    gain = variance = 0.0
    for fit_rows, test_rows in _both_ways(stratified_halves(y_true, seed)):
        if len(fit_rows) == 0 or len(test_rows) == 0:
            return 0.0, 0.0
        cut = best_threshold(y_true[fit_rows], positive[fit_rows], metric, smooth,
                             weights_of(sample_weight, fit_rows))
        share = w[test_rows].sum() / w.sum()
        gain += share * _gain_over_half(y_true[test_rows], positive[test_rows], cut, metric,
                                        weights_of(sample_weight, test_rows))
        resampled = [_gain_over_half(y_true[rows], positive[rows], cut, metric,
                                     weights_of(sample_weight, rows))
                     for rows in rng.choice(test_rows, (n_bootstrap, len(test_rows)))]
        variance += share**2 * float(np.var(resampled)) if n_bootstrap > 1 else 0.0
    return float(gain), float(np.sqrt(variance))


def _gain_over_half(y_true: np.ndarray, positive: np.ndarray, cut: float, metric: Metric,
                    sample_weight: np.ndarray | None = None) -> float:
    """The score at ``cut`` minus that at 0.5; 0 when neither can be scored."""
    tuned, half = threshold_scores(y_true, positive, np.array([cut, DEFAULT_THRESHOLD]), metric,
                                   sample_weight)
    diff = tuned - half
    return 0.0 if np.isnan(diff) else float(diff)


def _both_ways(halves: tuple[np.ndarray, np.ndarray]):
    a, b = halves
    return ((a, b), (b, a))


def tune_threshold(y_true: np.ndarray, positive: np.ndarray, metric: Metric, seed: int = 0,
                   min_gain: float | None = MIN_GAIN, noise: float = NOISE,
                   smooth: int = SMOOTH, sample_weight: np.ndarray | None = None) -> float:
    """The threshold on the positive-class probability that maximises ``metric``.

    The best cut on all rows (:func:`best_threshold`) is kept only when a cut tuned on
    half of the rows beats 0.5 on the other half by more than ``min_gain`` plus
    ``noise`` standard errors of that gain (:func:`threshold_gain`); otherwise 0.5.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,)
        Encoded labels, 0 or 1.
    positive : ndarray of shape (n_samples,)
        Predicted probability of class 1.
    metric : Metric
        A metric of labels (``metric.response == "label"``).
    seed : int
        Seed of the cross-validation's halves.
    min_gain : float or None
        The held-out gain over 0.5 the tuned cut needs (in the metric's units);
        ``None`` keeps the best cut without that check.
    noise : float
        Standard errors of the held-out gain added to ``min_gain``.
    smooth : int
        As in :func:`best_threshold`.
    sample_weight : ndarray of shape (n_samples,) or None
        Row weights: integer weights tune as the rows repeated that many times would
        (the held-out check aside, which splits rows, not repeats).

    Returns
    -------
    float
        Predict class 1 when its probability is at least this; 0.5 when no other cut
        scores better, or when tuning did not pay off on held-out rows.
    """
    y_true = np.asarray(y_true)
    positive = np.asarray(positive, dtype=np.float64)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    cut = best_threshold(y_true, positive, metric, smooth, sample_weight)
    if cut == DEFAULT_THRESHOLD or min_gain is None:
        return cut
    gain, error = threshold_gain(y_true, positive, metric, seed, smooth,
                                 n_bootstrap=N_BOOTSTRAP if noise > 0 else 0,
                                 sample_weight=sample_weight)
    return cut if gain > min_gain + noise * error else DEFAULT_THRESHOLD


def ensemble_threshold(weights: Mapping[int, float], predictions: Mapping[int, np.ndarray],
                       y_val: np.ndarray, metric: Metric, n_classes: int | None,
                       seed: int = 0, temperature: float | None = 1.0,
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
    seed : int
        The fit's seed (for the cross-validation's halves, see :func:`tune_threshold`).
    temperature : float or None
        The ensemble's temperature: the threshold is tuned on the probabilities
        ``predict`` cuts, the blend scaled by it
        (:func:`autometa.calibration.apply_temperature`).
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
    blended = apply_temperature(blend(weights, predictions), temperature or 1.0)
    return tune_threshold(y_val, blended[:, 1], metric, seed, sample_weight=sample_weight)
