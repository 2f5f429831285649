"""Which of successive halving's promotions are run.

SMAC's intensifier promotes the best third of each bracket's rung to three times the
rows. A promotion whose configuration's trials on fewer rows say it could not finish in
the seconds it may run (the trial limit, or the search's end) is not run
(:func:`unaffordable`); the search records it as ``skipped`` and tells SMAC it failed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from autometa.records import Trial, config_key, expected_seconds, fidelity_level
from autometa.space import ROOT

# How fast a family's trial time grows with its training rows, at the least (a power of
# the rows), to judge a promotion from one trial on fewer rows. Forests (exact splits)
# and kNN (each validation row against every training row) grow about linearly; the
# histogram boosters much more slowly at tens of thousands of rows (XGBoost 0.54 from
# 8,000 to 24,000 rows of benchmarks/bench_large.py), and 0.5 is the floor for the rest.
SCALING = {"random_forest": 1.0, "extra_trees": 1.0, "knn": 1.0}
SCALING_ELSE = 0.5


def unaffordable(config: Mapping[str, Any], rows: int, trials: Sequence[Trial],
                 seconds: float, trees: float = 1.0) -> str:
    """Why a promotion of ``config`` to ``rows`` rows is not run (empty: it is): its trials
    on fewer rows say it would need more than the ``seconds`` it may have, even if its
    time grows as slowly as :data:`SCALING` says for its family (a best configuration is
    not to be left out on a pessimistic estimate), training ``trees`` of its trees (see
    :func:`autometa.fidelity.tree_share`)."""
    expected = _expected(config, rows, trials, trees)
    if expected is None or expected <= seconds:
        return ""
    return (f"not promoted: expected to take {expected:.1f} s on {rows} rows (from its "
            f"trials on fewer), more than the {max(seconds, 0.0):.1f} s it may run")


def outranked(config: Mapping[str, Any], rows: int, trials: Sequence[Trial],
              seconds: float, family_seconds: float | None = None, trees: float = 1.0) -> str:
    """Why a slow promotion of ``config`` to ``rows`` rows is not run (empty: it is):
    expected (as :func:`unaffordable` judges) to take more than ``seconds`` while another
    configuration scored better on the rows ``config`` was last trained on, unless it is
    its family's best there and expected to take at most ``family_seconds`` (default:
    ``seconds``); ``trees`` as for :func:`unaffordable`.

    Successive halving promotes the best third of a rung whatever each promotion costs;
    on a large table a slow one among them (a forest, say) takes the time of many cheap
    trials, which is worth it for the rung's best configuration, and within a bound for
    each family's best: the ensemble gains from another family's best even where one
    family leads the rung (a regression table's linear models, say, whose blend with
    trees scores better).
    """
    expected = _expected(config, rows, trials, trees)
    if expected is None or expected <= seconds:
        return ""
    family_seconds = seconds if family_seconds is None else family_seconds
    key, family = config_key(config), str(config[ROOT])
    own = [t for t in trials if t.ok and fidelity_level(t.fidelity) < rows and
           config_key(t.config) == key]
    if not own:
        return ""
    last = max(own, key=lambda t: fidelity_level(t.fidelity))
    rung = [t for t in trials if t.ok and t.fidelity == last.fidelity]
    kin = [t.loss for t in rung if t.family == family]
    if last.loss <= min(t.loss for t in rung) or \
            (last.loss <= min(kin) and expected <= family_seconds):
        return ""
    place = sum(t.loss < last.loss for t in rung) + 1
    return (f"not promoted: expected to take {expected:.1f} s on {rows} rows, more than "
            f"the {seconds:.1f} s a promotion may take ({family_seconds:.1f} s for its "
            f"family's best) unless its configuration is the best on {last.fidelity} rows "
            f"(it is {place} of {len(rung)}, of its family "
            f"{sum(loss < last.loss for loss in kin) + 1} of {len(kin)})")


def _expected(config: Mapping[str, Any], rows: int, trials: Sequence[Trial],
              trees: float = 1.0) -> float | None:
    """Seconds of a trial of ``config`` on ``rows`` rows and ``trees`` of its trees from
    its trials on fewer, its time growing as :data:`SCALING` says for its family."""
    expected = expected_seconds(config, rows, trials,
                                SCALING.get(str(config[ROOT]), SCALING_ELSE))
    return None if expected is None else expected * trees
