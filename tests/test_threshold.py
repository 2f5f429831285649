"""The decision threshold of binary tasks: tuned for metrics of labels, 0.5 otherwise."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from autometa.metrics import resolve_metric
from autometa.threshold import (
    DEFAULT_THRESHOLD,
    blend,
    candidate_thresholds,
    ensemble_threshold,
    pick_threshold,
    scores_counts,
    threshold_scores,
    tune_threshold,
)


def imbalanced(n: int = 1000, share: float = 0.1, seed: int = 0):
    """Encoded labels (10 % positives) and probabilities of class 1 that rank them well
    but seldom reach 0.5 for the positives (as a model of the majority tends to)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < share).astype(np.int64)
    logit = np.where(y == 1, 0.0, -3.0) + rng.normal(scale=1.0, size=n)
    return y, 1 / (1 + np.exp(-logit))


def test_balanced_accuracy_threshold_beats_one_half_and_lies_between_the_classes():
    y, proba = imbalanced()
    metric = resolve_metric("balanced_accuracy", "classification", 2)
    threshold = tune_threshold(y, proba, metric)

    def score(t):
        return metric.score(y, (proba >= t).astype(int))

    assert score(threshold) > score(DEFAULT_THRESHOLD) + 0.05
    assert np.median(proba[y == 0]) < threshold < np.median(proba[y == 1])
    grid = np.linspace(0.01, 0.99, 99)
    assert score(threshold) >= max(score(t) for t in grid) - 1e-12


@pytest.mark.parametrize("name", ["roc_auc", "neg_log_loss", "average_precision"])
def test_metrics_of_probabilities_keep_one_half(name):
    y, proba = imbalanced()
    predictions = {3: np.column_stack([1 - proba, proba])}
    metric = resolve_metric(name, "classification", 2)
    assert ensemble_threshold({3: 1.0}, predictions, y, metric, 2) == DEFAULT_THRESHOLD


def test_multiclass_has_no_threshold():
    metric = resolve_metric("f1_macro", "classification", 3)
    proba = np.full((6, 3), 1 / 3)
    assert ensemble_threshold({0: 1.0}, {0: proba}, np.arange(6) % 3, metric, 3) is None


def test_the_ensemble_threshold_is_tuned_on_the_weighted_blend():
    y, proba = imbalanced()
    noise = np.random.default_rng(1).random(len(y))
    predictions = {1: np.column_stack([1 - proba, proba]),
                   2: np.column_stack([1 - noise, noise])}
    weights = {1: 3.0, 2: 1.0}
    blended = blend(weights, predictions)
    np.testing.assert_allclose(blended[:, 1], 0.75 * proba + 0.25 * noise)
    metric = resolve_metric("f1", "classification", 2)
    assert ensemble_threshold(weights, predictions, y, metric, 2) == tune_threshold(
        y, blended[:, 1], metric)


def test_ties_prefer_one_half_then_the_middle_of_the_plateau():
    thresholds = np.array([0.1, 0.2, 0.3, 0.5, 0.6, 0.8])
    assert pick_threshold(thresholds, np.array([0, 1, 1, 1, 0, 0.0])) == DEFAULT_THRESHOLD
    assert pick_threshold(thresholds, np.array([1, 1, 1, 0, 0, 0.0])) == pytest.approx(0.2)
    assert pick_threshold(thresholds, np.array([1, 0, 0, 0, 1, 0.0])) == pytest.approx(0.6)


def test_separable_classes_get_a_cut_between_them_and_constants_keep_one_half():
    y = np.array([0, 0, 0, 1, 1])
    proba = np.array([0.01, 0.02, 0.03, 0.2, 0.25])
    metric = resolve_metric("balanced_accuracy", "classification", 2)
    assert 0.03 < tune_threshold(y, proba, metric) < 0.2
    assert tune_threshold(y, np.full(5, 0.3), metric) == DEFAULT_THRESHOLD


def test_many_distinct_probabilities_give_few_candidates():
    proba = np.random.default_rng(0).random(100_000)
    cuts = candidate_thresholds(proba, max_cuts=64)
    assert len(cuts) <= 66 and DEFAULT_THRESHOLD in cuts
    assert np.all(np.diff(cuts) > 0)


def test_the_exported_threshold_classifier_cuts_where_the_estimator_does():
    from sklearn.linear_model import LogisticRegression

    from autometa.export import voting_classifier, with_threshold

    X, y = np.random.default_rng(0).normal(size=(60, 2)), np.arange(60) % 2
    member = LogisticRegression().fit(X, y)
    classes = np.array(["no", "yes"], dtype=object)
    fixed = with_threshold(voting_classifier(["m"], [member], [1.0], classes), 0.3)
    expected = classes[(member.predict_proba(X)[:, 1] >= 0.3).astype(int)]
    np.testing.assert_array_equal(fixed.predict(X), expected)
    np.testing.assert_array_equal(fixed.classes_, classes)


def imbalanced_table(n: int = 400, seed: int = 0):
    """A mixed table whose positive class ("rare", 12 %) is hard to reach 0.5 for."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"signal": rng.normal(size=n), "noise": rng.normal(size=n),
                      "kind": pd.Categorical(rng.choice(["u", "v"], size=n))})
    logit = 1.5 * X["signal"] - 2.6 + (X["kind"] == "u") * 0.5 + rng.normal(scale=0.8, size=n)
    return X, np.where(logit > 0, "rare", "common")


@pytest.mark.slow
def test_a_fit_for_balanced_accuracy_tunes_predicts_and_exports_its_threshold():
    from sklearn.model_selection import FixedThresholdClassifier

    from autometa import AutoMetaClassifier
    from tests.test_calibration import KeepResult

    X, y = imbalanced_table()
    kept = KeepResult()
    model = AutoMetaClassifier(time_budget=15, max_evals=6, metric="balanced_accuracy",
                               include=["linear", "lightgbm"], random_state=0,
                               callbacks=[kept]).fit(X, y)
    assert list(model.classes_) == ["common", "rare"]
    data = kept.result.data
    assert model.threshold_ == ensemble_threshold(
        model.ensemble_.weights, kept.result.state.predictions, data.y[data.val_index],
        data.metric, 2, seed=0, temperature=model.temperature_)
    model.threshold_ = 0.3  # whatever the held-out check decided, a tuned cut is used
    proba = model.predict_proba(X)
    np.testing.assert_array_equal(
        model.predict(X), model.classes_[(proba[:, 1] >= model.threshold_).astype(int)])
    exported = model.to_sklearn()
    assert isinstance(exported, FixedThresholdClassifier)
    assert exported.threshold == model.threshold_
    np.testing.assert_array_equal(exported.predict(X), model.predict(X))


@pytest.mark.parametrize("name", ["balanced_accuracy", "f1", "matthews_corrcoef", "precision",
                                  "recall", "accuracy", "jaccard", "fbeta"])
def test_scoring_the_confusion_counts_equals_scoring_every_row(name):
    from sklearn.metrics import fbeta_score, make_scorer

    y, proba = imbalanced(300)
    scorer = make_scorer(fbeta_score, beta=2) if name == "fbeta" else name
    metric = resolve_metric(scorer, "classification", 2)
    assert scores_counts(metric)
    thresholds = np.r_[-1.0, candidate_thresholds(proba), 2.0]  # all or no row positive too
    by_counts = threshold_scores(y, proba, thresholds, metric)
    with warnings.catch_warnings():  # precision with no predicted positive
        warnings.simplefilter("ignore")
        by_rows = np.nan_to_num([metric.score(y, (proba >= t).astype(int))
                                 for t in thresholds], nan=-np.inf)
    np.testing.assert_allclose(by_counts, by_rows, rtol=1e-12, atol=1e-12)


def test_a_custom_metric_scores_every_row():
    from sklearn.metrics import make_scorer

    def share_right(y_true, y_pred):
        return float(np.mean(y_true == y_pred))

    metric = resolve_metric(make_scorer(share_right), "classification", 2)
    assert not scores_counts(metric)
    y, proba = imbalanced(200)
    assert threshold_scores(y, proba, np.array([0.5]), metric)[0] == share_right(
        y, (proba >= 0.5).astype(int))


def uninformative(n: int, share: float, seed: int):
    """Labels and probabilities drawn independently: no cut is better than another."""
    rng = np.random.default_rng(seed)
    return (rng.random(n) < share).astype(np.int64), rng.random(n)


def test_the_held_out_check_keeps_one_half_on_noise():
    from autometa.threshold import best_threshold

    metric = resolve_metric("balanced_accuracy", "classification", 2)
    best_moved = tuned_moved = 0
    for seed in range(20):
        y, proba = uninformative(200, 0.3, seed)
        best_moved += best_threshold(y, proba, metric) != DEFAULT_THRESHOLD
        tuned_moved += tune_threshold(y, proba, metric, seed=seed) != DEFAULT_THRESHOLD
    assert best_moved == 20  # on these rows some cut always beats 0.5 by chance
    assert tuned_moved <= 5


def test_a_real_gain_passes_the_held_out_check():
    from autometa.threshold import threshold_gain

    y, proba = imbalanced(600)
    metric = resolve_metric("balanced_accuracy", "classification", 2)
    gain, error = threshold_gain(y, proba, metric, seed=0)
    assert gain > 3 * error > 0
    assert tune_threshold(y, proba, metric, seed=0) == tune_threshold(y, proba, metric,
                                                                      min_gain=None)
    assert tune_threshold(y, proba, metric, seed=0, min_gain=gain) == DEFAULT_THRESHOLD


def test_smoothing_averages_neighbouring_cuts_and_keeps_unscorable_ones():
    from autometa.threshold import smoothed

    scores = np.array([0.0, 3.0, 0.0, -np.inf, 6.0])
    np.testing.assert_allclose(smoothed(scores, 1), [1.5, 1.0, 1.5, -np.inf, 6.0])
    np.testing.assert_array_equal(smoothed(scores, 0), scores)


def test_smoothing_prefers_a_broad_optimum_to_a_lone_spike():
    thresholds = np.linspace(0.1, 0.9, 9)
    spike = np.array([0, 0, 0.9, 0, 0, 0.6, 0.6, 0.6, 0.6])
    assert pick_threshold(thresholds, spike) == pytest.approx(0.3)
    from autometa.threshold import smoothed

    assert pick_threshold(thresholds, smoothed(spike, 1)) == pytest.approx(0.8)


@pytest.mark.parametrize("name", ["f1", "precision", "recall", "accuracy", "jaccard",
                                  "balanced_accuracy", "matthews_corrcoef"])
def test_count_formulas_equal_scikit_learn_on_the_counts(name):
    import warnings

    from autometa.threshold import COUNT_FORMULAS, counts_score

    rng = np.random.default_rng(0)
    counts = np.vstack([rng.integers(0, 5, (500, 4)), np.eye(4) * 3]).astype(float)
    counts = counts[counts.sum(axis=1) > 0]
    metric = resolve_metric(name, "classification", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero divisions, as in the tuning
        expected = [counts_score(metric, c) for c in counts]
    got = metric.sign * COUNT_FORMULAS[metric.score_func.__name__](*counts.T)
    np.testing.assert_allclose(got, expected)
