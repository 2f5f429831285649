"""The fit plan's budget rules: the reserve kept back for selecting and refitting."""

from __future__ import annotations

import pytest

from autometa.plan import MAX_RESERVE_SHARE, FitPlan, reserve_floor


@pytest.mark.parametrize(("budget", "floor"), [(10, 1.0), (60, 6.0), (120, 7.8), (300, 13.2),
                                              (3600, 112.2)])
def test_the_reserve_floor_is_a_tenth_of_the_first_minute_and_3_percent_beyond(budget, floor):
    assert reserve_floor(budget) == pytest.approx(floor)


def test_the_reserve_floor_grows_with_the_budget_and_never_exceeds_a_tenth_of_it():
    budgets = [1, 5, 30, 59.9, 60, 60.1, 200, 1000, 10_000]
    floors = [reserve_floor(b) for b in budgets]
    assert floors == sorted(floors)
    assert all(f <= 0.1 * b + 1e-12 for f, b in zip(floors, budgets, strict=True))


def test_a_fit_without_trials_keeps_the_floor_within_the_largest_share():
    for budget in (10, 300):
        plan = FitPlan.create(budget, 1000, seed=0)
        reserve = plan.reserve([], data=None)
        assert reserve == pytest.approx(max(reserve_floor(budget), 1.0))
        assert reserve <= MAX_RESERVE_SHARE * budget


def test_a_refit_longer_than_the_budget_reserves_half_of_it():
    from types import SimpleNamespace

    import numpy as np

    from autometa.records import Trial

    rows = 500_000
    data = SimpleNamespace(splits=[(np.arange(rows - 1000), np.arange(1000))],
                           y=np.zeros(rows))
    # 8 s on 8,000 rows of a 500,000-row table: a refit on all rows takes minutes
    slow = Trial(0, "xgboost", {"model": "xgboost"}, "portfolio", "ok", 0.1, None, None, 8.0,
                 fidelity=8000)
    plan = FitPlan.create(120, rows, seed=0)
    assert plan.reserve([slow], data) == pytest.approx(MAX_RESERVE_SHARE * 120) == 60.0
