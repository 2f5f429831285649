"""The search loop on a fake executor and a fake clock: real SMAC, no processes, no waiting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autometa.components import registry
from autometa.dask_pool import DaskPool
from autometa.pool import Executor, LocalPool
from autometa.records import config_key
from autometa.search import SearchSettings, SearchState, in_order, run_search
from autometa.space import build_space, family_default
from tests.fakes import FakeExecutor, outcome

SPACE = build_space("classification", [registry()["linear"], registry()["knn"]], seed=0)
LINEAR = family_default(registry()["linear"], "classification")
KNN = family_default(registry()["knn"], "classification")


def loss_of(job) -> float:
    """A deterministic loss: k-NN configurations are worse than linear ones."""
    config = job.run.config
    return 0.3 + 0.1 * (config["model"] == "knn") + 1e-3 * len(config_key(config)) % 7


def succeed(seconds: float = 1.0):
    return lambda job: ("ok", outcome(loss_of(job)), seconds)


def settings(executor: FakeExecutor, **kwargs) -> SearchSettings:
    values = dict(seed=0, deadline=1e9, trial_time_limit=100.0, n_random_initial=2,
                  clock=executor.clock)
    return SearchSettings(**{**values, **kwargs})


def test_the_initial_design_chooses_the_first_trials_then_smac():
    executor = FakeExecutor(succeed())
    state = run_search(SPACE, executor, settings(executor, max_evals=6,
                                                 initial_design=in_order([KNN, LINEAR])))
    assert [t.config for t in state.trials[:2]] == [KNN, LINEAR]
    assert [t.origin for t in state.trials] == ["portfolio"] * 2 + ["smac"] * 4
    assert not state.designing


@pytest.mark.parametrize("capacity", [1, 3])
def test_max_evals_is_exact_whatever_the_parallelism(capacity):
    executor = FakeExecutor(succeed(), capacity=capacity)
    state = run_search(SPACE, executor, settings(executor, max_evals=7))
    assert len(state.trials) == 7 and len(executor.submitted) == 7
    assert [t.id for t in state.trials] == list(range(7))
    state = run_search(SPACE, executor, settings(executor, max_evals=2), state=state)
    assert len(state.trials) == 9  # a continued search adds max_evals more


def test_the_search_stops_at_the_deadline_minus_the_reserve():
    executor = FakeExecutor(succeed(seconds=1.0))
    run = settings(executor, deadline=10.0, reserve=lambda trials: 3.0)
    state = run_search(SPACE, executor, run)
    assert executor.clock.now <= 7.0
    assert 5 <= len(state.trials) <= 7 and all(t.ok for t in state.trials)


def test_a_trial_running_at_the_deadline_is_recorded_as_stopped():
    executor = FakeExecutor(succeed(seconds=4.0))
    state = run_search(SPACE, executor, settings(executor, deadline=10.0))
    assert [t.status for t in state.trials] == ["ok", "ok", "timeout"]
    assert state.trials[-1].error == "deadline"  # ended by the executor, as a sandbox does
    assert executor.clock.now == pytest.approx(10.0)


def test_trials_still_running_when_the_reserve_grows_are_cancelled_and_recorded():
    durations = iter([4.0, 9.0, 4.0])
    executor = FakeExecutor(lambda job: ("ok", outcome(loss_of(job)), next(durations)),
                            capacity=2)
    # after the first success, 3 s are kept for refitting: the search must end at 7 s
    run = settings(executor, deadline=10.0, reserve=lambda trials: 3.0 if trials else 0.0)
    state = run_search(SPACE, executor, run)
    assert executor.clock.now == pytest.approx(7.0) and not executor.running
    assert [(t.id, t.status) for t in state.trials] == [(0, "ok"), (1, "timeout"),
                                                         (2, "timeout")]
    assert state.trials[1].error == "deadline"  # submitted at 4 s with the 7 s deadline
    assert state.trials[2].error == "stopped at the end of the time budget"  # cancelled


def test_failures_wait_for_a_success_and_are_told_to_smac_at_the_worst_cost():
    statuses = iter(["error", "timeout", "ok", "ok", "crashed", "ok"])

    def respond(job):
        status = next(statuses)
        return status, outcome(loss_of(job)) if status == "ok" else None, 1.0

    executor = FakeExecutor(respond)
    state = run_search(SPACE, executor, settings(executor, max_evals=6))
    history = state.smac.runhistory
    assert len(history) == 6 and not state.untold
    losses = [t.loss for t in state.trials]
    told = [v.cost for v in history._data.values()]  # in the order told
    worst_then = [losses[2]] * 3 + [losses[3], max(losses[2], losses[3]), losses[5]]
    np.testing.assert_allclose(told, worst_then)


def test_only_a_possible_new_best_asks_for_its_fold_models():
    executor = FakeExecutor(succeed())
    state = run_search(SPACE, executor, settings(executor, max_evals=5))
    thresholds = [job.run.keep_models_below for job in executor.submitted]
    best_before = np.minimum.accumulate([np.inf] + [t.loss for t in state.trials])[:-1]
    np.testing.assert_allclose(thresholds, best_before)


def test_ctrl_c_keeps_the_trials_when_one_succeeded_and_propagates_otherwise():
    executor = FakeExecutor(succeed(), capacity=2)

    def interrupt(trial):
        if len(seen) == 2:
            raise KeyboardInterrupt
        seen.append(trial)

    seen = []
    state = run_search(SPACE, executor, settings(executor, max_evals=10), on_trial=interrupt)
    assert state.interrupted and len(state.trials) == 3 and not executor.running
    failing = FakeExecutor(lambda job: ("error", None, 1.0))

    def interrupt_now(trial):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_search(SPACE, failing, settings(failing, max_evals=5), state=SearchState(),
                   on_trial=interrupt_now)


def test_the_executors_implement_the_protocol():
    for executor in (LocalPool(1), DaskPool(2), FakeExecutor(succeed())):
        assert isinstance(executor, Executor)
    # cores a refit may use alone: known for the pools autometa starts on this machine
    assert LocalPool(3).local_cores == 3 and DaskPool(2).local_cores == 2


SEARCH_IN_A_NEW_PROCESS = """
from autometa.records import config_key
from autometa.search import run_search
from tests.fakes import FakeExecutor
from tests.test_search import SPACE, settings, succeed
executor = FakeExecutor(succeed())
state = run_search(SPACE, executor, settings(executor, max_evals=16))
print([config_key(t.config) for t in state.trials])
"""


def test_the_same_seed_gives_the_same_trials_in_every_process():
    # Python seeds string hashing per process; SMAC's local search once depended on it
    root = str(Path(__file__).resolve().parents[1])
    runs = [subprocess.run([sys.executable, "-c", SEARCH_IN_A_NEW_PROCESS], cwd=root,
                           capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": root})
            for seed in ("1", "2")]
    assert runs[0].stdout == runs[1].stdout and runs[0].stdout.count("model") == 16
