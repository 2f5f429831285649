"""Prediction latency: fast forest predictions, cost-limited ensemble selection, trimming
a fitted ensemble to a limit, and ``infer_limit`` in real fits."""

import time

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autometa import AutoMetaClassifier, AutoMetaRegressor
from autometa.ensemble import Ensemble, Member, ensemble_selection
from autometa.forest import forest_predict, pipeline_predict
from autometa.latency import (
    LIMIT_SHARE,
    LatencyLimit,
    fastest_serving,
    members_share,
    trial_latency,
    trim_to_limit,
)
from autometa.records import Trial


def test_forest_predict_equals_scikit_learn():
    X, y = make_classification(600, 8, n_classes=3, n_informative=4, random_state=0)
    forest = RandomForestClassifier(40, random_state=0).fit(X, y)
    for rows in (X[:1], X):
        np.testing.assert_array_equal(forest_predict(forest, rows), forest.predict_proba(rows))
    Xr, yr = make_regression(400, 6, random_state=0)
    pipe = make_pipeline(StandardScaler(), ExtraTreesRegressor(30, random_state=0)).fit(Xr, yr)
    np.testing.assert_array_equal(pipeline_predict(pipe, Xr, proba=False), pipe.predict(Xr))


def test_forest_predict_in_threads_equals_scikit_learn():
    X, y = make_classification(600, 8, n_classes=3, n_informative=4, random_state=0)
    forest = RandomForestClassifier(41, random_state=0).fit(X, y).set_params(n_jobs=2)
    np.testing.assert_array_equal(forest_predict(forest, X), forest.set_params(n_jobs=1)
                                  .predict_proba(X))


def test_forest_predict_keeps_only_seen_classes():
    X, y = make_classification(300, 5, n_classes=3, n_informative=3, random_state=1)
    forest = RandomForestClassifier(10, random_state=0).fit(X, y)
    assert forest_predict(forest, X).shape == (300, 3)


def test_selection_costs_stay_under_the_limit():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    preds = [np.clip(y + rng.normal(0, s, 200), 0, 1) for s in (0.3, 0.35, 0.4, 0.45, 0.5)]

    def loss(p):
        return float(np.mean((p - y) ** 2))

    free = ensemble_selection(preds, loss, size=30)
    assert np.array_equal(free, ensemble_selection(preds, loss, size=30, costs=[0.0] * 5,
                                                   max_cost=1.0))
    costs = [3.0, 1.0, 1.0, 1.0, 1.0]
    weights = ensemble_selection(preds, loss, size=30, costs=costs, max_cost=2.5)
    assert weights[0] == 0  # the best candidate alone costs more than the limit
    assert sum(c for c, w in zip(costs, weights, strict=True) if w > 0) <= 2.5
    with pytest.raises(ValueError, match="max_cost"):
        ensemble_selection(preds, loss, costs=[9.0] * 5, max_cost=1.0)


def test_trial_latency_errs_high():
    trial = Trial(0, "x", {}, "smac", "ok", 0.1, 1.0, 0.3, 2.0)  # 0.1 s per split's call
    assert trial_latency(trial, 300, 3, 1000) == pytest.approx(0.1 / 100)  # 100 rows per call
    assert trial_latency(trial, 300, 3, 10) == pytest.approx(0.1 / 10)  # a call per batch


class Sleepy:
    """A regression 'pipeline' taking ``seconds`` per row to predict a constant."""

    def __init__(self, seconds: float, value: float):
        self.seconds, self.value = seconds, value

    def predict(self, X):
        time.sleep(self.seconds * len(X))
        return np.full(len(X), self.value)


def test_trim_keeps_the_best_weight_per_second_within_the_limit():
    members = (Member(0, 0.6, Sleepy(4e-3, 1.0)), Member(1, 0.3, Sleepy(1e-5, 2.0)),
               Member(2, 0.1, Sleepy(1e-5, 3.0)))  # 200 ms, 0.5 ms and 0.5 ms per batch
    ensemble = Ensemble(members, "regression")
    batch = pd.DataFrame({"a": np.zeros(50)})
    trimmed, fits = trim_to_limit(ensemble, batch, LatencyLimit(2e-3, 50))  # 100 ms per batch
    assert [m.trial for m in trimmed.members] == [1, 2] and fits
    alone, fits = trim_to_limit(ensemble, batch, LatencyLimit(1e-7, 50))
    assert len(alone.members) == 1 and alone.members[0].trial in (1, 2)  # the fastest
    assert not fits
    assert trim_to_limit(ensemble, batch, LatencyLimit(1.0, 50)) == (ensemble, True)


def test_serving_sets_the_members_threads_and_keeps_the_predictions():
    X, y = make_classification(400, 6, random_state=0)
    models = [make_pipeline(StandardScaler(), LGBMClassifier(n_estimators=20, verbose=-1)),
              make_pipeline(StandardScaler(), KNeighborsClassifier())]
    for model in models:
        model.fit(X, y).autometa_classes_ = np.arange(2)  # as evaluation's models carry
    ensemble = Ensemble(tuple(Member(i, 0.5, m) for i, m in enumerate(models)),
                        "classification", 2)
    expected = ensemble.predict(X)
    one_by_one = ensemble.served(2)
    assert not one_by_one.concurrent
    assert [m.pipeline[-1].n_jobs for m in one_by_one.members] == [2, 2]
    concurrent = ensemble.served(2, concurrent=True)
    assert concurrent.concurrent
    assert [m.pipeline[-1].n_jobs for m in concurrent.members] == [1, 1]
    for served in (concurrent, one_by_one.served(2)):
        np.testing.assert_array_equal(served.predict(X, n_threads=2), expected)
    assert not ensemble.served(1, concurrent=True).concurrent  # one thread: nothing to share


def test_the_faster_way_of_serving_is_kept():
    # sleeping releases the GIL: two 20 ms members take 20 ms together in threads, 40 alone
    members = (Member(0, 0.5, Sleepy(2e-4, 1.0)), Member(1, 0.5, Sleepy(2e-4, 3.0)))
    batch = pd.DataFrame({"a": np.zeros(100)})
    served, seconds = fastest_serving(Ensemble(members, "regression"), batch, 2)
    assert served.concurrent and seconds < 3e-4
    np.testing.assert_array_equal(served.predict(batch, n_threads=2), np.full(100, 2.0))
    alone, _ = fastest_serving(Ensemble(members, "regression"), batch, 1)
    assert not alone.concurrent


@pytest.mark.slow
def test_infer_limit_in_a_fit():
    X, y = make_classification(1500, 12, random_state=0)
    # max_evals ends the search early, leaving the budget's time to measure the latency
    free = AutoMetaClassifier(time_budget=60, max_evals=12, random_state=0).fit(X, y)
    assert free.predict_latency_ > 0
    limit = free.predict_latency_ / 5
    fast = AutoMetaClassifier(time_budget=60, max_evals=12, random_state=0, infer_limit=limit,
                              infer_limit_batch_size=200).fit(X, y)
    assert fast.predict_latency_ > 0
    if len(free.ensemble_.members) > 1:
        assert len(fast.ensemble_.members) < len(free.ensemble_.members)
    assert fast.score(X, y) > 0.8


@pytest.mark.slow
def test_regressor_measures_its_latency():
    X, y = make_regression(500, 5, noise=1.0, random_state=0)
    model = AutoMetaRegressor(time_budget=8, max_evals=6, random_state=0).fit(X, y)
    assert model.predict_latency_ is not None and model.predict_latency_ < 1.0


@pytest.mark.slow
def test_a_fast_trial_is_refit_when_no_member_fits_the_limit():
    from dataclasses import replace

    from autometa.automl import faster_single, run_automl
    from autometa.plan import FitPlan
    from autometa.pool import borrowed_pool
    from autometa.table import Table

    X, y = make_classification(600, 8, random_state=0)
    table = Table.from_raw(X, y, "classification")
    with borrowed_pool(1) as executor:
        executor.start()
        plan = FitPlan.create(30, len(y), seed=0, n_workers=1, max_evals=6,
                              include=("linear", "random_forest"))
        result = run_automl(table, plan, executor=executor)
        slow = Ensemble((Member(result.best.id, 1.0, Sleepy(1e-3, 0.5)),), "classification", 2)
        limited = replace(plan, latency=LatencyLimit(1e-3, 200), start=time.monotonic())
        batch = result.data.X.iloc[:200]
        served = faster_single(slow, result.state, result.data, limited, executor, batch)
    assert served is not slow
    family = {t.id: t.family for t in result.trials}
    assert family[served.members[0].trial] != result.best.family
    assert served.predict(batch).shape == (200, 2)


def test_typing_the_rows_takes_its_share_of_the_limit():
    share = LIMIT_SHARE * 1e-5 - 3e-6
    assert members_share(LatencyLimit(1e-5, 1000), 3e-6).seconds_per_row == pytest.approx(share)
    assert members_share(LatencyLimit(1e-5, 1000), 3e-5).seconds_per_row == 0.0
    assert members_share(LatencyLimit(None, 1000), 3e-6).seconds_per_row is None
