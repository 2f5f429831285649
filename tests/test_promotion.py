"""Which promotions of successive halving run: the rules alone, then in a real SMAC search
on a fake executor."""

from __future__ import annotations

import pytest

from autometa.promotion import GAIN_MARGIN, behind, largest_gain, unaffordable
from autometa.records import SKIPPED, Trial
from tests.fakes import FakeExecutor, outcome
from tests.test_multifidelity import FULL, quality, search

FAST = {"model": "linear", "linear:C": 1.0}
SLOW = {"model": "knn", "knn:n_neighbors": 5}
MIDDLE = {"model": "knn", "knn:n_neighbors": 9}


def trial(config: dict, rows: int, loss: float, seconds: float, status: str = "ok") -> Trial:
    return Trial(0, config["model"], config, "smac", status, loss, None, None, seconds,
                 fidelity=rows)


# FAST gained 0.1 from 100 to 300 rows; SLOW and MIDDLE are on 100 rows, at 10 s
TRIALS = [trial(FAST, 100, 0.5, 0.1), trial(FAST, 300, 0.4, 0.3), trial(SLOW, 100, 0.8, 10.0),
          trial(MIDDLE, 100, 0.54, 10.0)]


def test_the_largest_gain_is_over_consecutive_fidelities_of_one_configuration():
    assert largest_gain(TRIALS) == pytest.approx(0.1)
    assert largest_gain(TRIALS[2:]) is None  # no configuration on two fidelities
    worse = [trial(SLOW, 100, 0.3, 1.0), trial(SLOW, 300, 0.35, 3.0)]
    assert largest_gain(worse) == pytest.approx(-0.05)


def test_a_slow_promotion_that_cannot_catch_up_with_the_best_is_not_run():
    why = behind(SLOW, 300, TRIALS, cheap=1.0)  # 0.8 - 1.5 x 0.1 > 0.4, 30 s at least
    assert why.startswith("not promoted: behind") and "30.0 s" in why
    assert 0.54 - GAIN_MARGIN * 0.1 <= 0.4
    assert behind(MIDDLE, 300, TRIALS, cheap=1.0) == ""  # it may catch up
    assert behind(SLOW, 300, TRIALS, cheap=60.0) == ""  # cheap enough to run anyway
    assert behind(SLOW, 900, TRIALS, cheap=1.0) == ""  # nothing measured on 900 rows yet
    assert behind(SLOW, 300, TRIALS[2:], cheap=1.0) == ""  # no gain measured yet
    failed = [*TRIALS[:1], trial(FAST, 300, 0.0, 0.3, "error"), *TRIALS[2:]]
    assert behind(SLOW, 300, failed, cheap=1.0) == ""  # failures measure nothing


def test_a_promotion_that_would_outlast_its_time_is_not_run():
    assert unaffordable(SLOW, 300, TRIALS, seconds=60.0) == ""
    assert unaffordable(SLOW, 300, TRIALS, seconds=20.0).startswith(
        "not promoted: expected to take 30.0 s")  # k-NN: linear in the rows
    # two trials: along the line through them, 0.3 s + 600 rows x 0.001 s
    assert unaffordable(FAST, 900, TRIALS, seconds=1.0) == ""
    assert "0.9 s on 900 rows" in unaffordable(FAST, 900, TRIALS, seconds=0.8)


PER_ROW = {"linear": 1e-4, "knn": 1e-2}


def by_family(job):
    """Loss: the configuration's quality plus a penalty shrinking with the rows; seconds:
    its family's per row."""
    rows = job.run.rows or FULL
    config = job.run.config
    return "ok", outcome(quality(config) + 10.0 / rows), PER_ROW[config["model"]] * rows


def test_in_a_search_slow_promotions_that_are_behind_are_skipped_and_cheap_ones_run():
    state = search(FakeExecutor(by_family), max_evals=40, promotion_seconds=0.5)
    skipped = [t for t in state.trials if t.status == SKIPPED]
    assert skipped, "no promotion was behind"
    for t in skipped:
        before = state.trials[:t.id]
        assert t.error.startswith("not promoted: behind") and t.family == "knn"
        assert behind(t.config, t.fidelity, before, 0.5)
    promoted = [t for t in state.trials if t.promoted and t.ok]
    assert any(t.family == "linear" and behind(t.config, t.fidelity, state.trials[:t.id], 0.0)
               for t in promoted)  # behind, but cheaper than 0.5 s: run
    assert state.finalists  # the search still ends with trials to ensemble
    unlimited = search(FakeExecutor(by_family), max_evals=40)
    assert not any(t.status == SKIPPED for t in unlimited.trials)
