"""The cost model that screens SMAC's proposals under successive halving: real SMAC, fake
executor and clock."""

from __future__ import annotations

import numpy as np
import pytest

from autometa.components import registry
from autometa.cost import LEAF_ROWS, OVERHEAD, CostModel
from autometa.fidelity import SLOW_SHARE
from autometa.portfolio import load
from autometa.records import SKIPPED, Trial, config_key
from autometa.search import MAX_SKIPS, in_order
from autometa.space import build_space, configuration, family_default, to_dict
from tests.fakes import FakeExecutor, outcome
from tests.test_multifidelity import FULL, quality, search
from tests.test_search import KNN, LINEAR, SPACE

PER_ROW = {"linear": 1e-4, "knn": 1e-2}  # seconds per training row of each family


def candidates(n: int = 20) -> list[dict]:
    SPACE.seed(0)  # the same candidates whatever sampled the shared space before
    return [to_dict(c) for c in SPACE.sample_configuration(n)]


def model(configs=None) -> CostModel:
    configs = configs or candidates()
    return CostModel(SPACE, configs, [PER_ROW[c["model"]] for c in configs], overhead=0.0)


def trial(config: dict, rows: int, seconds: float, status: str = "ok",
          trees: float = 1.0) -> Trial:
    return Trial(0, config["model"], config, "smac", status, 0.1, None, None, seconds,
                 fidelity=rows, trees=trees)


def test_the_prior_is_the_candidates_seconds_per_row_times_the_rows():
    cost = model()
    assert cost.ready
    assert cost.seconds(KNN, 1000, []) == pytest.approx(10.0, rel=0.05)
    assert cost.seconds(LINEAR, 1000, []) == pytest.approx(0.1, rel=0.05)


def test_a_trials_fixed_overhead_is_not_foretold_to_grow_with_its_rows():
    configs = candidates()
    cost = CostModel(SPACE, configs, [PER_ROW[c["model"]] for c in configs], overhead=1.0,
                     source_rows=1000)  # of a k-NN's 10 s on the source rows, 1 s is fixed
    assert cost.seconds(KNN, 1000, []) == pytest.approx(10.0, rel=0.05)
    assert cost.seconds(KNN, 2000, []) == pytest.approx(1.0 + 2 * 9.0, rel=0.05)
    # a linear model's 0.1 s were all overhead: a tenth of them is taken to be its work
    assert cost.seconds(LINEAR, 10_000, []) == pytest.approx(1.0 + 10 * 0.01, rel=0.05)


def test_the_search_trials_calibrate_the_prior_by_family_else_over_all():
    cost = model()
    slow_linear = [trial(LINEAR, 1000, 0.3), trial(LINEAR, 100, 0.03)]  # 3x the prior
    assert cost.seconds(LINEAR, 1000, slow_linear) == pytest.approx(0.3, rel=0.05)
    assert cost.seconds(KNN, 1000, slow_linear) == pytest.approx(30.0, rel=0.05)  # no knn
    fast_knn = [*slow_linear, trial(KNN, 100, 0.5)]  # half the prior
    assert cost.seconds(KNN, 1000, fast_knn) == pytest.approx(5.0, rel=0.05)
    skipped = [trial(KNN, 100, 0.0, SKIPPED), trial(KNN, 100, 9.0, "error")]
    assert cost.seconds(KNN, 1000, skipped) == pytest.approx(10.0, rel=0.05)  # not timed
    third = [trial(LINEAR, 100, 0.01, trees=1 / 3)]  # 0.03 s on all its trees: 3x the prior
    assert cost.seconds(LINEAR, 1000, third) == pytest.approx(0.3, rel=0.05)


def test_without_enough_timed_candidates_there_is_no_prior():
    configs = candidates(3)
    cost = CostModel(SPACE, configs, [1e-3] * 3)
    assert not cost.ready and cost.seconds(LINEAR, 100, []) is None
    foreign = [{"model": "lightgbm", "lightgbm:n_estimators": 100}] * 10  # not in the space
    assert not CostModel(SPACE, foreign, [1e-3] * 10).ready


TREE_FAMILIES = ("xgboost", "lightgbm", "random_forest", "linear")


def tree_space(task: str = "classification"):
    return build_space(task, [registry()[f] for f in TREE_FAMILIES], seed=0)


def tree_config(family: str, task: str = "classification", **values) -> dict:
    config = family_default(registry()[family], task)
    return {**config, **{f"{family}:{k}": v for k, v in values.items()}}


def vectors(space, *configs) -> np.ndarray:
    return np.array([configuration(space, c).get_array() for c in configs])


def test_the_work_of_a_row_is_a_forests_trees_and_a_boosters_trees_and_leaves():
    space = tree_space()
    cost = CostModel(space, [], [])
    deep = tree_config("xgboost", max_depth=10, min_child_weight=1.0, n_estimators=200)
    shallow = tree_config("xgboost", max_depth=3, min_child_weight=1.0, n_estimators=200)
    lgbm = tree_config("lightgbm", num_leaves=64, min_child_samples=50, n_estimators=100)
    forest = tree_config("random_forest", n_estimators=300)
    linear = tree_config("linear")
    X = vectors(space, deep, shallow, lgbm, forest, linear)
    # a leaf holds 4 rows at least (log loss: hessians <= 1/4), so a depth-10 tree has
    # at most 1,024 leaves on 8,000 rows and 250 on 1,000
    np.testing.assert_allclose(cost.leaves("xgboost", X[:2], np.array([8000, 8000])),
                               [1024, 8])
    np.testing.assert_allclose(cost.leaves("xgboost", X[:1], np.array([1000])), [250])
    np.testing.assert_allclose(cost.leaves("lightgbm", X[2:3], np.array([1000, 8000])),
                               [20, 64])  # 1,000 rows of 50 per leaf: 20
    work = cost.work(X, 8000)
    np.testing.assert_allclose(work, [200 * (1 + LEAF_ROWS * 1024 / 8000),
                                      200 * (1 + LEAF_ROWS * 8 / 8000),
                                      100 * (1 + LEAF_ROWS * 64 / 8000), 300, 1])
    regression = CostModel(tree_space("regression"), [], [], task="regression")
    deep = tree_config("xgboost", "regression", max_depth=10, min_child_weight=10.0)
    assert regression.leaves("xgboost", vectors(regression.space, deep),
                             np.array([8000]))[0] == pytest.approx(800)  # hessians 1


def test_the_prior_learns_seconds_per_unit_of_work_so_it_foretells_a_deep_booster():
    space = tree_space()
    space.seed(0)
    configs = [to_dict(c) for c in space.sample_configuration(40)]
    shallow = [c for c in configs if c["model"] != "xgboost" or c["xgboost:max_depth"] <= 4]
    source_rows, unit = 1000, 2e-7  # seconds of a row of one tree, on the source tasks
    probe = CostModel(space, [], [])
    per_row = unit * probe.work(vectors(space, *shallow), source_rows)
    cost = CostModel(space, shallow, per_row, source_rows=source_rows, overhead=0.0)
    deep = tree_config("xgboost", max_depth=10, min_child_weight=1.0, n_estimators=869)
    expected = unit * 8000 * 869 * (1 + LEAF_ROWS * 1024 / 8000)
    assert cost.seconds(deep, 8000, []) == pytest.approx(expected, rel=0.01)
    few_leaves = tree_config("xgboost", max_depth=10, min_child_weight=100.0, n_estimators=869)
    assert cost.seconds(few_leaves, 8000, []) < expected / 10  # 20 leaves at most


def by_family(job):
    rows = job.run.rows or FULL
    config = job.run.config
    return "ok", outcome(quality(config) + 10.0 / rows), PER_ROW[config["model"]] * rows


def test_proposals_expected_to_take_too_long_are_skipped_not_run():
    executor = FakeExecutor(by_family)
    state = search(executor, max_evals=40, cost=model(), proposal_seconds=0.5,
                   initial_design=in_order([LINEAR, KNN]))
    designed_knn = [t for t in state.trials if t.config == KNN]
    assert designed_knn[0].ok and designed_knn[0].fidelity == 100  # the design is not judged
    proposed_knn = [t for t in state.trials if t.family == "knn" and t.config != KNN]
    assert proposed_knn, "SMAC proposed no k-NN to screen"
    assert all(t.status == SKIPPED and t.wall_time == 0 for t in proposed_knn)
    assert all("not run: expected to take" in t.error for t in proposed_knn)
    ran = [job.run.config for job in executor.submitted]
    assert not any(c["model"] == "knn" and c != KNN for c in ran)
    assert len(ran) == 40  # skipped proposals do not count as evaluations


def test_a_slow_familys_later_configurations_of_the_design_are_skipped_its_first_runs():
    knns = [c for c in candidates(60) if c["model"] == "knn"][:3]
    design = [knns[0], LINEAR, *knns[1:]]  # a k-NN trial on the lowest rung: about 1 s
    executor = FakeExecutor(by_family)
    state = search(executor, max_evals=10, cost=model(), repeat_seconds=0.5,
                   initial_design=in_order(design))
    first = {config_key(t.config): t for t in reversed(state.trials)}
    assert first[config_key(knns[0])].ok and first[config_key(LINEAR)].ok
    for later in knns[1:]:
        trial = first[config_key(later)]
        assert trial.status == SKIPPED and trial.fidelity == 100
        assert "another knn of the initial design" in trial.error
    ran = [job.run.config for job in executor.submitted]
    assert not any(c in ran for c in knns[1:]) and len(ran) == 10

    everything = search(FakeExecutor(by_family), max_evals=10, cost=model(),
                        initial_design=in_order(design))  # repeat_seconds: no limit
    assert all(t.ok for t in everything.trials[:4])


def test_after_max_skips_in_a_row_the_next_proposal_runs_anyway():
    executor = FakeExecutor(by_family)
    state = search(executor, max_evals=12, cost=model(), proposal_seconds=1e-9)
    statuses = "".join("s" if t.status == SKIPPED else "r" for t in state.trials)
    assert "s" in statuses and "s" * (MAX_SKIPS + 1) not in statuses
    assert len(executor.submitted) == 12


def test_a_fit_screens_with_the_shipped_portfolios_times_per_row_of_a_split(mixed):
    from autometa.automl import proposal_cost, search_settings, timed_candidates
    from autometa.plan import FitPlan
    from autometa.smac_setup import MultiFidelity
    from autometa.space import build_space
    from tests.conftest import task_data

    X, y = mixed
    data = task_data(X, y, resampling=3)
    plan = FitPlan.create(60, len(y), seed=0)
    families = ["linear", "random_forest", "knn"]
    space = build_space("classification", [registry()[f] for f in families], seed=0)
    cost = proposal_cost(data, plan, families, space)
    configs, per_row = timed_candidates(data, plan, families)
    assert cost.ready and {c["model"] for c in configs} == set(families)
    valid_rows = len(data.splits[0][1])  # a k-NN's time also grows with them
    _, searching = timed_candidates(data, plan, families, valid_rows)
    knn = np.array([c["model"] == "knn" for c in configs])
    np.testing.assert_allclose(searching[~knn], per_row[~knn])
    source_valid = np.median(load("classification").fit_rows) / 6  # 3-fold, rows / 3
    np.testing.assert_allclose(searching[knn] / per_row[knn], valid_rows / source_valid,
                               rtol=0.5)
    forest = next(c for c, t in zip(configs, per_row, strict=True) if c["model"] ==
                  "random_forest" and t > 0)
    per_split_row = per_row[configs.index(forest)] * 3  # trains on each of 3 splits
    source = load("classification").split_rows  # ... measured there, with the overhead
    expected = OVERHEAD + (per_split_row - OVERHEAD / source) * 100
    assert cost.seconds(forest, 100, []) == pytest.approx(expected, rel=0.5)
    rungs = MultiFidelity("successive_halving", max_rows=300, n_rungs=2)
    settings = search_settings(plan, data, None, rungs, cost=cost)
    assert settings.cost is cost
    assert settings.proposal_seconds == pytest.approx(min(SLOW_SHARE * 60,
                                                          plan.affordable_seconds))
    assert settings.repeat_seconds == settings.promotion_seconds == pytest.approx(SLOW_SHARE * 60)
