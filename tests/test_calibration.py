"""Temperature scaling of a classifier's probabilities, fitted on validation predictions."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from autometa.calibration import (
    MIN_GAIN,
    apply_temperature,
    cross_validated_gain,
    depends_on_calibration,
    ensemble_temperature,
    fit_temperature,
    stratified_halves,
    tune_temperature,
)
from autometa.ensemble import blend
from autometa.metrics import resolve_metric
from autometa.threshold import ensemble_threshold, tune_threshold

LOG_LOSS = resolve_metric("neg_log_loss", "classification", 3)


def sampled(n: int, n_classes: int, confidence: float, seed: int = 0):
    """Labels drawn from true probabilities, and those probabilities with their logits
    multiplied by ``confidence`` (> 1 over-confident, < 1 under-confident, 1 calibrated)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=1.5, size=(n, n_classes))
    true = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (rng.random((n, 1)) > np.cumsum(true, axis=1)).sum(axis=1)
    return y, apply_temperature(true, 1 / confidence)


def test_scaling_keeps_rows_summing_to_one_and_their_most_probable_class():
    _, proba = sampled(50, 4, 1.0)
    for temperature in (0.3, 2.5):
        scaled = apply_temperature(proba, temperature)
        np.testing.assert_allclose(scaled.sum(axis=1), 1.0)
        np.testing.assert_array_equal(scaled.argmax(axis=1), proba.argmax(axis=1))
    assert apply_temperature(proba, 1.0) is proba
    softer = apply_temperature(proba, 2.5)
    assert np.all(softer.max(axis=1) < proba.max(axis=1))


def test_binary_scaling_divides_the_logit_by_the_temperature():
    p = np.array([0.1, 0.5, 0.8, 0.999])
    scaled = apply_temperature(np.column_stack([1 - p, p]), 2.0)
    logit = np.log(p / (1 - p))
    np.testing.assert_allclose(scaled[:, 1], 1 / (1 + np.exp(-logit / 2.0)))


def test_zero_probabilities_are_clipped_not_infinite():
    scaled = apply_temperature(np.array([[0.0, 1.0], [0.5, 0.5]]), 3.0)
    assert np.all(np.isfinite(scaled)) and np.all(scaled > 0)


@pytest.mark.parametrize(("confidence", "side"), [(2.0, "above"), (0.5, "below")])
def test_the_fitted_temperature_undoes_over_and_under_confidence(confidence, side):
    y, proba = sampled(2000, 3, confidence)
    temperature = tune_temperature(y, proba, LOG_LOSS.loss, seed=0)
    assert (temperature > 1.2) if side == "above" else (temperature < 0.8)
    assert temperature == pytest.approx(confidence, rel=0.2)
    assert LOG_LOSS.loss(y, apply_temperature(proba, temperature)) < LOG_LOSS.loss(y, proba)


def test_calibrated_probabilities_keep_temperature_one():
    y, proba = sampled(2000, 3, 1.0)
    assert fit_temperature(y, proba, LOG_LOSS.loss) != 1.0  # a fit always moves a little
    assert tune_temperature(y, proba, LOG_LOSS.loss, seed=0) == 1.0


def test_the_cross_validation_refuses_what_the_fit_gains_by_chance():
    kept, moved_in_sample = 0, 0
    for seed in range(20):
        y, proba = sampled(120, 3, 1.0, seed=seed)
        fitted = fit_temperature(y, proba, LOG_LOSS.loss)
        in_sample = LOG_LOSS.loss(y, apply_temperature(proba, fitted))
        moved_in_sample += abs(fitted - 1.0) > 0.02 and in_sample < LOG_LOSS.loss(y, proba)
        kept += tune_temperature(y, proba, LOG_LOSS.loss, seed=seed) == 1.0
    assert moved_in_sample >= 15
    assert kept >= 18


def test_the_gain_is_measured_on_held_out_halves():
    y, proba = sampled(1000, 3, 2.0)
    gain, error = cross_validated_gain(y, proba, LOG_LOSS.loss, seed=0)
    assert gain > MIN_GAIN and gain > 3 * error > 0
    whole = fit_temperature(y, proba, LOG_LOSS.loss)
    in_sample = 1 - LOG_LOSS.loss(y, apply_temperature(proba, whole)) / LOG_LOSS.loss(y, proba)
    assert 0 < gain <= in_sample + 1e-9


def test_brier_score_is_calibrated_too():
    y, proba = sampled(2000, 2, 2.5)
    brier = resolve_metric("neg_brier_score", "classification", 2)
    assert depends_on_calibration(brier, 2)
    assert tune_temperature(y, proba, brier.loss, seed=0) > 1.3


def test_halves_are_disjoint_stratified_and_seeded():
    y = np.array([0] * 7 + [1] * 3 + [2] * 10 + [3])
    a, b = stratified_halves(y, seed=4)
    assert len(np.intersect1d(a, b)) == 0 and len(a) + len(b) == len(y)
    assert abs(len(a) - len(b)) <= 1
    for label in np.unique(y):
        assert abs(np.sum(y[a] == label) - np.sum(y[b] == label)) <= 1
    again = stratified_halves(y, seed=4)
    np.testing.assert_array_equal(a, again[0])
    assert not np.array_equal(a, stratified_halves(y, seed=5)[0])


@pytest.mark.parametrize(("name", "expected"), [("roc_auc", 1.0), ("accuracy", 1.0),
                                                ("f1", 1.0), ("average_precision", 1.0)])
def test_metrics_blind_to_the_level_keep_temperature_one(name, expected):
    y, proba = sampled(500, 2, 3.0)
    metric = resolve_metric(name, "classification", 2)
    assert not depends_on_calibration(metric, 2)
    assert ensemble_temperature({0: 1.0}, {0: proba}, y, metric, 2, seed=0) == expected


def test_regression_has_no_temperature():
    metric = resolve_metric(None, "regression")
    assert ensemble_temperature({0: 1.0}, {0: np.zeros(5)}, np.zeros(5), metric, None, 0) is None


def test_the_ensemble_temperature_is_fitted_on_the_weighted_blend():
    y, sharp = sampled(1500, 3, 3.0)
    _, noise = sampled(1500, 3, 1.0, seed=9)
    predictions, weights = {4: sharp, 7: noise}, {4: 3.0, 7: 1.0}
    expected = tune_temperature(y, blend(weights, predictions), LOG_LOSS.loss, seed=2)
    assert expected != 1.0
    assert ensemble_temperature(weights, predictions, y, LOG_LOSS, 3, seed=2) == expected


def test_the_threshold_is_tuned_on_the_scaled_blend():
    rng = np.random.default_rng(0)
    y = (rng.random(800) < 0.15).astype(np.int64)
    logit = np.where(y == 1, -0.5, -3.0) + rng.normal(size=800)
    p = 1 / (1 + np.exp(-logit))
    predictions = {1: np.column_stack([1 - p, p])}
    f1 = resolve_metric("f1", "classification", 2)
    scaled = apply_temperature(predictions[1], 3.0)[:, 1]
    expected = tune_threshold(y, scaled, f1, seed=0)
    assert expected != tune_threshold(y, p, f1, seed=0)  # the order matters
    assert ensemble_threshold({1: 1.0}, predictions, y, f1, 2, seed=0,
                              temperature=3.0) == expected


# -- the exported wrapper -----------------------------------------------------------------------


def fitted_vote():
    from sklearn.linear_model import LogisticRegression

    from autometa.export import voting_classifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    y = (X[:, 0] + rng.normal(scale=0.5, size=90) > 0).astype(int) + (X[:, 1] > 1)
    member = LogisticRegression().fit(X, y)
    classes = np.array(["a", "b", "c"], dtype=object)
    return voting_classifier(["m"], [member], [1.0], classes), member, X, y, classes


def test_the_exported_scaled_classifier_predicts_as_scaled_and_pickles():
    from autometa.export import TemperatureScaled, with_temperature, with_threshold

    vote, member, X, _, classes = fitted_vote()
    scaled = with_temperature(vote, 1.7)
    assert isinstance(scaled, TemperatureScaled)
    expected = apply_temperature(member.predict_proba(X), 1.7)
    np.testing.assert_allclose(scaled.predict_proba(X), expected)
    np.testing.assert_array_equal(scaled.predict(X), classes[expected.argmax(axis=1)])
    np.testing.assert_array_equal(scaled.classes_, classes)
    loaded = pickle.loads(pickle.dumps(scaled))
    np.testing.assert_allclose(loaded.predict_proba(X), expected)
    binary_vote = with_temperature(fitted_binary_vote(X), 0.5)
    cut = with_threshold(binary_vote, 0.3)
    np.testing.assert_array_equal(
        cut.predict(X), binary_vote.classes_[(binary_vote.predict_proba(X)[:, 1] >= 0.3)
                                             .astype(int)])


def fitted_binary_vote(X):
    from sklearn.linear_model import LogisticRegression

    from autometa.export import voting_classifier

    y = (X[:, 0] > 0).astype(int)
    return voting_classifier(["m"], [LogisticRegression().fit(X, y)], [1.0],
                             np.array(["no", "yes"], dtype=object))


def test_the_exported_scaled_classifier_can_be_refitted_as_plain_sklearn():
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    from autometa.export import TemperatureScaled

    _, _, X, y, _ = fitted_vote()
    refitted = clone(TemperatureScaled(LogisticRegression(), 2.0)).fit(X, y)
    plain = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(refitted.predict_proba(X),
                               apply_temperature(plain.predict_proba(X), 2.0))


# -- a real fit ---------------------------------------------------------------------------------


def noisy_multiclass(n: int = 360, seed: int = 0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    score = X["a"] - 0.5 * X["b"] + rng.normal(scale=1.2, size=n)
    return X, np.digitize(score, [-0.8, 0.8])


class KeepResult:
    result = None

    def on_start(self, plan, data):
        pass

    def on_trial(self, trial):
        pass

    def on_end(self, result):
        self.result = result


@pytest.mark.slow
def test_a_log_loss_fit_scales_predict_proba_and_exports_it():
    from autometa import AutoMetaClassifier
    from autometa.export import TemperatureScaled

    X, y = noisy_multiclass()
    kept = KeepResult()
    model = AutoMetaClassifier(time_budget=15, max_evals=6, metric="neg_log_loss",
                               include=["random_forest", "lightgbm"], random_state=0,
                               callbacks=[kept]).fit(X, y)
    data, state = kept.result.data, kept.result.state
    blended = blend(model.ensemble_.weights, state.predictions)
    assert model.temperature_ == tune_temperature(data.y[data.val_index], blended,
                                                  data.metric.loss, seed=0)
    raw = model.ensemble_.predict(model.schema_.transform(X))
    np.testing.assert_allclose(model.predict_proba(X), apply_temperature(raw, model.temperature_))
    model.temperature_ = 1.6  # whatever the fit chose, a scaled model exports as scaled
    np.testing.assert_allclose(model.predict_proba(X), apply_temperature(raw, 1.6))
    exported = model.to_sklearn()
    assert isinstance(exported, TemperatureScaled) and exported.temperature == 1.6
    model.set_params(callbacks=None)  # the kept result (the live search) does not pickle
    for other in (exported, pickle.loads(pickle.dumps(exported)),
                  pickle.loads(pickle.dumps(model))):
        np.testing.assert_allclose(other.predict_proba(X), model.predict_proba(X),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(other.predict(X), model.predict(X))


def test_few_validation_errors_never_sharpen():
    """Every validation row right but under-confident: sharpening pays on all of them,
    yet the rows cannot show what a confident mistake on new rows would cost."""
    rng = np.random.default_rng(0)
    n = 130
    y = rng.integers(0, 3, n)
    proba = np.full((n, 3), 0.05)
    proba[np.arange(n), y] = 0.9
    assert fit_temperature(y, proba, LOG_LOSS.loss) < 0.5
    assert tune_temperature(y, proba, LOG_LOSS.loss, seed=0) == 1.0
    wrong = rng.choice(n, 20, replace=False)  # with errors enough (unsure ones), it sharpens
    proba[wrong] = 0.25
    proba[wrong, y[wrong]] = 0.3
    proba[wrong, (y[wrong] + 1) % 3] = 0.45
    assert tune_temperature(y, proba, LOG_LOSS.loss, seed=0, min_gain=-1.0, noise=0.0) < 1.0
