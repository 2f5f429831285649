"""Sample weights: validation, weighted metrics and threshold, families, trials and refits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn import metrics as skm
from sklearn.base import clone
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.metrics import make_scorer
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.utils.validation import has_fit_parameter

from autometa import AutoMetaClassifier, AutoMetaRegressor
from autometa.components import MODELS, BuildContext, registry
from autometa.evaluation import TaskData, evaluate, refit, refit_rows, weight_params
from autometa.metrics import resolve_metric
from autometa.space import build_pipeline, family_default, select_families
from autometa.table import Table
from autometa.threshold import (
    best_threshold,
    candidate_thresholds,
    confusion_counts,
    tune_threshold,
    weighted_quantiles,
)
from autometa.weights import check_sample_weight, training_rows
from tests.conftest import mixed_frame

# -- validation ------------------------------------------------------------------------------


def test_weights_are_scaled_to_mean_one_over_positive_rows_and_equal_ones_are_none():
    assert check_sample_weight(None, 4) is None
    assert check_sample_weight(np.full(4, 3.0), 4) is None
    assert check_sample_weight(2.5, 4) is None
    w = check_sample_weight(pd.Series([0.0, 2.0, 4.0, 6.0]), 4)
    np.testing.assert_allclose(w, [0.0, 0.5, 1.0, 1.5])


@pytest.mark.parametrize("weights, message", [
    (np.ones(5), "sample_weight has 5 values but X has 200 rows; give one weight per row"),
    (np.r_[np.ones(199), np.nan], "1 NaN or infinite value(s)"),
    (np.r_[np.ones(198), np.inf, -np.inf], "2 NaN or infinite value(s)"),
    (np.r_[np.ones(199), -1.5], "1 negative value(s) (the lowest is -1.5)"),
    (np.zeros(200), "sample_weight is zero for every row"),
    (np.ones((200, 2)), "sample_weight must be 1-D"),
    (np.array(["a"] * 200), "sample_weight must hold numbers"),
])
def test_bad_weights_raise_a_clear_error_before_any_trial(weights, message):
    X, y = mixed_frame(200)
    with pytest.raises(ValueError, match="sample_weight") as info:
        AutoMetaClassifier(time_budget=5, max_evals=1).fit(X, y, sample_weight=weights)
    assert message in str(info.value)


def test_a_class_of_zero_weight_is_an_error():
    X, y = mixed_frame(200)
    with pytest.raises(ValueError, match=r"0 for every row of class\(es\) \['yes'\]"):
        Table.from_raw(X, y, "classification", sample_weight=np.where(y == "yes", 0.0, 1.0))


def test_a_metric_without_sample_weight_is_an_error_when_weighted():
    X, y = mixed_frame(100)

    def agreement(y_true, y_pred):
        return float(np.mean(y_true == y_pred))

    table = Table.from_raw(X, y, "classification", sample_weight=np.arange(100) % 3)
    with pytest.raises(ValueError, match="takes no sample_weight"):
        TaskData.from_table(table, metric=make_scorer(agreement))
    TaskData.from_table(Table.from_raw(X, y, "classification"), metric=make_scorer(agreement))


# -- metrics ---------------------------------------------------------------------------------


def _scores(name: str, seed: int = 0):
    """Encoded targets, raw predictions as trials store them, weights with ties and zeros."""
    rng = np.random.default_rng(seed)
    n = 300
    w = rng.integers(0, 4, n).astype(float)
    if name in ("neg_root_mean_squared_error", "r2", "neg_mean_absolute_error"):
        y = rng.normal(size=n)
        return y, y + rng.normal(scale=0.5, size=n), w, "regression", None
    k = 3 if name in ("neg_log_loss", "f1_macro") else 2
    y = rng.integers(0, k, n)
    proba = rng.dirichlet(np.ones(k), n)
    proba = np.round(proba, 2)  # ties in the scores
    proba /= proba.sum(axis=1, keepdims=True)
    return y, proba, w, "classification", k


@pytest.mark.parametrize("name", ["roc_auc", "neg_log_loss", "accuracy", "balanced_accuracy",
                                  "f1_macro", "neg_root_mean_squared_error", "r2",
                                  "neg_mean_absolute_error"])
def test_weighted_metric_equals_the_scikit_learn_weighted_score(name):
    y, pred, w, task, k = _scores(name)
    metric = resolve_metric(name, task, k)
    scorer = skm.get_scorer(name)
    if metric.response == "value":
        prepared = pred
    elif metric.response == "label":
        prepared = pred.argmax(axis=1)
    else:
        prepared = pred[:, 1] if k == 2 else pred
    expected = scorer._sign * scorer._score_func(y, prepared, sample_weight=w, **scorer._kwargs)
    assert metric.score(y, pred, w) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    unweighted = scorer._sign * scorer._score_func(y, prepared, **scorer._kwargs)
    assert metric.score(y, pred, w) != pytest.approx(unweighted, rel=1e-6)


@pytest.mark.parametrize("name", ["roc_auc", "neg_log_loss", "accuracy",
                                  "neg_root_mean_squared_error"])
def test_integer_weights_score_as_repeated_rows(name):
    y, pred, w, task, k = _scores(name, seed=1)
    metric = resolve_metric(name, task, k)
    repeat = w.astype(int)
    by_rows = metric.score(np.repeat(y, repeat), np.repeat(pred, repeat, axis=0))
    assert metric.score(y, pred, w) == pytest.approx(by_rows, rel=1e-12)


# -- threshold -------------------------------------------------------------------------------


def _imbalanced(n: int, distinct: int | None, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.15).astype(np.int64)
    proba = 1 / (1 + np.exp(-(np.where(y == 1, 0.0, -2.5) + rng.normal(size=n))))
    if distinct is not None:
        proba = np.round(proba * distinct) / distinct
    low_positive = (y == 1) & (proba < np.median(proba[y == 1]))  # weighted up: cut lower
    return y, proba, rng.integers(0, 4, n) + 4 * low_positive


@pytest.mark.parametrize("name", ["balanced_accuracy", "f1", "matthews_corrcoef", "custom"])
@pytest.mark.parametrize("distinct", [100, None])
def test_threshold_with_integer_weights_equals_the_threshold_of_repeated_rows(name, distinct):
    y, proba, w = _imbalanced(600, distinct)
    if name == "custom":  # not scikit-learn's: scored row by row, not by confusion counts

        def recall_gap(y_true, y_pred, sample_weight=None):
            return skm.balanced_accuracy_score(y_true, y_pred, sample_weight=sample_weight)

        metric = resolve_metric(make_scorer(recall_gap), "classification", 2)
    else:
        metric = resolve_metric(name, "classification", 2)
    weighted = best_threshold(y, proba, metric, sample_weight=w.astype(float))
    repeated = best_threshold(np.repeat(y, w), np.repeat(proba, w), metric)
    if distinct is None:  # > 256 distinct values: quantiles, interpolated
        assert weighted == pytest.approx(repeated, rel=1e-9)
    else:
        assert weighted == repeated
    assert weighted != best_threshold(y, proba, metric)  # the weights matter here
    # the held-out check splits rows, not repeats: the weighted cut, or 0.5
    assert tune_threshold(y, proba, metric, sample_weight=w.astype(float)) in (weighted, 0.5)


def test_weighted_confusion_counts_and_quantiles():
    y, proba, w = _imbalanced(400, None, seed=2)
    cuts = candidate_thresholds(proba)
    np.testing.assert_array_equal(confusion_counts(y, proba, cuts, np.ones(400)),
                                  confusion_counts(y, proba, cuts))
    counts = confusion_counts(y, proba, cuts, w.astype(float))
    again = confusion_counts(np.repeat(y, w), np.repeat(proba, w), cuts)
    np.testing.assert_allclose(counts, again)
    levels = np.linspace(0, 1, 17)
    np.testing.assert_allclose(weighted_quantiles(proba, w.astype(float), levels),
                               np.quantile(np.repeat(proba, w), levels), rtol=1e-12)


# -- families --------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_each_family_says_truly_whether_its_model_takes_sample_weight(task):
    ctx = BuildContext(task=task, n_rows=100, numeric=("a",), categorical=())
    for spec in MODELS:
        model = build_pipeline(family_default(spec, task), ctx, registry()).steps[-1][1]
        assert spec.sample_weight == has_fit_parameter(model, "sample_weight"), spec.name


def test_weighted_fits_leave_out_families_without_sample_weight():
    specs = registry()
    names = [s.name for s in select_families("classification", specs, weighted=True)]
    assert "knn" not in names and "lightgbm" in names
    assert "knn" in [s.name for s in select_families("classification", specs)]
    mixed = select_families("regression", specs, include=["knn", "linear"], weighted=True)
    assert [s.name for s in mixed] == ["linear"]
    with pytest.raises(ValueError, match=r"\(knn\) cannot take sample_weight"):
        select_families("regression", specs, include=["knn"], weighted=True)


def test_include_of_only_knn_with_weights_is_a_clear_error():
    X, y = mixed_frame(100)
    with pytest.raises(ValueError, match="cannot take sample_weight"):
        AutoMetaClassifier(time_budget=5, max_evals=1, include=["knn"]).fit(
            X, y, sample_weight=np.arange(100) % 4 + 1)


# -- trials and refits -----------------------------------------------------------------------


def _weighted_data(n: int = 240, seed: int = 0, extra_zero_rows: int = 0):
    X, y = mixed_frame(n, seed)
    w = np.where(y == "yes", 4.0, 1.0) * (1 + np.arange(n) % 3)
    if extra_zero_rows:
        X2, y2 = mixed_frame(extra_zero_rows, seed + 1)
        X = pd.concat([X, X2], ignore_index=True)
        y, w = np.r_[y, y2], np.r_[w, np.zeros(extra_zero_rows)]
    table = Table.from_raw(X, y, "classification", sample_weight=w)
    return TaskData.from_table(table, resampling=3, seed=0, metric="neg_log_loss"), X


def test_a_trials_loss_is_the_weighted_metric_of_its_validation_predictions():
    data, _ = _weighted_data()
    config = family_default(registry()["linear"], "classification")
    outcome = evaluate(config, data, seed=0)
    y_val = data.y[data.val_index]
    weighted = data.metric.loss(y_val, outcome.predictions.astype(np.float64), data.val_weight)
    assert outcome.loss == pytest.approx(weighted, rel=1e-5)
    assert outcome.loss != pytest.approx(data.metric.loss(y_val, outcome.predictions), rel=1e-3)


def test_a_refit_on_fewer_rows_trains_with_their_weights():
    data, _ = _weighted_data()
    config = family_default(registry()["linear"], "classification")
    model = refit(config, data, seed=0, max_rows=150)
    rows = refit_rows(data, 150, seed=0)
    rows, w = training_rows(data.sample_weight, rows, len(data.y))
    by_hand = build_pipeline(config, data.context(len(rows), 0, 1), data.specs)
    by_hand.fit(data.X.iloc[rows], data.y[rows], **weight_params(by_hand, w))
    np.testing.assert_array_equal(model.predict_proba(data.X), by_hand.predict_proba(data.X))
    unweighted = build_pipeline(config, data.context(len(rows), 0, 1), data.specs)
    unweighted.fit(data.X.iloc[rows], data.y[rows])
    assert not np.allclose(model.predict_proba(data.X), unweighted.predict_proba(data.X))


@pytest.mark.parametrize("family", ["linear", "random_forest", "lightgbm"])
def test_rows_of_weight_zero_do_not_change_a_refit(family):
    data, X = _weighted_data()
    padded, _ = _weighted_data(extra_zero_rows=60)
    config = family_default(registry()[family], "classification")
    frame = padded.X.iloc[: len(X)]
    np.testing.assert_array_equal(refit(config, data, seed=0).predict_proba(data.X),
                                  refit(config, padded, seed=0).predict_proba(frame))


# -- end to end ------------------------------------------------------------------------------


class Keep:
    """A callback keeping the last fit's result (class level: estimators clone callbacks)."""

    results: list = []

    def on_start(self, plan, data):
        pass

    def on_trial(self, trial):
        pass

    def on_end(self, result):
        Keep.results.append(result)


@pytest.mark.slow
def test_uniform_weights_give_the_unweighted_fit():
    X, y = mixed_frame(200)
    fits = [AutoMetaClassifier(time_budget=30, max_evals=5, random_state=4).fit(X, y, **kw)
            for kw in ({}, {"sample_weight": np.ones(200)},
                       {"sample_weight": np.full(200, 3.0)})]
    boards = [f.leaderboard()[["family", "score", "config", "ensemble_weight"]] for f in fits]
    for board, fit in zip(boards[1:], fits[1:], strict=True):
        pd.testing.assert_frame_equal(boards[0], board)
        np.testing.assert_array_equal(fits[0].predict_proba(X), fit.predict_proba(X))


@pytest.mark.slow
def test_weighting_a_class_up_raises_its_predicted_share_and_losses_are_weighted():
    X, y = mixed_frame(300, seed=5)
    Keep.results.clear()
    plain = AutoMetaClassifier(time_budget=30, max_evals=6, random_state=0, metric="accuracy",
                               callbacks=[Keep()]).fit(X, y)
    w = np.where(y == "yes", 20.0, 1.0)
    heavy = AutoMetaClassifier(time_budget=30, max_evals=6, random_state=0, metric="accuracy",
                               callbacks=[Keep()]).fit(X, y, sample_weight=w)
    assert (heavy.predict(X) == "yes").mean() > (plain.predict(X) == "yes").mean() + 0.05
    assert "knn" not in set(heavy.leaderboard()["family"])
    result = Keep.results[-1]
    data, state = result.data, result.state
    y_val, w_val = data.y[data.val_index], data.val_weight
    assert w_val is not None and len(state.successes) >= 3
    for trial in state.successes:
        pred = state.predictions[trial.id].astype(np.float64)
        assert trial.loss == pytest.approx(data.metric.loss(y_val, pred, w_val), abs=1e-9)
    assert any(t.loss != pytest.approx(data.metric.loss(y_val, state.predictions[t.id]))
               for t in state.successes)


@pytest.mark.slow
def test_weighted_regression_follows_the_heavier_rows():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 3))
    X = pd.DataFrame(np.vstack([x, x]), columns=list("abc"))
    base = x[:, 0] + 0.1 * rng.normal(size=150)
    y = np.r_[base + 1.0, base - 1.0]  # the same rows, once 1 above and once 1 below
    w = np.r_[np.full(150, 10.0), np.ones(150)]
    reg = AutoMetaRegressor(time_budget=20, max_evals=4, random_state=0)
    up = reg.fit(X, y, sample_weight=w).predict(X.iloc[:150])
    plain = AutoMetaRegressor(time_budget=20, max_evals=4, random_state=0).fit(X, y)
    assert np.mean(up - base) > np.mean(plain.predict(X.iloc[:150]) - base) + 0.5


def _fits_seen(cv_call) -> list[np.ndarray | None]:
    Keep.results.clear()
    cv_call()
    return [r.data.sample_weight for r in Keep.results]


@pytest.mark.slow
def test_cross_val_score_passes_the_weights_with_and_without_metadata_routing():
    X, y = mixed_frame(120)
    w = 1.0 + np.arange(120) % 4
    cv = StratifiedKFold(2)
    trains = [train for train, _ in cv.split(X, y)]
    est = AutoMetaClassifier(time_budget=10, max_evals=2, include=["linear"], ensemble_size=3,
                             random_state=0, callbacks=[Keep()])
    plain = _fits_seen(lambda: cross_val_score(est, X, y, cv=cv, params={"sample_weight": w}))
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(UnsetMetadataPassedError):
            cross_val_score(est, X, y, cv=cv, params={"sample_weight": w})
        routed_est = clone(est).set_fit_request(sample_weight=True).set_score_request(
            sample_weight=False)
        assert clone(routed_est).get_metadata_routing().fit.requests["sample_weight"] is True
        routed = _fits_seen(lambda: cross_val_score(routed_est, X, y, cv=cv,
                                                    params={"sample_weight": w}))
    for seen in (plain, routed):
        assert len(seen) == 2
        for weights, train in zip(seen, trains, strict=True):
            np.testing.assert_allclose(weights, check_sample_weight(w[train], len(train)))
