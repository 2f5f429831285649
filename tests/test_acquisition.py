"""Expected improvement per second: SMAC's acquisition weighed by the cost model's prior."""

from __future__ import annotations

import numpy as np
import pytest
from smac.acquisition.function import EI

from autometa.acquisition import COST_POWER, ExpectedImprovementPerSecond, acquisition
from autometa.cost import CostModel
from autometa.space import configuration
from tests.fakes import FakeExecutor
from tests.test_cost import PER_ROW, by_family, model
from tests.test_multifidelity import search
from tests.test_search import KNN, LINEAR, SPACE


class Flat:
    """A surrogate predicting the same loss everywhere: every EI is equal."""

    def predict_marginalized(self, X):
        return np.full((len(X), 1), -1.0), np.full((len(X), 1), 0.5)


def vectors(*configs) -> np.ndarray:
    return np.array([configuration(SPACE, c).get_array() for c in configs])


def test_equal_expected_improvements_are_divided_by_the_seconds_per_row_to_a_power():
    acq = ExpectedImprovementPerSecond(model(), rows=100)
    acq.update(Flat(), eta=-1.0)
    plain = EI(log=True)
    plain.update(Flat(), eta=-1.0)
    X = vectors(LINEAR, KNN)  # inactive values are NaN in SMAC's vectors
    ratio = acq._compute(X)[:, 0] / plain._compute(X)[:, 0]
    expected = np.array([PER_ROW["linear"], PER_ROW["knn"]]) ** -COST_POWER
    assert ratio == pytest.approx(expected, rel=0.1)


def test_only_a_cost_model_with_a_prior_changes_smacs_acquisition():
    assert isinstance(acquisition(model(), 100), ExpectedImprovementPerSecond)
    assert acquisition(None, 100) is None
    no_prior = CostModel(SPACE, [LINEAR], [1e-3])
    assert acquisition(no_prior, 100) is None
    with pytest.raises(ValueError, match="no prior"):
        ExpectedImprovementPerSecond(no_prior, 100)


def second_bracket_linear_share(cost) -> float:
    """The share of linear models among the configurations SMAC's model chose: the second
    bracket's (the first bracket's 27 are asked for before any result, at random)."""
    state = search(FakeExecutor(by_family), max_evals=60, cost=cost)
    assert isinstance(state.smac._acquisition_function,
                      EI if cost is None else ExpectedImprovementPerSecond)
    second = state.trials[40:60]
    assert all(t.fidelity == 100 and t.origin == "smac" for t in second)
    return float(np.mean([t.family == "linear" for t in second]))


def test_under_successive_halving_smac_proposes_the_cheaper_family_more_often():
    # the losses do not depend on the family; k-NN is 100x slower per row
    assert second_bracket_linear_share(model()) > second_bracket_linear_share(None) + 0.2
