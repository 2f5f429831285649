"""SMAC's acquisition made cost-aware: expected improvement per second.

Under successive halving on a large table, configurations differ in cost by orders of
magnitude (a linear model and a forest of deep trees: 40x on the lowest rung of
``benchmarks/bench_large.py``), and SMAC's expected improvement sees none of it: one
slow proposal can take the time of a dozen cheap ones. :class:`ExpectedImprovementPerSecond`
divides the expected improvement by the :class:`~autometa.cost.CostModel` prior's seconds
per row on the lowest rung to the power ``COST_POWER`` (EI per second, Snoek et al.
2012, with a cost model learned beforehand rather than alongside), so that among
configurations about equally promising the cheaper come first, and more of them fit in
the budget. Only the prior counts, not its calibration on the search's wall times, so the
same seed proposes the same configurations whatever the machine's speed.
"""

from __future__ import annotations

import numpy as np
from smac.acquisition.function import EI

from autometa.cost import CostModel

COST_POWER = 0.5  # 1 would trade a 10x slower configuration for a 10x larger expected
# improvement; 0.5 for a 3.2x larger one


class ExpectedImprovementPerSecond(EI):
    """SMAC's expected improvement (of the log loss) over ``cost``'s prior seconds per row
    on ``rows`` training rows to the power ``power``: among configurations equally
    promising, the cheaper ones first, so that more of them fit in a budget (see the module).

    Parameters
    ----------
    cost : CostModel
        Its prior must be :attr:`~CostModel.ready`.
    rows : float
        Training rows of a split where SMAC's proposals start (the lowest rung).
    power : float
    """

    def __init__(self, cost: CostModel, rows: float, power: float = COST_POWER) -> None:
        super().__init__(xi=0.0, log=True)
        if not cost.ready:
            raise ValueError("the cost model has no prior")
        self.cost, self.rows, self.power = cost, rows, power

    @property
    def name(self) -> str:
        return "Expected Improvement per Second"

    def _compute(self, X: np.ndarray) -> np.ndarray:
        X = X[np.newaxis, :] if X.ndim == 1 else X
        return super()._compute(X) / self.cost.per_row(X, self.rows)[:, np.newaxis] ** self.power


def acquisition(cost: CostModel | None, rows: float) -> EI | None:
    """The cost-aware acquisition on ``rows`` training rows when ``cost`` has a prior,
    else ``None`` (SMAC's own)."""
    return ExpectedImprovementPerSecond(cost, rows) if cost is not None and cost.ready \
        else None
