"""Proxy subsets (row orderings) and the choice of the rungs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from autometa.components import registry
from autometa.evaluation import Evaluation, TaskData, evaluate, make_splits
from autometa.fidelity import (
    AUTO_SHARE,
    BRACKET_SHARE,
    LOWEST_RUNG_SHARE,
    MIN_ROWS,
    MIN_TREES,
    PER_CLASS,
    choose_rungs,
    row_floor,
    split_orders,
    tree_share,
    with_trees,
)
from autometa.metrics import resolve_metric
from autometa.search import MultiFidelity
from autometa.space import family_default


def table(n: int = 6000, seed: int = 0, rare: int = 12):
    """A binary task decided by the sign of x0 (plus a rare third class), one categorical
    column with missing values."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=[f"f{i}" for i in range(4)])
    X["f4"] = pd.Categorical(rng.choice(["a", "b", None], n))
    y = (X["f0"] + 0.3 * rng.normal(size=n) > 0).astype(int).to_numpy().copy()
    y[rng.choice(n, rare, replace=False)] = 2
    return X, y


@pytest.mark.parametrize("kind", ["random", "boundary"])
def test_orderings_permute_each_splits_training_rows_and_keep_every_class_early(kind):
    X, y = table()
    splits = make_splits(y, "classification", "cv", 3, seed=0)
    orders = split_orders(X, y, "classification", splits, kind, seed=0)
    for (train, val), order in zip(splits, orders, strict=True):
        assert np.array_equal(np.sort(order), np.sort(train))  # a permutation of train
        assert not np.isin(order, val).any()
        floor = row_floor(y[train], "classification")
        assert floor == MIN_ROWS
        head = order[: 3 * PER_CLASS]  # every class, the rare one too, at the head
        assert set(y[head]) == {0, 1, 2}
        assert set(y[order[:floor]]) == {0, 1, 2}


def test_random_prefixes_keep_the_class_shares():
    X, y = table(rare=0)
    splits = make_splits(y, "classification", "holdout", 1, seed=0)
    (order,) = split_orders(X, y, "classification", splits, "random", seed=1)
    share = y[splits[0][0]].mean()
    for size in (100, 500, 1500):
        assert abs(y[order[:size]].mean() - share) < 0.02


def test_orderings_are_seeded_and_subsets_nested():
    X, y = table()
    splits = make_splits(y, "classification", "cv", 3, seed=0)
    a = split_orders(X, y, "classification", splits, "boundary", seed=3)
    b = split_orders(X, y, "classification", splits, "boundary", seed=3)
    c = split_orders(X, y, "classification", splits, "boundary", seed=4)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    data = TaskData(X, y, "classification", 3, splits, resolve_metric(None, "classification", 3),
                    registry(), orders=a)
    small, large = data.train_rows(0, 700), data.train_rows(0, 2100)
    assert len(small) == 700 and np.isin(small, large).all()
    assert np.array_equal(data.train_rows(0, None), splits[0][0])


def test_boundary_rows_are_the_uncertain_ones():
    X, y = table(n=8000, rare=0)
    splits = make_splits(y, "classification", "holdout", 1, seed=0)
    (boundary,) = split_orders(X, y, "classification", splits, "boundary", seed=0)
    (random,) = split_orders(X, y, "classification", splits, "random", seed=0)
    size = 800
    distance_boundary = np.abs(X["f0"].to_numpy()[boundary[:size]]).mean()
    distance_random = np.abs(X["f0"].to_numpy()[random[:size]]).mean()
    assert distance_boundary < 0.6 * distance_random  # nearer the decision boundary x0 = 0
    assert 0.3 < y[boundary[:size]].mean() < 0.7  # both classes kept


def test_regression_boundary_rows_have_large_residuals_and_every_decile():
    rng = np.random.default_rng(0)
    n = 6000
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["f0", "f1", "f2"])
    noisy = rng.random(n) < 0.1
    y = X["f0"].to_numpy() + np.where(noisy, 3.0, 0.05) * rng.normal(size=n)
    splits = make_splits(y, "regression", "holdout", 1, seed=0)
    (order,) = split_orders(X, y, "regression", splits, "boundary", seed=0)
    first = order[:600]
    assert noisy[first].mean() > 3 * noisy[splits[0][0]].mean()
    deciles = np.quantile(y[splits[0][0]], np.linspace(0.1, 0.9, 9))
    assert len(np.unique(np.searchsorted(deciles, y[first]))) == 10


def test_a_lower_fidelity_trains_on_fewer_rows_and_validates_on_the_same_rows():
    X, y = table(rare=0)
    X = X.drop(columns="f4")
    splits = make_splits(y, "classification", "cv", 3, seed=0)
    orders = split_orders(X, y, "classification", splits, "random", seed=0)
    data = TaskData(X, y, "classification", 2, splits, resolve_metric(None, "classification", 2),
                    registry(), orders=orders)
    config = family_default(registry()["linear"], "classification")
    low, full = evaluate(config, data, 0, rows=600), evaluate(config, data, 0)
    assert low.predictions.shape == full.predictions.shape
    assert low.loss != full.loss
    assert evaluate(config, data, 0, rows=10**9).loss == full.loss
    with pytest.raises(ValueError, match="orderings"):
        evaluate(config, TaskData(X, y, "classification", 2, splits, data.metric, registry()),
                 0, rows=600)


def test_a_forest_on_a_lower_rung_trains_a_third_of_its_trees_at_least_min_trees():
    forest = {**family_default(registry()["random_forest"], "classification"),
              "random_forest:n_estimators": 300}
    linear = family_default(registry()["linear"], "classification")
    assert tree_share(forest, 600) == pytest.approx(1 / 3)
    assert tree_share(forest, None) == 1.0  # the highest rung
    assert tree_share(linear, 600) == 1.0
    few = {**forest, "random_forest:n_estimators": 32}
    assert tree_share(few, 600) == MIN_TREES / 32
    assert with_trees(few, tree_share(few, 600))["random_forest:n_estimators"] == MIN_TREES
    assert with_trees(forest, 1.0) == forest
    xgb = {**family_default(registry()["xgboost"], "classification"),
           "xgboost:n_estimators": 900, "xgboost:learning_rate": 0.05}
    fewer = with_trees(xgb, tree_share(xgb, 600))  # the same sum of steps
    assert (fewer["xgboost:n_estimators"], fewer["xgboost:learning_rate"]) == \
        (300, pytest.approx(0.15))
    assert tree_share({**xgb, "xgboost:learning_rate": 0.2}, 600) == 1.0  # 0.6: too fast
    hgb = family_default(registry()["hist_gradient_boosting"], "classification")
    assert with_trees(hgb, tree_share(hgb, 600))["hist_gradient_boosting:max_iter"] == 33
    X, y = table(rare=0)
    X = X.drop(columns="f4")
    splits = make_splits(y, "classification", "cv", 2, seed=0)
    data = TaskData(X, y, "classification", 2, splits, resolve_metric(None, "classification", 2),
                    registry(), orders=split_orders(X, y, "classification", splits, seed=0))
    job = Evaluation(forest, 0, rows=600, trees=tree_share(forest, 600),
                     keep_models_below=np.inf)
    models = job(data).models.pipelines  # the fold models sent back
    assert [m[-1].n_estimators for m in models] == [100, 100]
    assert len(models[0][-1].estimators_) == 100


def test_unknown_ordering_and_mode_are_refused():
    X, y = table()
    with pytest.raises(ValueError, match="proxy_subsets"):
        split_orders(X, y, "classification", make_splits(y, "classification", "cv", 3, 0),
                     "uniform")
    with pytest.raises(ValueError, match="fidelity"):
        choose_rungs("bohb", 60, 10_000, 500, 3, np.array([1e-4]))


PER_ROW = np.array([2e-5, 1e-4, 5e-4, np.nan])  # seconds per training row of 4 candidates


def test_auto_switches_on_only_when_the_cheapest_full_trial_is_expensive():
    cheap_full = PER_ROW[0] * 3 * 20_000  # seconds of the cheapest candidate on all rows
    assert choose_rungs("auto", cheap_full / AUTO_SHARE * 1.1, 20_000, 500, 3, PER_ROW) is None
    rungs = choose_rungs("auto", cheap_full / AUTO_SHARE * 0.9, 20_000, 500, 3, PER_ROW)
    assert rungs is not None and rungs.intensifier == "successive_halving"
    assert choose_rungs("auto", 1.0, 20_000, 500, 3, np.array([np.nan])) is None
    assert choose_rungs("full", 1.0, 20_000, 500, 3, PER_ROW) is None


def test_the_lowest_rung_costs_a_small_share_of_the_budget_above_the_floor():
    budget = 30.0
    rungs = choose_rungs("hyperband", budget, 50_000, 500, 3, PER_ROW)
    assert rungs.intensifier == "hyperband" and rungs.rungs[-1] == 50_000
    cost = rungs.rungs[0] * 3 * np.nanmedian(PER_ROW)  # of a median candidate's trial
    assert LOWEST_RUNG_SHARE / 3**0.5 <= cost / budget <= LOWEST_RUNG_SHARE * 3**0.5
    assert choose_rungs("auto", 0.1, 900, 500, 3, PER_ROW) is None  # too few rows, silently
    forced = choose_rungs("successive_halving", 1e6, 50_000, 500, 3, PER_ROW)
    assert forced.rungs == [16_667, 50_000]  # forced: two rungs nevertheless
    tiny = choose_rungs("successive_halving", 0.01, 50_000, 2_000, 3, PER_ROW)
    assert tiny.rungs[0] >= 2_000 and len(tiny.rungs) <= 5


def test_a_large_holdout_always_searches_over_fidelities_up_to_the_rows_a_bracket_affords():
    cap, cheap = 10_000, np.array([1e-6, 2e-6, 3e-6])  # every full trial cheap
    assert choose_rungs("auto", 60, cap, 500, 1, cheap, cap=cap) is None  # not wider
    assert choose_rungs("full", 60, 8 * cap, 500, 1, cheap, cap=cap) is None
    rungs = choose_rungs("auto", 60, 8 * cap, 500, 1, cheap, cap=cap)
    assert rungs.max_rows == 8 * cap and len(rungs.rungs) >= 2  # all rows are affordable
    assert choose_rungs("auto", 60, 20 * cap, 500, 1, cheap, cap=cap).max_rows == 9 * cap
    for budget in (10.0, 60.0, 600.0):  # dearer candidates: the top shrinks with the budget
        rungs = choose_rungs("auto", budget, 20 * cap, 500, 1, PER_ROW, cap=cap)
        top, n = rungs.max_rows, len(rungs.rungs)
        assert top in (cap, 3 * cap, 9 * cap)
        assert top == cap or n * np.nanmedian(PER_ROW) * top <= BRACKET_SHARE * budget
    small = choose_rungs("auto", 10.0, 20 * cap, 500, 1, PER_ROW, cap=cap)
    large = choose_rungs("auto", 600.0, 20 * cap, 500, 1, PER_ROW, cap=cap)
    assert small.max_rows == cap and large.max_rows == 9 * cap


def test_too_few_rows_for_two_rungs_warn_and_use_all_rows():
    with pytest.warns(UserWarning, match="no room"):
        assert choose_rungs("successive_halving", 10, 900, 500, 3, PER_ROW) is None
    with pytest.raises(ValueError):
        MultiFidelity("successive_halving", 1000, 1)
