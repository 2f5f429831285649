"""Which promotions of successive halving run: the affordability and rank rules alone (in a
search, see tests/test_multifidelity.py)."""

from __future__ import annotations

from autometa.promotion import outranked, unaffordable
from autometa.records import Trial

FAST = {"model": "linear", "linear:C": 1.0}
SLOW = {"model": "knn", "knn:n_neighbors": 5}


def trial(config: dict, rows: int, seconds: float, loss: float = 0.5) -> Trial:
    return Trial(0, config["model"], config, "smac", "ok", loss, None, None, seconds,
                 fidelity=rows)


TRIALS = [trial(FAST, 100, 0.1), trial(FAST, 300, 0.3), trial(SLOW, 100, 10.0)]


def test_a_promotion_that_would_outlast_its_time_is_not_run():
    assert unaffordable(SLOW, 300, TRIALS, seconds=60.0) == ""
    assert unaffordable(SLOW, 300, TRIALS, seconds=20.0).startswith(
        "not promoted: expected to take 30.0 s")  # k-NN: linear in the rows
    # two trials: along the line through them, 0.3 s + 600 rows x 0.001 s
    assert unaffordable(FAST, 900, TRIALS, seconds=1.0) == ""
    assert "0.9 s on 900 rows" in unaffordable(FAST, 900, TRIALS, seconds=0.8)
    assert unaffordable(SLOW, 300, [], seconds=0.0) == ""  # nothing to judge it from


def test_a_slow_promotion_runs_for_the_rungs_best_and_within_a_bound_for_a_familys_best():
    slower = {"model": "knn", "knn:n_neighbors": 9}
    behind = [trial(FAST, 100, 0.1, loss=0.2), trial(SLOW, 100, 10.0, loss=0.3),
              trial(slower, 100, 10.0, loss=0.35)]  # 30 s expected on 300 rows
    why = outranked(SLOW, 300, behind, seconds=5.0)
    assert why.startswith("not promoted: expected to take 30.0 s on 300 rows")
    assert "best on 100 rows (it is 2 of 3, of its family 1 of 2)" in why
    assert outranked(SLOW, 300, behind, seconds=5.0, family_seconds=30.0) == ""
    assert "of its family 2 of 2" in outranked(slower, 300, behind, 5.0, family_seconds=60.0)
    assert outranked(slower, 300, behind, seconds=60.0) == ""  # not slow: rank is no matter
    assert outranked(FAST, 300, behind, seconds=0.0, family_seconds=0.0) == ""  # the best
    ahead = [*behind[:2], trial(slower, 100, 10.0, loss=0.1)]
    assert outranked(slower, 300, ahead, seconds=5.0, family_seconds=5.0) == ""
    # judged on the rung it comes from: behind on 100 rows, best of the 300-row rung
    climbed = [*behind, trial(slower, 300, 30.0, loss=0.1), trial(FAST, 300, 0.3, loss=0.2)]
    assert outranked(slower, 900, climbed, seconds=5.0) == ""
    assert outranked(slower, 300, [], seconds=0.0) == ""  # nothing to judge it from
