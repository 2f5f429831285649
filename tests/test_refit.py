"""Refitting the chosen members on a fake executor: deadlines, skipped members, fallback."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from autometa.final import refit_members
from autometa.metrics import resolve_metric
from autometa.plan import REFIT_SAFETY
from autometa.records import Trial
from autometa.search import SearchState
from tests.conftest import mixed_frame, task_data
from tests.fakes import FakeExecutor


def _state(wall_times: list[float]) -> SearchState:
    state = SearchState()
    for i, wall in enumerate(wall_times):
        state.trials.append(Trial(i, "linear", {"model": "linear", "id": i}, "smac", "ok",
                                  0.1 * (i + 1), wall / 2, 0.01, wall))
    return state


def _respond(seconds: dict[int, float], status: str = "ok"):
    return lambda job: (status, f"model {job.key}", seconds[job.key])


def test_members_with_all_their_rows_refit_first_and_a_late_one_is_left_out():
    data = task_data(*mixed_frame(120))  # 3-fold CV: a trial trains on 80 rows, 3 times
    # measured wall times: trial 1 would need ~45 s on all rows, more than the 10 s left
    state = _state([1.0, 30.0, 0.5])
    executor = FakeExecutor(_respond({0: 2.0, 1: 45.0, 2: 1.0}))
    weights = {0: 0.5, 1: 0.3, 2: 0.2}
    ensemble = refit_members(weights, state, data, executor, seed=0, deadline=10.0,
                             clock=executor.clock)
    assert [job.key for job in executor.submitted] == [0, 2]  # 1 skipped: it cannot finish
    assert [m.trial for m in ensemble.members] == [0, 2]
    assert [m.pipeline for m in ensemble.members] == ["model 0", "model 2"]
    assert ensemble.weights == pytest.approx({0: 0.5 / 0.7, 2: 0.2 / 0.7})


def test_the_first_member_is_always_tried_and_the_deadline_cancels_it():
    data = task_data(*mixed_frame(120))
    state = _state([30.0])
    state.best_models = (0, "fold models of trial 0")
    executor = FakeExecutor(_respond({0: 45.0}))
    ensemble = refit_members({0: 1.0}, state, data, executor, seed=0, deadline=10.0,
                             clock=executor.clock)
    assert [job.key for job in executor.submitted] == [0]
    assert executor.clock.now == pytest.approx(10.0) and not executor.running
    assert [m.pipeline for m in ensemble.members] == ["fold models of trial 0"]


def test_without_any_refit_or_fold_models_the_error_says_why():
    data = task_data(*mixed_frame(120))
    executor = FakeExecutor(_respond({0: 1.0}, status="error"))
    with pytest.raises(RuntimeError, match="trial 0: error in the fake"):
        refit_members({0: 1.0}, _state([1.0]), data, executor, seed=0, deadline=10.0,
                      clock=executor.clock)


def test_a_refit_uses_fewer_rows_when_the_time_left_is_short():
    data = task_data(*mixed_frame(120))
    executor = FakeExecutor(_respond({0: 1.0}))
    # ~0.1 s per training row and split: all 120 rows would need ~12 s of the 10 s left
    refit_members({0: 1.0}, _state([24.0]), data, executor, seed=0, deadline=10.0,
                  clock=executor.clock)
    assert executor.submitted[0].run.max_rows == 80  # never fewer than a search split had


class Diverged:
    """A refit 'model' whose probabilities are confidently wrong."""

    autometa_classes_ = None

    def __init__(self, n_classes: int):
        self.autometa_classes_ = list(range(n_classes))

    def predict(self, X):
        raise AssertionError("a classifier is asked for probabilities")

    def predict_proba(self, X):
        proba = np.full((len(X), len(self.autometa_classes_)), 1e-9)
        proba[:, 0] = 1.0
        return proba / proba.sum(axis=1, keepdims=True)


def test_a_refit_that_fails_on_its_own_rows_is_left_out():
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from autometa.final import sound

    X, y = make_classification(300, 5, n_classes=3, n_informative=3, random_state=0)
    data = task_data(X, y)
    data = replace(data, metric=resolve_metric("neg_log_loss", "classification", 3))
    trial = Trial(0, "linear", {}, "smac", "ok", 0.6, 0.1, 0.01, 1.0)
    healthy = LogisticRegression().fit(data.X, data.y)
    healthy.autometa_classes_ = np.arange(3)
    assert sound(healthy, trial, data)
    assert not sound(Diverged(3), trial, data)


def test_refit_size_follows_the_time_growth_the_trials_measured():
    from types import SimpleNamespace

    from autometa.plan import refit_size

    data = SimpleNamespace(splits=[(np.arange(400), np.arange(100))], y=np.zeros(10_000))
    config = {"model": "xgboost"}
    low = Trial(0, "xgboost", config, "smac", "ok", 0.2, None, None, 1.0, fidelity=100)
    high = replace(low, id=1, wall_time=2.0, fidelity=400)  # 1 s more per 300 rows
    rows, expected = refit_size(high, data, 4.0, [low, high])
    assert rows == 1000 and expected == pytest.approx(4.0)
    steep = replace(high, wall_time=8.0)  # as rows**1.5: the line is less steep
    rows, expected = refit_size(steep, data, 16.0, [low, steep])
    assert rows == round(400 * 2 ** (1 / 1.5)) and expected == pytest.approx(16.0, rel=0.01)
    rows, expected = refit_size(high, data, 4.0, [high])  # one trial: linear growth
    assert rows == 800 and expected == pytest.approx(4.0)
    rows, expected = refit_size(high, data, 100.0, [low, high])
    assert rows is None and expected == pytest.approx(2.0 + 9600 / 300)  # all 10,000 rows
    assert refit_size(high, data, 0.5, [low, high])[0] == 400  # never below its own rows


def _two_slow(walls: list[float]) -> SearchState:
    """Linear trials on 100 rows taking ``walls`` seconds: all 1,200 rows need 12 times."""
    state = SearchState()
    for i, wall in enumerate(walls):
        state.trials.append(Trial(i, "linear", {"model": "linear", "id": i}, "smac", "ok",
                                  0.1, None, None, wall, fidelity=100))
    return state


def test_with_one_worker_the_heaviest_member_refits_last_on_the_time_the_others_leave():
    data = task_data(*mixed_frame(1200), resampling="holdout")
    # neither can have all rows: shares 54 s and 6 s of 60 s; the light one goes first
    executor = FakeExecutor(_respond({0: 1.0, 1: 2.0}))
    refit_members({0: 0.9, 1: 0.1}, _two_slow([10.0, 1.0]), data, executor, seed=0,
                  deadline=60.0, clock=executor.clock)
    assert [job.key for job in executor.submitted] == [1, 0]
    light, heavy = executor.submitted
    assert light.run.max_rows == pytest.approx(6 / REFIT_SAFETY * 100, abs=1)
    assert light.time_limit == pytest.approx(60 - 54 / REFIT_SAFETY)  # its margin
    assert heavy.run.max_rows == pytest.approx(58 / REFIT_SAFETY * 10, abs=1)  # not 54 s
    assert heavy.time_limit == pytest.approx(58.0)


def test_a_lighter_refit_that_overruns_is_stopped_before_the_heavier_one_loses_time():
    data = task_data(*mixed_frame(1200), resampling="holdout")
    executor = FakeExecutor(_respond({0: 1.0, 1: 40.0}))  # the light one, 8 times its estimate
    ensemble = refit_members({0: 0.9, 1: 0.1}, _two_slow([10.0, 1.0]), data, executor,
                             seed=0, deadline=60.0, clock=executor.clock)
    heavy = executor.submitted[1]
    # at worst the time it would have been sized for first (54 s less the spare), so
    # 1 / REFIT_SAFETY of the rows it would have had
    assert heavy.run.max_rows == pytest.approx(54 / REFIT_SAFETY ** 2 * 10, abs=1)
    assert [m.trial for m in ensemble.members] == [0]


def test_a_lighter_member_that_cannot_fit_its_margin_is_left_out():
    data = task_data(*mixed_frame(1200), resampling="holdout")
    # the light one's fewest rows (its trial's 100) take 20 s, over its 16.8 s margin
    executor = FakeExecutor(_respond({0: 1.0, 1: 1.0}))
    refit_members({0: 0.9, 1: 0.1}, _two_slow([10.0, 20.0]), data, executor, seed=0,
                  deadline=60.0, clock=executor.clock)
    assert [job.key for job in executor.submitted] == [0]
    assert executor.submitted[0].run.max_rows == pytest.approx(60 / REFIT_SAFETY * 10, abs=1)


def test_with_two_workers_a_light_member_beside_a_heavy_one_trains_on_few_rows():
    data = task_data(*mixed_frame(1200), resampling="holdout")
    state = SearchState()
    for i in range(3):
        state.trials.append(Trial(i, "linear", {"model": "linear", "id": i}, "smac", "ok",
                                  0.1, None, None, 10.0, fidelity=100))
    executor = FakeExecutor(_respond({0: 30.0, 1: 1.0, 2: 1.0}), capacity=2)
    refit_members({0: 0.96, 1: 0.02, 2: 0.02}, state, data, executor, seed=0, deadline=60.0,
                  clock=executor.clock)
    rows = {job.key: job.run.max_rows for job in executor.submitted}
    assert rows[0] == pytest.approx(60 / REFIT_SAFETY * 10, abs=1)  # all of the time
    assert rows[1] == 100 and rows[2] == 100  # 4 % of it: no more than they trained on


def test_time_shares_follow_the_weights_and_a_member_needing_less_leaves_the_rest():
    from autometa.final import time_shares

    weights = {0: 0.5, 1: 0.3, 2: 0.2}
    slow = {0: 1e3, 1: 1e3, 2: 1e3}
    assert time_shares(slow, weights, 60.0) == pytest.approx({0: 30.0, 1: 18.0, 2: 12.0})
    cheap_2 = {**slow, 2: 4.0}  # 4 s for all its rows: the other two share 56 s
    assert time_shares(cheap_2, weights, 60.0) == pytest.approx({0: 35.0, 1: 21.0, 2: 4.0})
    # freed time cascades: with 1 freeing its share too, 0 takes all that is left
    assert time_shares({0: 1e3, 1: 10.0, 2: 4.0}, weights, 60.0) == \
        pytest.approx({0: 46.0, 1: 10.0, 2: 4.0})
    # two workers: each member at most all of the time
    assert time_shares(cheap_2, weights, 60.0, capacity=2) == \
        pytest.approx({0: 60.0, 1: 116 * 0.3 / 0.8, 2: 4.0})


def test_with_one_worker_a_cheap_member_trains_on_all_rows_and_frees_time_for_the_heavy():
    data = task_data(*mixed_frame(1200), resampling="holdout")
    state = SearchState()  # trial 0: 10 s on 100 rows; trial 1: 0.1 s
    for i, wall in enumerate([10.0, 0.1]):
        state.trials.append(Trial(i, "linear", {"model": "linear", "id": i}, "smac", "ok",
                                  0.1, None, None, wall, fidelity=100))
    executor = FakeExecutor(_respond({0: 30.0, 1: 1.0}))
    refit_members({0: 0.5, 1: 0.5}, state, data, executor, seed=0, deadline=60.0,
                  clock=executor.clock)
    assert [job.key for job in executor.submitted] == [1, 0]  # the one with all rows first
    rows = {job.key: job.run.max_rows for job in executor.submitted}
    assert rows[1] is None  # all rows
    assert rows[0] == pytest.approx(59 / REFIT_SAFETY * 10, abs=1)  # not 30 s


def _heavy_and_cheap(heavy_family: str, cheap_wall: float) -> SearchState:
    """Trial 0 of ``heavy_family``: 10 s on 100 rows; trial 1, linear: ``cheap_wall``."""
    state = SearchState()
    for i, (family, wall) in enumerate([(heavy_family, 10.0), ("linear", cheap_wall)]):
        state.trials.append(Trial(i, family, {"model": family, "id": i}, "smac", "ok",
                                  0.1, None, None, wall, fidelity=100))
    return state


def test_with_two_local_cores_a_slow_member_beside_a_cheap_one_refits_alone_on_both():
    from autometa.plan import thread_speedup

    speed = thread_speedup("xgboost", 2)
    assert speed > 1.2
    data = task_data(*mixed_frame(1200), resampling="holdout")
    executor = FakeExecutor(_respond({0: 30.0, 1: 1.0}), capacity=2)
    busy = []  # jobs running as each one is submitted
    respond = executor.respond
    executor.respond = lambda job: busy.append(len(executor.running)) or respond(job)
    refit_members({0: 0.9, 1: 0.1}, _heavy_and_cheap("xgboost", 0.1), data, executor,
                  seed=0, deadline=60.0, cores=2, clock=executor.clock)
    assert busy == [0, 0]  # one at a time, the cheap one with all its rows first
    assert [job.n_threads for job in executor.submitted] == [1, 2]  # linear gains none
    assert [job.run.n_threads for job in executor.submitted] == [1, 2]
    rows = {job.key: job.run.max_rows for job in executor.submitted}
    assert rows[0] == pytest.approx(speed * 59 / REFIT_SAFETY * 10, abs=1)
    assert rows[1] is None


def test_two_slow_members_refit_side_by_side_and_on_a_cluster_always():
    data = task_data(*mixed_frame(1200), resampling="holdout")
    state = _heavy_and_cheap("xgboost", 10.0)  # both slow: each gains from a core of its own
    executor = FakeExecutor(_respond({0: 30.0, 1: 30.0}), capacity=2)
    refit_members({0: 0.5, 1: 0.5}, state, data, executor, seed=0, deadline=60.0, cores=2,
                  clock=executor.clock)
    assert [job.n_threads for job in executor.submitted] == [1, 1]
    executor = FakeExecutor(_respond({0: 30.0, 1: 1.0}), capacity=2)
    refit_members({0: 0.9, 1: 0.1}, _heavy_and_cheap("xgboost", 0.1), data, executor,
                  seed=0, deadline=60.0, cores=1, clock=executor.clock)  # cores unknown
    assert [job.n_threads for job in executor.submitted] == [1, 1]
