"""Successive halving over training rows on a fake executor: real SMAC, fake clock."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from autometa.records import config_key
from autometa.search import MultiFidelity, in_order, run_search
from tests.fakes import FakeExecutor, outcome
from tests.test_search import KNN, LINEAR, SPACE, settings

FULL = 2700
SH = MultiFidelity("successive_halving", max_rows=FULL, n_rungs=4)  # 100, 300, 900, 2700


def quality(config: dict) -> float:
    """A fixed loss per configuration, from a hash of it."""
    digest = hashlib.sha256(config_key(config).encode()).hexdigest()
    return int(digest[:8], 16) / 16**8


def by_rows(seconds_per_row: float = 1e-3, models=None):
    """Loss: the configuration's quality plus a penalty shrinking with the rows; seconds
    proportional to the rows."""
    def respond(job):
        rows = job.run.rows or FULL
        return "ok", outcome(quality(job.run.config) + 10.0 / rows, models=models), \
            seconds_per_row * rows
    return respond


def search(executor, multi_fidelity=SH, **kwargs):
    values = dict(multi_fidelity=multi_fidelity, full_rows=FULL, n_random_initial=0)
    return run_search(SPACE, executor, settings(executor, **{**values, **kwargs}))


def test_the_rungs_are_as_successive_halving_says():
    assert SH.rungs == [100, 300, 900, 2700]
    assert MultiFidelity("hyperband", 1000, 2, eta=2).rungs == [500, 1000]


def test_one_bracket_runs_27_9_3_1_trials_and_promotes_the_best_of_each_rung():
    executor = FakeExecutor(by_rows())
    state = search(executor, max_evals=40, initial_design=in_order([KNN, LINEAR]))
    rows = [t.fidelity for t in state.trials]
    assert rows == [100] * 27 + [300] * 9 + [900] * 3 + [2700] + rows[40:]
    assert [job.run.rows for job in executor.submitted[:40]] == \
        [100] * 27 + [300] * 9 + [900] * 3 + [None]  # the top rung trains on all rows
    for low, high, n in ((0, 27, 9), (27, 36, 3), (36, 39, 1)):
        rung = state.trials[low:high]
        best = sorted(rung, key=lambda t: t.loss)[:n]
        promoted = state.trials[high:high + n]
        assert {config_key(t.config) for t in promoted} == {config_key(t.config) for t in best}
        assert all(t.promoted for t in promoted) and not any(t.promoted for t in state.trials[:27])
    assert state.finalists == [state.trials[39]]


def test_the_initial_design_enters_at_the_lowest_rung_and_is_promoted_like_any_other():
    good = dict(LINEAR)  # the design's first configuration is the best one of all
    executor = FakeExecutor(lambda job: ("ok", outcome(
        (0.0 if job.run.config == good else 0.5 + quality(job.run.config)) + 10 / (
            job.run.rows or FULL)), 1.0))
    state = search(executor, max_evals=40, initial_design=in_order([good, KNN]))
    first = state.trials[:2]
    assert [t.config for t in first] == [good, KNN]
    assert [t.origin for t in first] == ["portfolio", "portfolio"]
    assert [t.fidelity for t in first] == [100, 100]
    climbed = [t for t in state.trials if t.config == good]
    assert [t.fidelity for t in climbed] == [100, 300, 900, 2700]
    assert all(t.origin == "portfolio" for t in climbed)
    assert state.finalists == [climbed[-1]]


def test_hyperband_brackets_start_on_higher_rungs():
    hb = MultiFidelity("hyperband", max_rows=FULL, n_rungs=3)  # 300, 900, 2700
    executor = FakeExecutor(by_rows())
    state = search(executor, multi_fidelity=hb, max_evals=40)
    rows = [t.fidelity for t in state.trials]
    first = 9 + 3 + 1
    assert rows[:first] == [300] * 9 + [900] * 3 + [2700]
    assert rows[first] == 900  # the second bracket starts a rung higher
    assert 2700 in rows[first + 1:first + 6]


def test_at_the_deadline_promotions_that_cannot_finish_are_skipped_and_stay_finalists():
    executor = FakeExecutor(by_rows(seconds_per_row=1e-2))  # 1 s per trial on 100 rows
    state = search(executor, deadline=40.0)
    assert executor.clock.now == pytest.approx(40.0)
    done = [t for t in state.trials if t.ok]
    assert [t.fidelity for t in done] == [100] * 27 + [300] * 4 + [100]  # 27 s, 3 s each
    # with 1 s left, the other promotions (3 s each, and more above) are not run; a new
    # bracket's first trial takes the last second
    skipped = state.trials[31:-1]
    assert [t.fidelity for t in skipped[:5]] == [300] * 5
    assert all(t.status == "skipped" and t.wall_time == 0 for t in skipped)
    assert all("1.0 s it may run" in t.error for t in skipped)
    assert state.trials[-1] == done[-1]
    # the finalists: the highest rung's trials, and the best of those not promoted in time
    stopped = [t for t in done[:27] if t.config in [s.config for s in skipped[:5]]]
    assert len(stopped) == 5
    assert state.finalists == sorted([*stopped, *done[27:31]], key=lambda t: t.id)


def test_fold_models_come_back_only_from_the_highest_fidelity():
    executor = FakeExecutor(by_rows(models="fold models"))
    state = search(executor, max_evals=40)
    kept = [job.run.keep_models_below for job in executor.submitted]
    assert kept[0] == np.inf  # before any success
    assert kept[27] == np.inf  # the first trial of a new rung
    assert kept[30] == min(t.loss for t in state.trials[27:30])  # within the rung
    assert state.best_models[0] == 39  # the single full-fidelity trial


@pytest.mark.parametrize("intensifier", ["successive_halving", "hyperband"])
def test_in_parallel_every_trial_is_recorded_and_promotions_happen(intensifier):
    mf = MultiFidelity(intensifier, max_rows=FULL, n_rungs=4)
    executor = FakeExecutor(by_rows(), capacity=2)
    state = search(executor, multi_fidelity=mf, max_evals=90)
    assert len(state.trials) == 90 and [t.id for t in state.trials] == list(range(90))
    assert {t.fidelity for t in state.trials} >= {100, 300, 900, 2700}
    if intensifier == "successive_halving":
        assert all(t.promoted == (t.fidelity > 100) for t in state.trials)
        # a worker waits for the end of a rung rather than open a new bracket before it
        # promotes: the first bracket's 40 trials are submitted first
        submitted = [job.run.rows for job in executor.submitted]
        assert submitted[:40] == [100] * 27 + [300] * 9 + [900] * 3 + [None]
    assert state.finalists and all(t.fidelity == FULL for t in state.finalists)


def test_without_multi_fidelity_every_trial_has_the_full_rows():
    executor = FakeExecutor(by_rows())
    state = search(executor, multi_fidelity=None, max_evals=5)
    assert [t.fidelity for t in state.trials] == [FULL] * 5
    assert all(job.run.rows is None for job in executor.submitted)
    assert not any(t.promoted for t in state.trials)
    assert state.finalists == state.trials


def test_refit_estimates_use_the_rows_a_trial_trained_on():
    from types import SimpleNamespace

    from autometa.plan import refit_seconds, seconds_per_row
    from autometa.records import Trial
    from autometa.smac_setup import trial_rows

    data = SimpleNamespace(splits=[(np.arange(2700), np.arange(10))] * 2, y=np.zeros(3000))
    low = Trial(0, "linear", LINEAR, "smac", "ok", 0.1, 0.1, 0.01, wall_time=2.0, fidelity=100)
    full = Trial(1, "linear", LINEAR, "smac", "ok", 0.1, 0.1, 0.01, wall_time=2.0,
                 fidelity=FULL)
    assert seconds_per_row(low, data) == pytest.approx(2.0 / 2 / 100)
    assert seconds_per_row(full, data) == pytest.approx(2.0 / 2 / FULL)
    assert refit_seconds(low, data) == pytest.approx(27 * refit_seconds(full, data))
    fewer_trees = Trial(2, "linear", LINEAR, "smac", "ok", 0.1, 0.1, 0.01, wall_time=0.5,
                        fidelity=100, trees=0.25)  # a refit trains all the trees
    assert refit_seconds(fewer_trees, data) == pytest.approx(refit_seconds(low, data))
    assert trial_rows(300.0, SH) == 300 and trial_rows(2700.0, SH) is None
    assert trial_rows(None, SH) is None and trial_rows(300.0, None) is None


def test_a_promotion_whose_measured_time_exceeds_the_trial_limit_is_skipped_not_run():
    slow = dict(LINEAR)  # the best configuration, but 10 ms per row: 9 s on 900 rows

    def respond(job):
        rows, loss = job.run.rows or FULL, quality(job.run.config)
        if job.run.config == slow:
            return "ok", outcome(10 / rows), 1e-2 * rows
        return "ok", outcome(0.5 + loss + 10 / rows), 1e-3 * rows

    executor = FakeExecutor(respond)
    state = search(executor, max_evals=45, trial_time_limit=5.0,
                   initial_design=in_order([slow, KNN]))
    climbed = [t for t in state.trials if t.config == slow]
    assert [(t.fidelity, t.status) for t in climbed] == [(100, "ok"), (300, "ok"),
                                                         (900, "skipped")]
    assert "expected to take 9.0 s on 900 rows" in climbed[-1].error
    assert climbed[-1].wall_time == 0 and climbed[-1].promoted
    run = [job.run for job in executor.submitted]
    assert not any(r.config == slow and r.rows == 900 for r in run)
    assert len(run) == 45  # a skipped promotion is not counted as an evaluation
    assert all(t.ok for t in state.trials if t.config != slow)
    # the ensemble chooses among the full-fidelity trials and the skipped one's best
    top = [t for t in state.trials if t.fidelity == FULL]
    assert top and state.finalists == sorted([*top, climbed[1]], key=lambda t: t.id)


def test_a_slow_promotion_is_run_for_the_rungs_best_and_within_a_bound_for_a_familys():
    best, second = dict(LINEAR), {**LINEAR, "linear:C": 2.0}  # slow: 3 s on 300 rows

    def slow_pair(best, second):
        def respond(job):
            rows, config = job.run.rows or FULL, job.run.config
            slow = {config_key(best): 0.0, config_key(second): 0.01}.get(config_key(config))
            if slow is not None:
                return "ok", outcome(slow + 10 / rows), 1e-2 * rows
            return "ok", outcome(0.5 + quality(config) + 10 / rows), 1e-3 * rows
        return respond

    def run(second, family_seconds):
        state = search(FakeExecutor(slow_pair(best, second)), max_evals=40,
                       promotion_seconds=1.0, family_promotion_seconds=family_seconds,
                       initial_design=in_order([second, best]))
        return state, [t for t in state.trials if t.config == second]

    state, held = run(second, family_seconds=None)
    assert [(t.fidelity, t.status) for t in state.trials if t.config == best] == \
        [(100, "ok"), (300, "ok"), (900, "ok"), (2700, "ok")]
    assert [(t.fidelity, t.status) for t in held] == [(100, "ok"), (300, "skipped")]
    assert "unless its configuration is the best on 100 rows (it is 2 of 27" in held[-1].error
    promoted = [t for t in state.trials if t.fidelity == 300 and t.ok]
    assert len(promoted) == 8  # the best third less the slow runner-up
    assert all(t.ok for t in state.trials if t.config not in (best, second))

    other_family = {**KNN, "knn:n_neighbors": 7}  # as slow and as far behind, but a k-NN
    _, ran = run(other_family, family_seconds=3.0)
    assert [(t.fidelity, t.status) for t in ran][:2] == [(100, "ok"), (300, "ok")]
    _, bounded = run(other_family, family_seconds=2.0)
    assert [(t.fidelity, t.status) for t in bounded] == [(100, "ok"), (300, "skipped")]

def test_expected_seconds_grow_as_a_power_of_the_rows():
    from autometa.records import Trial, expected_seconds

    def trial(rows, seconds, status="ok", config=LINEAR):
        return Trial(0, "linear", config, "smac", status, 0.1, None, None, seconds,
                     fidelity=rows)

    assert expected_seconds(LINEAR, 300, []) is None
    assert expected_seconds(LINEAR, 300, [trial(100, 2.0, "timeout")]) is None
    assert expected_seconds(LINEAR, 300, [trial(100, 2.0, config=KNN)]) is None
    assert expected_seconds(LINEAR, 300, [trial(100, 2.0)]) == pytest.approx(6.0)
    assert expected_seconds(LINEAR, 400, [trial(100, 2.0)], power=0.5) == pytest.approx(4.0)
    two = [trial(100, 1.0), trial(400, 2.0)]  # the square root of the rows: 4 s on 1,600;
    # but the line through them (a fixed cost of 2/3 s) is steeper: 6 s
    assert expected_seconds(LINEAR, 1600, two) == pytest.approx(6.0)
    steep = [trial(100, 1.0), trial(200, 8.0)]  # a cube, kept to the power 1.5
    assert expected_seconds(LINEAR, 800, steep) == pytest.approx(64.0)
    assert expected_seconds(LINEAR, 200, [*two, trial(300, 9.0)]) == pytest.approx(2.0)
    assert expected_seconds(LINEAR, 1600, [*two, trial(400, 2.0)]) == pytest.approx(6.0)



@pytest.mark.parametrize("limit", [5.0, 10.0])
def test_a_forest_trains_a_third_of_its_trees_below_the_top_and_its_time_is_judged_on_all(limit):
    from autometa.components import registry
    from autometa.fidelity import with_trees
    from autometa.space import build_space, family_default

    space = build_space("classification", [registry()["linear"], registry()["random_forest"]],
                        seed=0)
    forest = {**family_default(registry()["random_forest"], "classification"),
              "random_forest:n_estimators": 300}

    def respond(job):  # a tree costs 10 µs per row: 8.1 s for all 300 on all rows
        rows, config = job.run.rows or FULL, job.run.config
        if config == forest:
            trees = with_trees(config, job.run.trees)["random_forest:n_estimators"]
            return "ok", outcome(10 / rows), 1e-5 * rows * trees
        return "ok", outcome(0.5 + quality(config) + 10 / rows), 1e-3 * rows

    executor = FakeExecutor(respond)
    state = run_search(space, executor, settings(
        executor, multi_fidelity=SH, full_rows=FULL, n_random_initial=0, max_evals=40,
        trial_time_limit=limit, initial_design=in_order([forest, LINEAR])))
    jobs = [job.run for job in executor.submitted]
    assert [(r.rows, r.trees) for r in jobs if r.config == forest][:3] == \
        [(100, pytest.approx(1 / 3)), (300, pytest.approx(1 / 3)), (900, pytest.approx(1 / 3))]
    assert all((r.trees < 1) == (r.config["model"] == "random_forest" and r.rows is not None)
               for r in jobs)
    climbed = [t for t in state.trials if t.config == forest]
    assert [t.wall_time for t in climbed[:3]] == pytest.approx([0.1, 0.3, 0.9])
    assert [t.trees for t in climbed] == pytest.approx([1 / 3] * 3 + [1.0])
    top = climbed[3]
    if limit < 8.1:  # its 900-row trial on all its trees would have taken 2.7 s: 8.1 s here
        assert top.status == "skipped" and "expected to take 8.1 s on 2700 rows" in top.error
    else:
        assert (top.status, top.wall_time) == ("ok", pytest.approx(8.1))
