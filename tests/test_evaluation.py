"""How the validation scheme is chosen from the data size and the time budget."""

import numpy as np
import pandas as pd
import pytest

from autometa.components import registry
from autometa.evaluation import (
    HOLDOUT_FRACTION,
    SEARCH_TRAIN_RANGE,
    WIDER_SEARCH,
    TaskData,
    choose_resampling,
    evaluate,
    make_splits,
    search_rows,
)
from autometa.space import family_default
from autometa.table import Table
from tests.conftest import task_data


@pytest.mark.parametrize("n_rows, budget, n_classes, expected", [
    (500, 10, None, ("cv", 5, 3)),  # tiny regression and binary tasks repeat their folds
    (500, 10, 2, ("cv", 5, 3)),
    (500, None, 3, ("cv", 5, 1)),  # ... multiclass ones do not
    (501, None, None, ("cv", 5, 1)),
    (2_000, 60, 2, ("cv", 5, 1)),
    (2_000, 30, None, ("cv", 3, 1)),  # a short budget cannot afford 5 folds
    (5_000, 600, 2, ("cv", 3, 1)),
    (20_001, 30, None, ("holdout", 1, 1)),
])
def test_auto_resampling_depends_on_rows_budget_and_classes(n_rows, budget, n_classes, expected):
    assert choose_resampling("auto", n_rows, budget, n_classes) == expected


@pytest.mark.parametrize("strategy, expected", [
    ("cv", ("cv", 5, 1)), ("holdout", ("holdout", 1, 1)), (4, ("cv", 4, 1)),
    ("repeated_cv", ("cv", 5, 3)),
])
def test_explicit_resampling_ignores_size_and_budget(strategy, expected):
    assert choose_resampling(strategy, 100, 10) == expected


@pytest.mark.parametrize("strategy", ["kfold", 1, True, 2.5])
def test_invalid_resampling_says_what_is_accepted(strategy):
    with pytest.raises(ValueError, match="'auto', 'holdout', 'cv', 'repeated_cv' or an int"):
        choose_resampling(strategy, 100)


def test_a_large_holdout_keeps_wider_training_rows_that_a_one_fidelity_search_cuts():
    rng = np.random.default_rng(0)
    n = 80_000
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    table = Table.from_raw(X, (X["a"] > 0).astype(int).to_numpy(), "classification")
    data = TaskData.from_table(table, budget=10, seed=0)  # holdout; searches on 10,000 rows
    (train, val), = data.splits
    assert data.search_cap == 10_000 and len(val) == 2_500
    assert len(train) == min(n - round(HOLDOUT_FRACTION * n), WIDER_SEARCH * 10_000)
    assert data.full_rows > data.search_cap and not set(train) & set(val)
    cut = data.capped(seed=0)
    (small, small_val), = cut.splits
    assert len(small) == 10_000 and set(small) <= set(train)
    np.testing.assert_array_equal(small_val, val)
    np.testing.assert_array_equal(small, data.capped(seed=0).splits[0][0])
    assert cut.full_rows == cut.search_cap and cut.capped(seed=1) is cut
    assert len(data.capped(seed=0, rows=30_000).splits[0][0]) == 30_000
    cv = TaskData.from_table(table, resampling="cv", budget=10, seed=0)
    assert cv.search_cap is None and cv.capped(seed=0) is cv


def test_search_rows_grow_with_the_budget_within_bounds():
    assert search_rows(None) == SEARCH_TRAIN_RANGE[1]
    assert search_rows(1) == SEARCH_TRAIN_RANGE[0]
    assert search_rows(100) == 20_000
    assert search_rows(10**6) == SEARCH_TRAIN_RANGE[1]


def test_repeated_cv_validates_every_row_once_per_repeat():
    y = np.array([0, 1] * 30)
    splits = make_splits(y, "classification", "cv", 5, seed=0, n_repeats=3)
    assert len(splits) == 15
    counts = np.bincount(np.concatenate([va for _, va in splits]), minlength=60)
    assert (counts == 3).all()
    assert all(len(np.intersect1d(tr, va)) == 0 for tr, va in splits)
    assert not np.array_equal(splits[0][1], splits[5][1])  # another shuffle


def test_trials_report_the_spread_of_their_split_losses():
    from sklearn.datasets import make_classification

    X, y = make_classification(120, 5, random_state=0)
    config = family_default(registry()["linear"], "classification")
    cv = evaluate(config, task_data(X, y, resampling=("cv", 4)), seed=0)
    holdout = evaluate(config, task_data(X, y, resampling=("holdout", 1)), seed=0)
    assert cv.loss_std > 0 and holdout.loss_std is None
    repeated = task_data(X, y, resampling=("cv", 4, 2))
    assert len(repeated.val_index) == 240 and evaluate(config, repeated, seed=0).loss_std > 0


@pytest.mark.slow
def test_a_fit_with_repeated_cv():
    from sklearn.datasets import make_classification

    from autometa import AutoMetaClassifier

    X, y = make_classification(200, 6, random_state=1)
    model = AutoMetaClassifier(time_budget=20, max_evals=3, resampling="repeated_cv",
                               include=["linear", "hist_gradient_boosting"],
                               random_state=0).fit(X, y)
    board = model.leaderboard()
    assert board["score_std"].notna().all() and model.score(X, y) > 0.8
