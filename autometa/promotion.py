"""Which of successive halving's promotions are run.

SMAC's intensifier promotes the best third of each bracket's rung to three times the
rows. A promotion whose configuration's trials on fewer rows say it could not finish in
the seconds it may run (the trial limit, or the search's end) is not run
(:func:`unaffordable`); the search records it as ``skipped`` and tells SMAC it failed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from autometa.records import Trial, expected_seconds
from autometa.space import ROOT

# How fast a family's trial time grows with its training rows, at the least (a power of
# the rows), to judge a promotion from one trial on fewer rows. Forests (exact splits)
# and kNN (each validation row against every training row) grow about linearly; the
# histogram boosters much more slowly at tens of thousands of rows (XGBoost 0.54 from
# 8,000 to 24,000 rows of benchmarks/bench_large.py), and 0.5 is the floor for the rest.
SCALING = {"random_forest": 1.0, "extra_trees": 1.0, "knn": 1.0}
SCALING_ELSE = 0.5


def unaffordable(config: Mapping[str, Any], rows: int, trials: Sequence[Trial],
                 seconds: float) -> str:
    """Why a promotion of ``config`` to ``rows`` rows is not run (empty: it is): its trials
    on fewer rows say it would need more than the ``seconds`` it may have, even if its
    time grows as slowly as :data:`SCALING` says for its family (a best configuration is
    not to be left out on a pessimistic estimate)."""
    power = SCALING.get(str(config[ROOT]), SCALING_ELSE)
    expected = expected_seconds(config, rows, trials, power)
    if expected is None or expected <= seconds:
        return ""
    return (f"not promoted: expected to take {expected:.1f} s on {rows} rows (from its "
            f"trials on fewer), more than the {max(seconds, 0.0):.1f} s it may run")
