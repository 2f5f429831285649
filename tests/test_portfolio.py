"""The portfolio: regret, greedy order, nearest-task selection, files, and the shipped ones."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from autometa import AutoMetaClassifier, AutoMetaRegressor, metafeatures
from autometa.components import registry
from autometa.initial_design import portfolio_design
from autometa.portfolio import (
    SCHEMA_VERSION,
    Portfolio,
    PortfolioError,
    from_json,
    load,
    portfolio_path,
    to_json,
)
from autometa.records import config_key
from autometa.regret import greedy_order, normalised_regret
from autometa.space import build_space, configuration, select_families


def _toy() -> Portfolio:
    """Four tasks in two clusters of meta-features; candidate c0 is good on the first
    cluster, c1 on the second, c2 is decent everywhere, c3 fails on task b2."""
    losses = np.array([
        [0.10, 0.90, 0.30, 0.50],
        [0.12, 0.80, 0.35, 0.50],
        [0.90, 0.10, 0.30, 0.50],
        [0.80, 0.20, 0.30, np.nan],
    ])
    return Portfolio(
        task="classification",
        metafeature_names=("f1", "f2"),
        tasks=("a1", "a2", "b1", "b2"),
        groups=("a", "a", "b1", "b2"),
        metafeatures=np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]]),
        configs=tuple({"model": "linear", "id": i} for i in range(4)),
        sources=("a1", "b1", "default", "default"),
        source_groups=("a", "b1", "default", "default"),
        losses=losses,
        times=np.array([[1.0, 9.0, 2.0, np.nan]] * 4),
        fit_rows=np.full(4, 100.0),
    )


def test_normalised_regret_is_zero_at_best_one_at_worst_and_for_failures():
    regret = normalised_regret(np.array([[1.0, 2.0, 3.0, np.nan], [5.0, 5.0, 5.0, 5.0]]))
    np.testing.assert_allclose(regret, [[0.0, 0.5, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])


def test_greedy_order_first_takes_the_best_on_average_then_the_best_complement():
    p = _toy()
    order = greedy_order(p.regret)
    assert order[0] == 2  # decent everywhere: lowest mean regret alone
    assert set(order[1:3]) == {0, 1}  # then the cluster specialists
    assert sorted(order) == [0, 1, 2, 3]


def test_greedy_order_respects_task_weights():
    p = _toy()
    assert greedy_order(p.regret, weights=np.array([0.5, 0.5, 0.0, 0.0]))[0] == 0


def test_select_puts_first_what_is_best_on_the_nearest_tasks():
    p = _toy()
    picks = p.select({"f1": 5.05, "f2": 5.0}, n=3, k=2)
    assert picks[0].config["id"] == 1 and picks[0].reason.startswith("knn:b")
    assert len({q.config["id"] for q in picks}) == 3
    near_a = p.select({"f1": 0.05, "f2": 0.0}, n=2, k=2)
    assert [q.config["id"] for q in near_a] == [0, 1]


def test_select_leans_on_the_greedy_order_for_a_far_away_task():
    p = _toy()
    near = p.select({"f1": 0.05, "f2": 0.0}, n=4, k=2)
    far = p.select({"f1": 400.0, "f2": -300.0}, n=4, k=2)
    n_knn = [sum(q.reason.startswith("knn") for q in picks) for picks in (near, far)]
    assert n_knn[0] > n_knn[1] == 0
    assert [q.config for q in far] == [p.configs[i] for i in p.order[:4]]


def test_select_greedy_strategy_and_missing_metafeatures_ignore_neighbours():
    p = _toy()
    expected = [p.configs[i] for i in p.order[:3]]
    assert [q.config for q in p.select({"f1": 0.0, "f2": 0.0}, 3, "greedy")] == expected
    assert [q.config for q in p.select(None, 3)] == expected
    nan_picks = p.select({"f1": np.nan}, 2)  # NaN meta-features are imputed, not fatal
    assert len(nan_picks) == 2


def _binary_and_multiclass(n_each: int) -> Portfolio:
    """``n_each`` binary tasks on which c0 is best and as many multiclass tasks (nearer to
    the queries below in ``f1``) on which c1 is."""
    binary, multi = [0.1, 0.9], [0.9, 0.1]
    n = 2 * n_each
    return Portfolio(
        task="classification", metafeature_names=("f1", "simple.n_classes"),
        tasks=tuple(f"t{i}" for i in range(n)), groups=tuple(f"t{i}" for i in range(n)),
        metafeatures=np.array([[5.0 + 0.1 * i, 2] for i in range(n_each)]
                              + [[0.1 * i, 5] for i in range(n_each)]),
        configs=({"id": 0}, {"id": 1}), sources=("t0", "t1"), source_groups=("t0", "t1"),
        losses=np.array([binary] * n_each + [multi] * n_each), times=np.ones((n, 2)),
        fit_rows=np.full(n, 100.0),
    )


@pytest.mark.parametrize(("classes", "first"), [(2, 0), (4, 1)])
def test_select_learns_only_from_tasks_of_the_same_kind(classes, first):
    p = _binary_and_multiclass(10)
    picks = p.select({"f1": 0.0, "simple.n_classes": classes}, n=1, k=5)
    assert picks[0].config["id"] == first
    assert len(p.same_kind({"simple.n_classes": classes}).tasks) == 10


def test_same_kind_keeps_every_task_when_its_kind_is_rare_or_unknown():
    p = _binary_and_multiclass(5)
    assert len(p.same_kind({"simple.n_classes": 2}).tasks) == 10
    assert len(p.same_kind({"simple.n_classes": np.nan}).tasks) == 10
    assert len(replace(p, task="regression").same_kind({"simple.n_classes": 2}).tasks) == 10


def test_without_drops_a_group_and_the_candidates_its_search_found():
    p = _toy().without(["a"])
    assert p.tasks == ("b1", "b2")
    assert [c["id"] for c in p.configs] == [1, 2, 3]  # c0 came from a1
    assert p.losses.shape == (2, 3)
    q = replace(_toy(), source_groups=("a", "b9", "default", "default")).without(["b9"])
    assert q.tasks == _toy().tasks and len(q.configs) == 3  # a source task that is no row


def test_json_round_trip_keeps_everything(tmp_path):
    p = _toy()
    doc = json.loads(json.dumps(to_json(p)))
    assert doc["greedy_order"] == p.order
    q = from_json(doc)
    np.testing.assert_array_equal(q.losses, p.losses)
    assert q.configs == p.configs and q.groups == p.groups
    path = tmp_path / "classification.json"
    path.write_text(json.dumps(doc))
    assert load("classification", path).tasks == p.tasks


def test_a_wrong_schema_version_or_broken_file_is_a_clear_error(tmp_path):
    doc = to_json(_toy())
    doc["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(PortfolioError, match="schema version"):
        from_json(doc)
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    with pytest.raises(PortfolioError, match="Cannot read"):
        load("classification", bad)
    with pytest.warns(UserWarning, match="without meta-learning"):
        assert portfolio_design("classification", "auto", {}, 5, ["linear"], bad).done


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_shipped_portfolio_configurations_are_valid_in_the_current_space(task):
    assert portfolio_path(task).is_file(), f"no shipped {task} portfolio"
    p = load(task)
    space = build_space(task, select_families(task, registry()))
    for config in p.configs:
        configuration(space, config)  # raises if invalid
    assert len(p.tasks) >= 20 and p.losses.shape == (len(p.tasks), len(p.configs))
    assert p.provenance["corpus_tasks"] >= len(p.tasks)


def test_the_warm_start_only_uses_the_searched_families():
    picks = portfolio_design("classification", "greedy", None, 8, ["linear", "knn"]).planned()
    assert picks and {q.config["model"] for q in picks} <= {"linear", "knn"}


@pytest.mark.slow
def test_fit_starts_from_the_portfolio_and_records_why(mixed):
    X, y = mixed
    clf = AutoMetaClassifier(time_budget=90, max_evals=8, n_initial_configs=6,
                             random_state=0).fit(X, y)
    assert set(clf.metafeatures_) == set(metafeatures.names("classification"))
    reasons = [c["reason"] for c in clf.initial_configs_]
    assert len(reasons) == 6 and reasons[3:5] == ["default", "default"]  # after 3 picks
    assert "default" not in reasons[:3] + reasons[5:]
    assert any(r.startswith("knn:") for r in reasons)  # the neighbours moved some up
    first = [t for t in clf.trials_ if t.origin == "portfolio"]
    assert len(first) == 6
    assert {config_key(t.config) for t in first} == {
        config_key(c["config"]) for c in clf.initial_configs_}
    assert set(clf.leaderboard()["origin"]) == {"portfolio", "smac"}


def test_fit_without_meta_learning_uses_no_portfolio(regression_data):
    X, y = regression_data
    reg = AutoMetaRegressor(time_budget=20, max_evals=3, meta_learning="off",
                            include=["linear", "knn"], random_state=0).fit(X, y)
    assert reg.metafeatures_ is None and reg.initial_configs_ == []
    assert set(reg.leaderboard()["origin"]) == {"smac"}
    greedy = AutoMetaRegressor(time_budget=20, max_evals=3, meta_learning="greedy",
                               include=["linear", "knn"], random_state=0).fit(X, y)
    assert [c["reason"] for c in greedy.initial_configs_] == ["greedy"] * 3  # max_evals
    assert {c["config"]["model"] for c in greedy.initial_configs_} <= {"linear", "knn"}


@pytest.mark.slow
def test_a_wheel_install_finds_the_shipped_portfolios(tmp_path):
    """Build a wheel, install it (not editable) into a fresh folder, load from there."""
    root = Path(__file__).resolve().parents[1]
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", str(root), "--no-deps", "-w", str(tmp_path / "dist")],
                   check=True, capture_output=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("autometa-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(tmp_path / "site"), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    probe = ("import autometa, autometa.portfolio as p; "
             "print(autometa.__file__); "
             "print([len(p.load(t).tasks) for t in ('classification', 'regression')])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
                          timeout=120)
    assert done.returncode == 0, done.stderr
    where, counts = done.stdout.splitlines()
    assert where.startswith(str(tmp_path / "site"))
    assert all(n >= 20 for n in json.loads(counts))


def run_from_a_source_tree(tmp_path: Path, with_portfolios: bool) -> subprocess.CompletedProcess:
    """Copy the source tree ``autometa/`` (and ``portfolios/``) to ``tmp_path`` and load the
    classification portfolio there, as Python run from a repository root does when autometa
    is also installed (not editable): the package ``autometa.portfolios`` does not exist."""
    root = Path(__file__).resolve().parents[1]
    skip = shutil.ignore_patterns("__pycache__", "metadata")
    shutil.copytree(root / "autometa", tmp_path / "autometa", ignore=skip)
    if with_portfolios:
        shutil.copytree(root / "portfolios", tmp_path / "portfolios", ignore=skip)
    probe = ("import sys; sys.modules['autometa.portfolios'] = None; "  # not importable
             "import autometa, autometa.portfolio as p; print(autometa.__file__); "
             "print(p.portfolio_path('classification')); "
             "print(len(p.load('classification').tasks))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)


def test_a_source_tree_finds_the_portfolios_next_to_it(tmp_path):
    done = run_from_a_source_tree(tmp_path, with_portfolios=True)
    assert done.returncode == 0, done.stderr
    where, path, n_tasks = done.stdout.splitlines()
    assert where == str(tmp_path / "autometa" / "__init__.py")
    assert path == str(tmp_path / "portfolios" / "classification.json")
    assert int(n_tasks) >= 20


def test_without_portfolios_anywhere_the_error_says_what_to_do(tmp_path):
    done = run_from_a_source_tree(tmp_path, with_portfolios=False)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("autometa.portfolio.PortfolioError: The shipped portfolios are missing")
    assert str(tmp_path / "portfolios") in last and "Reinstall autometa" in last
    assert "meta_learning='off'" in last


@pytest.mark.parametrize(("n_rows", "after"), [(None, 3), (1500, 3), (1501, 1)])
def test_the_default_lightgbm_and_hgb_come_early(n_rows, after):
    shipped = load("classification")
    assert shipped.measured_rows == 1500
    picks = portfolio_design("classification", "greedy", None, 6, list(registry()),
                             shipped, n_rows=n_rows).planned()
    defaults = [p.config["model"] for p in picks[after:after + 2]]
    assert [p.reason for p in picks[after:after + 2]] == ["default", "default"]
    assert defaults == ["lightgbm", "hist_gradient_boosting"]
    only_linear = portfolio_design("classification", "greedy", None, 3, ["linear"],
                                   shipped).planned()
    assert all(p.reason != "default" for p in only_linear)


def test_affordable_keeps_the_candidates_expected_to_fit_the_trial_limit():
    p = _toy()  # 0.01, 0.09 and 0.02 s per training row; the last one never timed
    assert [c["id"] for c in p.affordable(5.0, 200).configs] == [0, 2, 3]
    assert [c["id"] for c in p.affordable(1.0, 200).configs] == [3]
    assert p.affordable(0.001, 10**9).configs == p.configs[3:]
    nothing_timed = replace(p, times=np.full((4, 4), np.nan))
    assert nothing_timed.affordable(0.001, 10**9).configs == p.configs
    assert p.without(["a"]).affordable(5.0, 200).times.shape == (2, 2)


def test_expected_seconds_of_a_nearest_neighbour_model_grow_with_the_validation_rows():
    """A k-NN compares each validation row with its training rows: timed in 4-fold
    cross-validation of 200 rows (50 validation rows per fold, 150 training rows in
    all), a trial validating on 500 rows costs ten times as much per training row; the
    other families' costs do not move."""
    p = replace(_toy(), configs=({"model": "knn", "id": 0}, *_toy().configs[1:]),
                fit_rows=np.full(4, 600.0), provenance={"fidelity": {"n_splits": 4}})
    plain = p.expected_seconds(600.0)
    np.testing.assert_allclose(plain[:3], [1.0, 9.0, 2.0])
    np.testing.assert_allclose(p.expected_seconds(600.0, valid_rows=500)[:3],
                               [10.0, 9.0, 2.0])
    np.testing.assert_allclose(p.expected_seconds(600.0, valid_rows=50)[:3], plain[:3])
    unknown_folds = replace(p, provenance={})
    np.testing.assert_allclose(unknown_folds.expected_seconds(600.0, valid_rows=500)[:3],
                               plain[:3])


def test_affordable_scales_boosting_work_by_the_number_of_classes():
    """Boosting grows a tree per class and round: timed on binary sources, a boosted
    candidate costs ten times as much on a 10-class task; a linear one does not."""
    p = replace(_toy(), metafeature_names=("f1", "simple.n_classes"),
                metafeatures=np.array([[0.0, 2.0], [0.1, 2.0], [5.0, 2.0], [5.1, 2.0]]),
                configs=({"model": "lightgbm", "id": 0}, *_toy().configs[1:]))
    assert [c["id"] for c in p.affordable(5.0, 200, n_classes=2).configs] == [0, 2, 3]
    assert [c["id"] for c in p.affordable(5.0, 200, n_classes=10).configs] == [2, 3]
    assert [c["id"] for c in p.affordable(20.0, 200, n_classes=10).configs] == [0, 1, 2, 3]
    multiclass_sources = replace(p, metafeatures=p.metafeatures * [1, 5])  # timed on 10 classes
    assert [c["id"] for c in multiclass_sources.affordable(0.5, 200, 2).configs] == [0, 3]
