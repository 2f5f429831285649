"""Expected time of configurations not run yet, to screen the optimiser's proposals.

SMAC proposes configurations by their expected loss alone. Under successive halving
on a large table a single proposal (a random forest of many deep trees, say) can take a
fifth of the budget on the lowest rung, time the cheap trials of a whole bracket would
have used. :class:`CostModel` foretells a proposal's time before it runs:

* the *prior* is the portfolio's measured seconds per training row of its candidates on
  the corpus's tasks, learned over the candidates' configuration vectors by a small
  random forest, so a proposal's own hyperparameters (number of trees, share of features,
  iterations) count, not only its family;
* the search's own trials *calibrate* it: the median ratio of their wall time to the
  prior's, over the trials of the proposal's family where it has some, else over all
  (a trial that timed out counts at its wall time, a lower bound). This table's width,
  its categories and this machine's speed are all in that ratio.

The prior also weighs SMAC's acquisition (:mod:`autometa.acquisition`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ConfigSpace import ConfigurationSpace
from sklearn.ensemble import RandomForestRegressor

from autometa.records import Trial, config_key
from autometa.space import ROOT, configuration

N_TREES = 50  # trees of the prior's forest
MIN_CANDIDATES = 5  # fewer timed candidates: no prior, proposals are not screened
INACTIVE = -1.0  # vector value of an inactive hyperparameter
TIMED = ("ok", "timeout")  # statuses whose wall time calibrates the prior


class CostModel:
    """Expected seconds of a trial of a configuration on a number of training rows.

    Parameters
    ----------
    space : ConfigurationSpace
        The search space; candidates not valid in it are left out.
    configs : sequence of dict
        The portfolio's candidates.
    seconds_per_row : array-like
        Each candidate's expected seconds per training row of a trial (NaN: never timed).
    seed : int
        The prior forest's seed.
    """

    def __init__(self, space: ConfigurationSpace, configs: Sequence[Mapping[str, Any]],
                 seconds_per_row: Sequence[float], seed: int = 0) -> None:
        self.space = space
        self._vectors: dict[str, np.ndarray | None] = {}
        timed = [(vector, t) for c, t in zip(configs, seconds_per_row, strict=True)
                 if np.isfinite(t) and t > 0 and (vector := self._vector(c)) is not None]
        self.forest = None
        if len(timed) >= MIN_CANDIDATES:
            X, y = filled(np.array([v for v, _ in timed])), np.log([t for _, t in timed])
            self.forest = RandomForestRegressor(N_TREES, random_state=seed).fit(X, y)

    @property
    def ready(self) -> bool:
        """Whether there is a prior (enough timed candidates in the space)."""
        return self.forest is not None

    def prior(self, configs: Sequence[Mapping[str, Any]], rows: Sequence[float]
              ) -> np.ndarray:
        """The prior's seconds of each configuration on its training rows (NaN for a
        configuration not in the space)."""
        vectors = [self._vector(c) for c in configs]
        known = [i for i, v in enumerate(vectors) if v is not None]
        seconds = np.full(len(configs), np.nan)
        if self.forest is not None and known:
            per_row = self.per_row(np.array([vectors[i] for i in known]))
            seconds[known] = per_row * np.asarray(rows, dtype=float)[known]
        return seconds

    def per_row(self, vectors: np.ndarray) -> np.ndarray:
        """The prior's seconds per training row of configurations given as ConfigSpace
        vectors (inactive values NaN or :data:`INACTIVE`); needs :attr:`ready`."""
        return np.exp(self.forest.predict(filled(vectors)))

    def seconds(self, config: Mapping[str, Any], rows: int, trials: Sequence[Trial]
                ) -> float | None:
        """Expected wall time of a trial of ``config`` on ``rows`` training rows per split
        (on all its trees), the prior calibrated on ``trials`` (``None`` without a prior)."""
        if self.forest is None:
            return None
        expected = self.prior([config], [rows])[0]
        if not np.isfinite(expected):
            return None
        return float(expected * self.calibration(str(config[ROOT]), trials))

    def calibration(self, family: str, trials: Sequence[Trial]) -> float:
        """Median of measured over prior time: over ``family``'s timed trials when it has
        some, else over all; 1 without any."""
        timed = [t for t in trials if t.status in TIMED and t.fidelity and t.wall_time > 0]
        if not timed:
            return 1.0
        prior = self.prior([t.config for t in timed], [t.fidelity for t in timed])
        ratios = np.array([t.all_trees_seconds for t in timed]) / prior
        same = np.array([t.family == family for t in timed]) & np.isfinite(ratios)
        chosen = ratios[same] if same.any() else ratios[np.isfinite(ratios)]
        return float(np.median(chosen)) if len(chosen) else 1.0

    def _vector(self, config: Mapping[str, Any]) -> np.ndarray | None:
        """``config``'s ConfigSpace vector, inactive values NaN (``None`` when it is not a
        valid configuration of the space); each computed once."""
        key = config_key(config)
        if key not in self._vectors:
            try:
                self._vectors[key] = configuration(self.space, config).get_array()
            except Exception:  # ConfigSpace raises ValueError and its own errors
                self._vectors[key] = None
        return self._vectors[key]


def filled(vectors: np.ndarray) -> np.ndarray:
    """ConfigSpace vectors with their inactive (NaN) values set to :data:`INACTIVE`."""
    return np.where(np.isnan(vectors), INACTIVE, vectors)
