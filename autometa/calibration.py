"""Temperature scaling of a classifier's probabilities, fitted on validation predictions.

A metric that scores the level of the probabilities (log loss, Brier score) rewards
calibrated ones. The final ensemble is chosen for that metric, but a blend can still be
systematically over- or under-confident. Temperature scaling,
``p_T = softmax(log(p) / T)``, fixes that with one number: ``T > 1`` softens the
probabilities, ``T < 1`` sharpens them, ``T = 1`` leaves them as they are; the order of
the classes in every row is kept.

:func:`tune_temperature` fits ``T`` on the ensemble's blended validation predictions, but
keeps ``T = 1`` unless a cross-validation on those rows (fit on one half, score on the
other, both ways) shows a gain of more than ``MIN_GAIN`` of the loss and of more than
``NOISE`` standard errors of that gain: a one-parameter fit
always lowers the loss of the rows it was fitted on, and the validation rows are also
those the ensemble was chosen on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy.optimize import minimize_scalar

from autometa.ensemble import blend
from autometa.metrics import Metric
from autometa.weights import weights_of

CLIP = 1e-12  # probabilities are clipped to [CLIP, 1] before their logarithm
T_BOUNDS = (0.05, 20.0)  # the temperatures searched
# A temperature is kept only when it lowers the cross-validated loss by more than this
# share. On calibrated probabilities the halves' chance gains are of the order of
# 1 / n_rows in log-loss units: simulated (3 classes, 40 draws), their 95th percentile was
# 1.1 % of the log loss at 100 and at 300 rows, 0.2 % at 1,000 and 0.1 % at 3,000, while a
# blend as over-confident as T = 2 gains about 14 %.
MIN_GAIN = 0.01
# ... and by more than NOISE standard errors of that gain (bootstrap over the held-out
# rows): with few errors left on validation, sharpening wins its gain on a handful of rows
# and loses far more on new ones (wine, 133 rows: validation log loss 0.019, a held-out
# gain of 5 % at T = 0.54, test log loss 0.092 -> 0.148)
NOISE = 2.0
N_BOOTSTRAP = 50
# Sharpening (T < 1) needs at least this many misclassified validation rows: with fewer,
# the validation rows cannot show what a confident mistake on new rows costs (wine at
# 60 s: no held-out half disagreed, T = 0.54, test log loss 0.092 -> 0.148)
MIN_ERRORS_TO_SHARPEN = 10

Loss = Callable[..., float]  # (y_true, proba[, sample_weight]) -> loss, lower is better


def depends_on_calibration(metric: Metric, n_classes: int | None) -> bool:
    """Whether ``metric`` scores the level of a classifier's probabilities.

    Parameters
    ----------
    metric : Metric
        The fit's metric.
    n_classes : int or None
        Number of classes (``None`` for regression).

    Returns
    -------
    bool
        True for classification scored on probabilities by more than their order (log
        loss, Brier score; not ROC AUC or average precision).
    """
    return n_classes is not None and metric.response == "proba" and not metric.ranks_only


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """The probabilities scaled by ``temperature``: ``softmax(log(proba) / temperature)``.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Class probabilities (rows summing to 1).
    temperature : float
        Greater than 0; 1 returns ``proba`` unchanged.

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
        The scaled probabilities, rows summing to 1.
    """
    if temperature == 1.0:
        return proba
    logits = np.log(np.clip(np.asarray(proba, dtype=np.float64), CLIP, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def fit_temperature(y_true: np.ndarray, proba: np.ndarray, loss: Loss,
                    sample_weight: np.ndarray | None = None) -> float:
    """The temperature in ``T_BOUNDS`` minimising ``loss`` of the scaled probabilities.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,)
        Encoded labels ``0 .. n_classes - 1``.
    proba : ndarray of shape (n_samples, n_classes)
        Class probabilities.
    loss : callable
        ``loss(y_true, proba, sample_weight) -> float``, lower is better (e.g.
        ``Metric.loss``); called with two arguments when unweighted.
    sample_weight : ndarray of shape (n_samples,) or None
        Row weights.

    Returns
    -------
    float
        The fitted temperature (bounded search over ``log T``); 1 when no temperature
        scores better than 1.
    """
    def objective(log_t: float) -> float:
        return _loss(loss, y_true, apply_temperature(proba, float(np.exp(log_t))),
                     sample_weight)

    found = minimize_scalar(objective, bounds=np.log(T_BOUNDS), method="bounded",
                            options={"xatol": 1e-4})
    temperature = float(np.exp(found.x))
    return temperature if objective(found.x) < _loss(loss, y_true, proba, sample_weight) \
        else 1.0


def _loss(loss: Loss, y_true: np.ndarray, proba: np.ndarray,
          sample_weight: np.ndarray | None) -> float:
    return loss(y_true, proba) if sample_weight is None else loss(y_true, proba, sample_weight)



def stratified_halves(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two halves of the rows, each class shuffled and dealt alternately to both.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Class labels.
    seed : int
        Seed of the shuffle.

    Returns
    -------
    tuple of ndarray
        The sorted row indices of each half.
    """
    rng = np.random.default_rng(seed)
    first, second = [], []
    start = 0  # which half the next class starts with, so odd classes even out
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        first.append(rows[start::2])
        second.append(rows[1 - start::2])
        start ^= len(rows) % 2
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(second))


def cross_validated_gain(y_true: np.ndarray, proba: np.ndarray, loss: Loss, seed: int,
                         sample_weight: np.ndarray | None = None,
                         n_bootstrap: int = N_BOOTSTRAP) -> tuple[float, float]:
    """The share of the loss a temperature saves on rows it was not fitted on, and the
    standard error of that share.

    The temperature is fitted on one half of the rows (:func:`stratified_halves`) and
    scored on the other, both ways; the losses of both halves are averaged, weighted by
    their sizes. The standard error is the spread of the held-out gain over bootstrap
    resamples of the held-out rows.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,)
        Encoded labels.
    proba : ndarray of shape (n_samples, n_classes)
        Class probabilities.
    loss : callable
        ``loss(y_true, proba) -> float``, lower is better.
    seed : int
        Seed of the halves and of the bootstrap.
    sample_weight : ndarray of shape (n_samples,) or None
        Row weights (a half's share is its share of the weight).
    n_bootstrap : int
        Resamples of each held-out half (0: no standard error).

    Returns
    -------
    gain : float
        ``(loss at T = 1 - loss at the fitted T) / loss at T = 1`` over the held-out
        halves: positive when scaling helps; 0 when the loss at T = 1 is not positive.
    error : float
        Its standard error (in the same units).
    """
    rng = np.random.default_rng(seed)
    plain = saved = variance = 0.0
    w = np.ones(len(y_true)) if sample_weight is None else sample_weight
    a, b = stratified_halves(y_true, seed)
    for fit_rows, test_rows in ((a, b), (b, a)):
        if len(fit_rows) == 0 or len(test_rows) == 0:
            return 0.0, 0.0
        temperature = fit_temperature(y_true[fit_rows], proba[fit_rows], loss,
                                      weights_of(sample_weight, fit_rows))
        scaled = apply_temperature(proba, temperature)
        share = w[test_rows].sum() / w.sum()
        plain += share * _loss(loss, y_true[test_rows], proba[test_rows],
                               weights_of(sample_weight, test_rows))
        saved += share * _saving(loss, y_true, proba, scaled, test_rows, sample_weight)
        resampled = [_saving(loss, y_true, proba, scaled, rows, sample_weight)
                     for rows in rng.choice(test_rows, (n_bootstrap, len(test_rows)))]
        variance += share**2 * float(np.var(resampled)) if n_bootstrap > 1 else 0.0
    if not (np.isfinite(plain) and plain > 0):
        return 0.0, 0.0
    return float(saved / plain), float(np.sqrt(variance) / plain)


def _saving(loss: Loss, y_true: np.ndarray, proba: np.ndarray, scaled: np.ndarray,
            rows: np.ndarray, sample_weight: np.ndarray | None) -> float:
    """The loss of ``rows`` at T = 1 minus that of their scaled probabilities."""
    weights = weights_of(sample_weight, rows)
    return _loss(loss, y_true[rows], proba[rows], weights) - \
        _loss(loss, y_true[rows], scaled[rows], weights)


def tune_temperature(y_true: np.ndarray, proba: np.ndarray, loss: Loss, seed: int,
                     min_gain: float = MIN_GAIN, sample_weight: np.ndarray | None = None,
                     noise: float = NOISE) -> float:
    """The temperature of validation predictions, 1 unless it generalises.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,)
        Encoded labels.
    proba : ndarray of shape (n_samples, n_classes)
        Class probabilities.
    loss : callable
        ``loss(y_true, proba) -> float``, lower is better.
    seed : int
        Seed of the cross-validation's halves.
    min_gain : float
        The share of the loss the cross-validated temperature must save
        (:func:`cross_validated_gain`).
    sample_weight : ndarray of shape (n_samples,) or None
        Row weights.
    noise : float
        Standard errors of the cross-validated gain it must exceed as well.

    Returns
    -------
    float
        The temperature fitted on all rows when the cross-validated gain exceeds
        ``min_gain`` and ``noise`` standard errors (and, to sharpen, when at least
        ``MIN_ERRORS_TO_SHARPEN`` rows are misclassified), else 1.
    """
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=np.float64)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    gain, error = cross_validated_gain(y_true, proba, loss, seed, sample_weight,
                                       n_bootstrap=N_BOOTSTRAP if noise > 0 else 0)
    if gain <= min_gain or gain <= noise * error:
        return 1.0
    temperature = fit_temperature(y_true, proba, loss, sample_weight)
    errors = int((np.argmax(proba, axis=1) != y_true).sum())
    return 1.0 if temperature < 1.0 and errors < MIN_ERRORS_TO_SHARPEN else temperature


def ensemble_temperature(weights: Mapping[int, float], predictions: Mapping[int, np.ndarray],
                         y_val: np.ndarray, metric: Metric, n_classes: int | None, seed: int,
                         sample_weight: np.ndarray | None = None) -> float | None:
    """The temperature of an ensemble, from its members' validation predictions.

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
        The fit's seed (for the cross-validation's halves).
    sample_weight : ndarray or None
        Weights of the validation rows.

    Returns
    -------
    float or None
        ``None`` for regression; 1 unless the metric scores the level of the
        probabilities (:func:`depends_on_calibration`); else :func:`tune_temperature`
        of the weighted blend.
    """
    if n_classes is None:
        return None
    if not depends_on_calibration(metric, n_classes):
        return 1.0
    return tune_temperature(y_val, blend(weights, predictions), metric.loss, seed,
                            sample_weight=sample_weight)
