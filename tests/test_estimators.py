"""End-to-end fits of the public estimators with small budgets."""

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from autometa import AutoMetaClassifier, AutoMetaRegressor
from tests import faulty
from tests.conftest import mixed_frame

SLACK = 4.0  # seconds allowed beyond 1.05 x time_budget (generous: a loaded machine;
# adherence itself is measured in benchmarks/compare.py, fit / budget)


@pytest.mark.slow
def test_classifier_on_mixed_data_within_budget(mixed):
    X, y = mixed
    budget = 12
    start = time.monotonic()
    clf = AutoMetaClassifier(time_budget=budget, random_state=0).fit(X, y)
    elapsed = time.monotonic() - start
    assert elapsed <= 1.05 * budget + SLACK
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= {"no", "yes"}
    assert clf.classes_.tolist() == ["no", "yes"]
    assert clf.n_features_in_ == 6
    assert clf.feature_names_in_.tolist() == list(X.columns)
    board = clf.leaderboard()
    assert {"rank", "family", "config", "score", "fit_time", "status", "error",
            "ensemble_weight", "origin"} <= set(board.columns)
    assert board["family"].nunique() >= 3 and (board["status"] == "ok").sum() >= 5
    assert board["score"].iloc[0] == pytest.approx(clf.best_score_)
    assert clf.score(X, y) > 0.8


def test_multiclass_with_capped_trials():
    X, y = load_iris(return_X_y=True)
    clf = AutoMetaClassifier(time_budget=30, max_evals=6, random_state=1).fit(X, y)
    assert len(clf.leaderboard()) == 6
    assert clf.predict_proba(X).shape == (150, 3)
    assert (clf.predict(X) == y).mean() > 0.9
    assert not hasattr(clf, "feature_names_in_")


@pytest.mark.slow
def test_regressor(regression_data):
    X, y = regression_data
    reg = AutoMetaRegressor(time_budget=10, random_state=0).fit(X, y)
    pred = reg.predict(X)
    assert pred.shape == (len(X),)
    assert np.corrcoef(pred, y)[0, 1] > 0.9
    assert reg.metric_.name == "neg_root_mean_squared_error"


@pytest.mark.slow
def test_same_seed_and_max_evals_reproduce_the_fit(mixed):
    X, y = mixed
    runs = [AutoMetaClassifier(time_budget=60, max_evals=5, random_state=3).fit(X, y)
            for _ in range(2)]
    boards = [r.leaderboard()[["family", "score", "config"]] for r in runs]
    pd.testing.assert_frame_equal(boards[0], boards[1])
    np.testing.assert_array_equal(runs[0].predict_proba(X), runs[1].predict_proba(X))


@pytest.mark.parametrize(
    "spec, status, reason, limit",
    [
        (faulty.RAISES, "error", "always fails", 10),
        (faulty.HANGS, "timeout", "time limit", 2),
        (faulty.MEMORY, "memout", "memory", 20),
    ],
)
@pytest.mark.slow
def test_failing_trials_are_recorded_and_the_fit_goes_on(spec, status, reason, limit):
    X, y = mixed_frame(150)
    clf = AutoMetaClassifier(
        time_budget=40, max_evals=4, per_trial_time_limit=limit, memory_limit=1500,
        include=[spec.name, "linear"], extra_models=[spec], meta_learning="off", random_state=0,
    ).fit(X, y)
    board = clf.leaderboard()
    bad = board[board["family"] == spec.name]
    assert len(bad) >= 1 and (bad["status"] == status).all()
    assert bad["error"].str.contains(reason).all()
    assert (board["status"] == "ok").any()
    assert clf.predict(X).shape == (150,)


def test_no_successful_trial_raises_a_clear_error():
    X, y = mixed_frame(60)
    clf = AutoMetaClassifier(time_budget=10, max_evals=2, include=["faulty_raise"],
                             extra_models=[faulty.RAISES], random_state=0)
    with pytest.raises(RuntimeError, match="All 2 trials failed"):
        clf.fit(X, y)


def test_predict_time_column_checks_and_unseen_categories(mixed):
    X, y = mixed
    clf = AutoMetaClassifier(time_budget=30, max_evals=2, include=["lightgbm"],
                             random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="missing"):
        clf.predict(X.drop(columns=["b"]))
    odd = X.head(5).copy()
    odd["color"] = pd.Categorical(["purple"] * 5)
    assert clf.predict(odd).shape == (5,)
    assert clf.predict(X.head(1)).shape == (1,)


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.zeros((30, 2)), np.r_[np.zeros(29), np.nan], "missing values"),
        (np.zeros((30, 2)), np.ones(30), "only 1 class"),
        (np.zeros((5, 2)), np.arange(5) % 2, "at least 10 rows"),
        (np.zeros((30, 2)), np.arange(20) % 2, "inconsistent numbers"),
        (np.zeros(30), np.arange(30) % 2, "2D"),
    ],
)
def test_bad_training_input(X, y, message):
    with pytest.raises(ValueError, match=message):
        AutoMetaClassifier(time_budget=5).fit(X, y)


def test_unknown_metric_and_family_are_reported():
    X, y = mixed_frame(60)
    with pytest.raises(ValueError, match="Unknown metric"):
        AutoMetaClassifier(time_budget=5, metric="nope").fit(X, y)
    with pytest.raises(ValueError, match="Unknown model families"):
        AutoMetaClassifier(time_budget=5, include=["gbm"]).fit(X, y)
