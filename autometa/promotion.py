"""Which of successive halving's promotions are run.

SMAC's intensifier promotes the best third of each bracket's rung to three times the
rows. Two kinds of promotion are not run; the search records them as ``skipped`` and
tells SMAC they failed:

* **unaffordable** (:func:`unaffordable`): the configuration's trials on fewer rows say it
  could not finish in the seconds it may run (the trial limit, or the search's end);
* **behind** (:func:`behind`): it cannot become the best on the rung it would go to. Its
  loss now, less ``GAIN_MARGIN`` times the largest gain any configuration of this search
  made from one rung to the next, is still worse than the best loss already measured
  there. Such a promotion
  is skipped only when it is expected to cost more than ``cheap`` seconds (the time of a
  typical trial on the lowest rung): on a large table, promoting slow also-rans took half
  of a search (``benchmarks/bench_large.py``: extra trees at validation ROC AUC 0.82,
  promoted for 20 s next to an XGBoost at 0.88), time that new configurations could use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
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
GAIN_MARGIN = 1.5  # a promotion may gain this multiple of the largest gain seen so far


def least_seconds(config: Mapping[str, Any], rows: int, trials: Sequence[Trial]
                  ) -> float | None:
    """The seconds a trial of ``config`` on ``rows`` rows takes at the least, from its
    trials on fewer rows growing as slowly as :data:`SCALING` says for its family
    (``None`` without such a trial)."""
    power = SCALING.get(str(config[ROOT]), SCALING_ELSE)
    return expected_seconds(config, rows, trials, power)


def unaffordable(config: Mapping[str, Any], rows: int, trials: Sequence[Trial],
                 seconds: float) -> str:
    """Why a promotion of ``config`` to ``rows`` rows is not run (empty: it is): it would
    need more than the ``seconds`` it may have, even at :func:`least_seconds` (a best
    configuration is not to be left out on a pessimistic estimate)."""
    expected = least_seconds(config, rows, trials)
    if expected is None or expected <= seconds:
        return ""
    return (f"not promoted: expected to take {expected:.1f} s on {rows} rows (from its "
            f"trials on fewer), more than the {max(seconds, 0.0):.1f} s it may run")


def behind(config: Mapping[str, Any], rows: int, trials: Sequence[Trial],
           cheap: float) -> str:
    """Why a promotion of ``config`` to ``rows`` rows is not run (empty: it is): it
    cannot become the best there (see the module), and it is expected to take more than
    ``cheap`` seconds."""
    ok = [t for t in trials if t.ok]
    key, level = config_key(config), fidelity_level(rows)
    own = [t for t in ok if config_key(t.config) == key and fidelity_level(t.fidelity) < level]
    there = [t.loss for t in ok if fidelity_level(t.fidelity) == level]
    gain = largest_gain(ok)
    if not own or not there or gain is None:
        return ""
    now = max(own, key=lambda t: fidelity_level(t.fidelity))
    best, gain = min(there), GAIN_MARGIN * max(gain, 0.0)
    if now.loss - gain <= best:
        return ""
    expected = least_seconds(config, rows, trials)
    if expected is None or expected <= cheap:
        return ""
    return (f"not promoted: behind, its loss {now.loss:.4g} on {now.fidelity} rows less "
            f"{GAIN_MARGIN:g} x the largest gain of a promotion so far ({gain:.4g}) is above "
            f"the best on {rows} rows ({best:.4g}), and it would take {expected:.1f} s at least")


def largest_gain(trials: Sequence[Trial]) -> float | None:
    """The largest decrease of a configuration's loss from one of its fidelities to the
    next among the successful ``trials`` (``None`` when no configuration has two)."""
    by_config: dict[str, list[Trial]] = {}
    for t in trials:
        by_config.setdefault(config_key(t.config), []).append(t)
    gains = []
    for runs in by_config.values():
        runs = sorted(runs, key=lambda t: fidelity_level(t.fidelity))
        gains += [low.loss - high.loss for low, high in pairwise(runs)
                  if fidelity_level(low.fidelity) < fidelity_level(high.fidelity)]
    return max(gains) if gains else None
