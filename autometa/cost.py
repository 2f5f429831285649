"""Expected time of configurations not run yet, to screen the optimiser's proposals.

SMAC proposes configurations by their expected loss alone. Under successive halving
on a large table a single proposal (a random forest of many deep trees, say) can take a
fifth of the budget on the lowest rung, time the cheap trials of a whole bracket would
have used. :class:`CostModel` foretells a proposal's time before it runs:

* the *prior* is the portfolio's measured seconds per training row of its candidates on
  the corpus's tasks, less a trial's fixed ``OVERHEAD``, per unit of their *work*
  (:meth:`CostModel.work`): a forest's or booster's trees, and a booster's tree takes
  the time of its rows plus ``LEAF_ROWS`` per leaf it can grow. A small random forest
  learns the rest over the candidates' configuration vectors, so a proposal's own
  hyperparameters count, not only its family. The leaves matter because the corpus's
  tasks are small: on 1,500 rows a depth-10 XGBoost tree grew twice the leaves of a
  depth-6 one, on 8,000 rows five times (a trial of one on 500,000 rows took 11.5 s
  where a prior learned per row alone foretold 0.7 s);
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

from autometa.fidelity import BOOSTERS, FORESTS, trees_key
from autometa.records import Trial, config_key
from autometa.space import ROOT, SEP, configuration
from autometa.task import CLASSIFICATION

N_TREES = 50  # trees of the prior's forest
MIN_CANDIDATES = 5  # fewer timed candidates: no prior, proposals are not screened
INACTIVE = -1.0  # vector value of an inactive hyperparameter
TIMED = ("ok", "timeout")  # statuses whose wall time calibrates the prior
LEAF_ROWS = 300  # a boosted tree takes the time of its training rows plus this many per
# leaf (measured for XGBoost, LightGBM and histogram gradient boosting on 1,500 to 24,000
# rows of 50 columns, 3 to 1,000 leaves: log error 0.3, against 1.1 in rows and trees alone)
LEAVES = {  # a booster's most leaves: the hyperparameter capping them, and the least a
    "xgboost": ("max_depth", "min_child_weight"),  # leaf holds (XGBoost: 2 ** depth, and
    "lightgbm": ("num_leaves", "min_child_samples"),  # a sum of hessians)
    "hist_gradient_boosting": ("max_leaf_nodes", "min_samples_leaf"),
}
OVERHEAD = 0.05  # seconds of a trial whatever it trains (the smallest boosters' trials took
# 0.02-0.06 s a split on the corpus's tasks, 0.10 s on 8,000 rows of 500,000 x 50); without
# it a 16-tree booster is foretold nearly free, and its trials calibrate the others' high
MIN_VARIABLE = 0.1  # at least this share of a candidate's time on the source tasks is work
HESSIAN = 0.25  # the largest hessian of a row under log loss (squared error: 1)
SOURCE_ROWS = 1000  # training rows of a split of the tasks the times were measured on


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
    source_rows : float
        Training rows of a split of the tasks ``seconds_per_row`` was measured on (NaN:
        :data:`SOURCE_ROWS`).
    task : {"classification", "regression"}
        The task (an XGBoost leaf's least rows follow from its loss's hessian).
    overhead : float
        Seconds of a trial whatever it trains.
    """

    def __init__(self, space: ConfigurationSpace, configs: Sequence[Mapping[str, Any]],
                 seconds_per_row: Sequence[float], seed: int = 0,
                 source_rows: float = SOURCE_ROWS, task: str = CLASSIFICATION,
                 overhead: float = OVERHEAD) -> None:
        self.space, self.hessian = space, HESSIAN if task == CLASSIFICATION else 1.0
        self.overhead = overhead
        source_rows = source_rows if np.isfinite(source_rows) else SOURCE_ROWS
        self._vectors: dict[str, np.ndarray | None] = {}
        timed = [(vector, t) for c, t in zip(configs, seconds_per_row, strict=True)
                 if np.isfinite(t) and t > 0 and (vector := self._vector(c)) is not None]
        self.forest = None
        if len(timed) >= MIN_CANDIDATES:
            X, t = np.array([v for v, _ in timed]), np.array([t for _, t in timed])
            variable = np.maximum(t - overhead / source_rows, MIN_VARIABLE * t)
            y = np.log(variable / self.work(X, source_rows))
            self.forest = RandomForestRegressor(N_TREES, random_state=seed).fit(filled(X), y)

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
            rows = np.asarray(rows, dtype=float)[known]
            seconds[known] = self.per_row(np.array([vectors[i] for i in known]), rows) * rows
        return seconds

    def per_row(self, vectors: np.ndarray, rows: float | np.ndarray) -> np.ndarray:
        """The prior's seconds per training row of configurations given as ConfigSpace
        vectors (inactive values NaN), trained on ``rows`` rows; needs :attr:`ready`."""
        unit = np.exp(self.forest.predict(filled(vectors)))
        return self.overhead / np.asarray(rows, dtype=float) + unit * self.work(vectors, rows)

    def work(self, vectors: np.ndarray, rows: float | np.ndarray) -> np.ndarray:
        """Each configuration's work per training row on ``rows`` rows, in rows of one
        tree: a forest's trees; a booster's trees times 1 + :data:`LEAF_ROWS` times the
        leaves its trees can grow (:meth:`leaves`) per row; 1 for other families."""
        rows = np.broadcast_to(np.asarray(rows, dtype=float), len(vectors))
        work = np.ones(len(vectors))
        family = self._values(ROOT, vectors)
        for name in (*FORESTS, *BOOSTERS):
            at = family == name
            if not at.any():
                continue
            work[at] = self._values(trees_key(name), vectors[at])
            if name in LEAVES:
                work[at] *= 1 + LEAF_ROWS * self.leaves(name, vectors[at], rows[at]) / rows[at]
        return work

    def leaves(self, family: str, vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The most leaves a tree of each of ``family``'s configurations can grow on
        ``rows`` rows: its cap, and at most its rows over the least a leaf holds."""
        cap_name, least_name = (family + SEP + name for name in LEAVES[family])
        cap, least = self._values(cap_name, vectors), self._values(least_name, vectors)
        if family == "xgboost":  # a depth, and a leaf's least sum of hessians
            cap, least = 2.0 ** cap, least / self.hessian
        return np.minimum(cap, np.maximum(rows / least, 1.0))

    def _values(self, name: str, vectors: np.ndarray) -> np.ndarray:
        """Hyperparameter ``name``'s values in ``vectors`` (all active)."""
        column = vectors[:, self.space.index_of[name]]
        values = self.space[name].to_value(column)
        return np.asarray(values, dtype=object if name == ROOT else float)

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
