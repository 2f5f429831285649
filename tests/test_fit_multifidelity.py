"""Real fits with multi-fidelity search (successive halving over training rows)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression

from autometa import AutoMetaClassifier, AutoMetaRegressor


def classification(n: int, seed: int = 0):
    X, y = make_classification(n, 12, n_informative=6, random_state=seed)
    return pd.DataFrame(X, columns=[f"c{i}" for i in range(12)]), y


def test_fidelity_full_and_auto_on_small_data_give_the_same_fit():
    X, y = classification(600)
    boards = []
    for fidelity in ("full", "auto"):
        clf = AutoMetaClassifier(time_budget=120, max_evals=4, fidelity=fidelity,
                                 random_state=0, include=["linear", "lightgbm"])
        clf.fit(X, y)
        boards.append(clf.leaderboard())
    full, auto = boards
    assert list(full["config"]) == list(auto["config"])
    np.testing.assert_allclose(full["score"], auto["score"])
    assert full["fidelity"].nunique() == 1 and not full["promoted"].any()
    assert full["fidelity"].iloc[0] == 480  # 5-fold CV on 600 rows: all training rows


def test_bad_fidelity_parameters_are_refused():
    X, y = classification(100)
    with pytest.raises(ValueError, match="fidelity"):
        AutoMetaClassifier(fidelity="bohb").fit(X, y)
    with pytest.raises(ValueError, match="proxy_subsets"):
        AutoMetaClassifier(proxy_subsets="uniform").fit(X, y)


def test_successive_halving_in_parallel_and_continued_with_warm_start():
    X, y = classification(6000)
    # max_evals ends the fits (the budget is only there for a busy machine)
    clf = AutoMetaClassifier(time_budget=90, max_evals=8, fidelity="successive_halving",
                             n_jobs=2, warm_start=True, random_state=0,
                             include=["linear", "lightgbm"], proxy_subsets="boundary")
    clf.fit(X, y)
    first = clf.leaderboard()
    assert first["fidelity"].nunique() >= 2 and first["promoted"].any()
    weighted = first[first["ensemble_weight"] > 0]
    assert (weighted["fidelity"] == first["fidelity"].max()).all()
    clf.fit(X, y)
    second = clf.leaderboard()
    assert len(second) == len(first) + 8
    assert set(first["trial"]) <= set(second["trial"])
    assert clf.score(X, y) > 0.8


def test_a_regression_with_random_subsets():
    X, y = make_regression(4000, 8, noise=5.0, random_state=0)
    reg = AutoMetaRegressor(time_budget=90, max_evals=8, fidelity="hyperband", random_state=0,
                            include=["linear", "lightgbm"], target_transform="none")
    reg.fit(X, y)
    board = reg.leaderboard()
    assert board["fidelity"].nunique() >= 2
    assert reg.score(X, y) > 0.5


@pytest.mark.slow
def test_a_fit_on_20k_rows_searches_over_several_fidelities():
    X, y = classification(20_000, seed=1)
    clf = AutoMetaClassifier(time_budget=60, fidelity="successive_halving", random_state=0)
    clf.fit(X[:16_000], y[:16_000])
    board = clf.leaderboard()
    ok = board[board["status"] == "ok"]
    assert ok["fidelity"].nunique() >= 2
    assert ok["fidelity"].max() <= 10_667  # 3-fold CV on 16,000 rows
    assert ok["promoted"].any()
    lower = ok[ok["fidelity"] < ok["fidelity"].max()]  # forests there train a third of
    # their trees (at least 16), boosters too unless their learning rate is high; all of
    # them on the highest rung
    forests = lower["family"].isin(["random_forest", "extra_trees"])
    assert forests.any() and (lower.loc[forests, "trees"] < 0.6).all()
    assert (lower["trees"] < 1).sum() > forests.sum()  # boosters
    assert (lower.loc[lower["family"].isin(["linear", "knn", "mlp"]), "trees"] == 1).all()
    assert (ok.loc[ok["fidelity"] == ok["fidelity"].max(), "trees"] == 1).all()
    # members: trials of the highest fidelity, or of configurations whose promotion was
    # skipped as too slow
    skipped = {json.dumps(c, sort_keys=True) for c in board.loc[board["status"] == "skipped",
                                                                "config"]}
    members = board[board["ensemble_weight"] > 0]
    assert all(row.fidelity == ok["fidelity"].max() or json.dumps(row.config, sort_keys=True)
               in skipped for row in members.itertuples())
    assert clf.score(X[16_000:], y[16_000:]) > 0.85


def test_a_large_holdout_searches_over_fidelities_up_to_more_rows_than_its_cap():
    X, y = classification(30_000, seed=2)  # a holdout of 24,000 training rows
    # max_evals ends the fit (the budget is only there for a busy machine)
    clf = AutoMetaClassifier(time_budget=60, max_evals=10, random_state=0,
                             include=["linear", "lightgbm"])
    clf.fit(X[:28_000], y[:28_000])
    ok = clf.leaderboard().query("status == 'ok'")
    assert ok["fidelity"].nunique() >= 2  # fidelity="auto" switched successive halving on
    assert ok["fidelity"].max() > 12_000  # the one-fidelity search's cap at 60 s
    assert clf.score(X[28_000:], y[28_000:]) > 0.85
