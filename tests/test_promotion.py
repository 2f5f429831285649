"""Which promotions of successive halving run: the affordability rule alone (in a search,
see tests/test_multifidelity.py)."""

from __future__ import annotations

from autometa.promotion import unaffordable
from autometa.records import Trial

FAST = {"model": "linear", "linear:C": 1.0}
SLOW = {"model": "knn", "knn:n_neighbors": 5}


def trial(config: dict, rows: int, seconds: float) -> Trial:
    return Trial(0, config["model"], config, "smac", "ok", 0.5, None, None, seconds,
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
