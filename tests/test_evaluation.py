"""How the validation scheme is chosen from the data size and the time budget."""

import pytest

from autometa.evaluation import SEARCH_TRAIN_RANGE, choose_resampling, search_rows


@pytest.mark.parametrize("n_rows, budget, expected", [
    (500, None, ("cv", 5)),
    (2_000, 60, ("cv", 5)),
    (2_000, 30, ("cv", 3)),  # a short budget cannot afford 5 folds
    (5_000, 600, ("cv", 3)),
    (20_001, 30, ("holdout", 1)),
])
def test_auto_resampling_depends_on_rows_and_budget(n_rows, budget, expected):
    assert choose_resampling("auto", n_rows, budget) == expected


@pytest.mark.parametrize("strategy, expected", [
    ("cv", ("cv", 5)), ("holdout", ("holdout", 1)), (4, ("cv", 4)),
])
def test_explicit_resampling_ignores_size_and_budget(strategy, expected):
    assert choose_resampling(strategy, 100, 10) == expected


@pytest.mark.parametrize("strategy", ["kfold", 1, True, 2.5])
def test_invalid_resampling_says_what_is_accepted(strategy):
    with pytest.raises(ValueError, match="'auto', 'holdout', 'cv' or an int >= 2"):
        choose_resampling(strategy, 100)


def test_search_rows_grow_with_the_budget_within_bounds():
    assert search_rows(None) == SEARCH_TRAIN_RANGE[1]
    assert search_rows(1) == SEARCH_TRAIN_RANGE[0]
    assert search_rows(100) == 20_000
    assert search_rows(10**6) == SEARCH_TRAIN_RANGE[1]
