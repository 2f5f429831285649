"""Refits that leave the validation rows out after a search over fidelities, and the
weights chosen again on the refit members' own validation predictions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from autometa import AutoMetaClassifier
from autometa.automl import final_ensemble
from autometa.evaluation import refit_rows
from autometa.final import HELD_OUT_SHARE, GreedyEnsembler, holds_out
from autometa.metrics import resolve_metric
from autometa.plan import FitPlan
from autometa.records import Trial
from autometa.search import SearchState
from autometa.smac_setup import MultiFidelity
from tests.conftest import task_data
from tests.fakes import FakeExecutor

N_ROWS, N_VAL = 1000, 80


def holdout_data(n_val: int = N_VAL):
    """A holdout TaskData of ``N_ROWS`` rows whose validation split has ``n_val`` rows,
    scored by ROC AUC."""
    X, y = make_classification(N_ROWS, 5, random_state=0)
    data = task_data(X, y, resampling="holdout")
    train, val = data.splits[0]
    return replace(data, splits=((train, val[:n_val]),),
                   metric=resolve_metric("roc_auc", "classification", 2))


def fidelity_state(multi_fidelity: bool = True) -> SearchState:
    state = SearchState()
    if multi_fidelity:
        state.multi_fidelity = MultiFidelity("successive_halving", 800, 2)
    return state


def test_a_held_out_refit_never_trains_on_a_validation_row():
    data = holdout_data()
    val = set(data.val_index)
    everything_else = refit_rows(data, None, seed=0, hold_out=True)
    assert len(everything_else) == N_ROWS - N_VAL and not val & set(everything_else)
    topped_up = refit_rows(data, 900, seed=0, hold_out=True)  # more than the 800 train rows
    assert len(topped_up) == 900 and not val & set(topped_up)
    assert refit_rows(data, None, seed=0) is None  # otherwise: all rows


def test_only_a_holdout_search_over_fidelities_with_few_validation_rows_holds_out():
    assert holds_out(fidelity_state(), holdout_data())
    assert not holds_out(fidelity_state(multi_fidelity=False), holdout_data())
    many = int(HELD_OUT_SHARE * N_ROWS) + 1
    assert not holds_out(fidelity_state(), holdout_data(n_val=many))
    X, y = make_classification(300, 5, random_state=0)
    assert not holds_out(fidelity_state(), task_data(X, y))  # cross-validation


class Fixed:
    """A refit 'model' predicting fixed probabilities of the positive class per row."""

    def __init__(self, positive: np.ndarray):
        self.positive = positive
        self.autometa_classes_ = [0, 1]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return proba(self.positive[X.index.to_numpy()])


def noisy(y: np.ndarray, scale: float, seed: int) -> np.ndarray:
    """Probabilities of the positive class that rank ``y`` with noise of ``scale``."""
    z = y + np.random.default_rng(seed).normal(scale=scale, size=len(y))
    return 1 / (1 + np.exp(-z))


def proba(positive: np.ndarray) -> np.ndarray:
    return np.column_stack([1 - positive, positive])


def test_after_a_search_over_fidelities_the_weights_follow_the_refit_members():
    data = holdout_data()
    y_val = data.y[data.val_index]
    state = fidelity_state()
    for i in (0, 1):  # two equally good trials with independent errors: a blend helps
        state.trials.append(Trial(i, "linear", {"model": "linear", "id": i}, "smac", "ok",
                                  -0.8, 1.0, 0.01, 1.0, fidelity=800))
        state.predictions[i] = proba(noisy(y_val, 1.0, seed=i))
    first = GreedyEnsembler().weights(state, data)
    assert set(first) == {0, 1}
    # refit on all but the validation rows, trial 0 ranks them perfectly, trial 1 does not
    models = {0: Fixed(np.where(data.y == 1, 0.9, 0.1)), 1: Fixed(noisy(data.y, 1.0, 7))}
    executor = FakeExecutor(lambda job: ("ok", models[job.key], 1.0))
    plan = FitPlan.create(60, N_ROWS, seed=0, n_classes=2)
    ensemble, predictions = final_ensemble(state, data, plan, executor, GreedyEnsembler())
    assert all(job.run.hold_out for job in executor.submitted)
    assert [m.trial for m in ensemble.members] == [0]  # trial 1 adds nothing to it
    assert ensemble.members[0].rows == N_ROWS - N_VAL
    for i, model in models.items():  # the refit members' own validation predictions
        np.testing.assert_allclose(predictions[i], model.predict_proba(data.X.loc[data.val_index]))


def test_on_one_fidelity_the_first_weights_stay():
    data = holdout_data()
    y_val = data.y[data.val_index]
    state = fidelity_state(multi_fidelity=False)
    for i in (0, 1):
        state.trials.append(Trial(i, "linear", {"model": "linear", "id": i}, "smac", "ok",
                                  -0.8, 1.0, 0.01, 1.0))
        state.predictions[i] = proba(noisy(y_val, 1.0, seed=i))
    executor = FakeExecutor(lambda job: ("ok", Fixed(np.full(N_ROWS, 0.5)), 1.0))
    plan = FitPlan.create(60, N_ROWS, seed=0, n_classes=2)
    ensemble, predictions = final_ensemble(state, data, plan, executor, GreedyEnsembler())
    assert not any(job.run.hold_out for job in executor.submitted)
    assert ensemble.weights == pytest.approx(GreedyEnsembler().weights(state, data))
    assert predictions is state.predictions


@pytest.mark.slow
def test_a_real_fit_over_fidelities_refits_without_the_validation_rows():
    X, y = make_classification(40_000, 12, n_informative=6, random_state=0)
    X = pd.DataFrame(X, columns=[f"c{i}" for i in range(12)])
    clf = AutoMetaClassifier(time_budget=60, max_evals=8, fidelity="successive_halving",
                             random_state=0, include=["linear", "lightgbm"])
    clf.fit(X, y)
    n_val = 3_000  # a quarter of the 12,000 rows a 60 s holdout search trains on
    assert all(m.rows <= len(y) - n_val for m in clf.ensemble_.members)
    board = clf.leaderboard()
    weights = board.set_index("trial")["ensemble_weight"]
    for trial, weight in clf.ensemble_.weights.items():
        assert weights[trial] == pytest.approx(weight)
    assert clf.score(X, y) > 0.85
