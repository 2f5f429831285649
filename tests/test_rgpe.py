"""RGPE: ranking weights, the ensemble's prediction, SMAC searching with it, and its sources."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from ConfigSpace import ConfigurationSpace, Float

from autometa import AutoMetaClassifier
from autometa.components import registry
from autometa.portfolio import load as load_portfolio
from autometa.rgpe import (
    RGPE,
    Forest,
    combine,
    impute,
    impute_values,
    normal_scores,
    rank_weights,
    ranking_losses,
)
from autometa.search import run_search
from autometa.space import build_space, select_families
from autometa.surrogate import (
    K_SOURCES,
    RGPEFactory,
    choose_surrogate,
    encoded,
    resolve,
)
from autometa.transfer import from_experience, from_rows, quantiles
from autometa.transfer import load as load_sources
from tests.conftest import mixed_frame
from tests.fakes import FakeExecutor
from tests.test_search import SPACE, settings, succeed

PLANE = ConfigurationSpace({"a": Float("a", (0.0, 1.0)), "b": Float("b", (0.0, 1.0))}, seed=0)


def bowl(X: np.ndarray) -> np.ndarray:
    return (X[:, 0] - 0.3) ** 2 + 0.5 * (X[:, 1] - 0.7) ** 2


def points(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 2))


def sources_like(f, n: int = 200) -> list[tuple[np.ndarray, np.ndarray]]:
    """A source that agrees with ``f`` and one that ranks everything the other way round."""
    X = points(n, 1)
    return [(X, quantiles(f(X))), (X, quantiles(-f(X)))]


# -- ranking weights ------------------------------------------------------------------------


def weights_for(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Weights of a perfect, a reversed and a noisy target model on ``n`` observations."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    target = y + rng.normal(scale=1.0, size=n)
    return rank_weights(ranking_losses(np.vstack([y, -y, target]), y, seed=seed))


def test_a_perfect_source_takes_the_weight_as_observations_grow():
    history = [weights_for(n)[0][0] for n in (3, 10, 40)]
    assert history == sorted(history)
    assert history[-1] > 0.95
    assert history[0] < 0.95  # on few observations the noisy target still wins some draws


def test_a_source_ranking_the_other_way_round_is_dropped():
    weights, dropped = weights_for(20)
    assert dropped.tolist() == [False, True]
    assert weights[1] == 0
    assert weights.sum() == pytest.approx(1.0)


def test_ranking_losses_count_misranked_pairs_of_each_resample():
    n = 6
    y = np.arange(n, dtype=float)
    losses = ranking_losses(np.vstack([y, -y]), y, n_bootstrap=4000)
    assert np.all(losses[0] == 0)
    # reversed, every ordered pair of two different draws is misranked: n^2 - sum(c_i^2)
    # for draw counts c, whose expectation is (n - 1)^2
    assert np.all(losses[1] % 2 == 0) and losses[1].max() <= n * (n - 1)
    assert losses[1].mean() == pytest.approx((n - 1) ** 2, rel=0.03)


def test_ties_share_a_resample():
    weights, dropped = rank_weights(np.zeros((3, 10)))
    # the two sources tie the target everywhere: no better than it, both dropped
    assert dropped.all() and weights.tolist() == [0.0, 0.0, 1.0]
    weights, _ = rank_weights(np.array([[0.0] * 4, [0.0] * 4, [5.0, 6.0, 7.0, 8.0]]))
    np.testing.assert_allclose(weights, [0.5, 0.5, 0.0])


def test_mean_and_variance_combination():
    means = np.array([[1.0, 2.0], [3.0, 5.0]])
    variances = np.array([[0.5, 1.0], [2.0, 4.0]])
    w = np.array([0.25, 0.75])
    mean, var = combine(means, variances, w)
    for j in range(2):
        assert mean[j] == pytest.approx(sum(w[m] * means[m, j] for m in range(2)))
        assert var[j] == pytest.approx(sum(w[m] ** 2 * variances[m, j] for m in range(2)))


# -- the SMAC model ----------------------------------------------------------------------------


def test_model_weights_the_agreeing_source_and_drops_the_reversed_one():
    model = RGPE(PLANE, sources_like(bowl), seed=0)
    X = points(40, 2)
    model.train(X, bowl(X)[:, None])
    assert model.weights_[1] == 0
    assert model.weights_[0] > 0.5
    assert len(model.history) == 1


def test_with_fewer_than_two_observations_only_the_sources_predict():
    sources = sources_like(bowl)
    model = RGPE(PLANE, sources, seed=0)
    X = points(1, 2)
    model.train(X, np.array([[0.4]]))
    np.testing.assert_allclose(model.weights_, [0.5, 0.5, 0.0])
    test = points(5, 3)
    mean, var = model.predict(test)
    shift, scale = 0.4, 1.0  # one observation: its value, unit scale
    means, variances = zip(*(m.mean_var(impute(test, impute_values(PLANE)))
                             for m in model.source_models), strict=True)
    expected_mean, expected_var = combine(np.array(means), np.array(variances), [0.5, 0.5])
    np.testing.assert_allclose(mean[:, 0], shift + scale * expected_mean)
    np.testing.assert_allclose(var[:, 0], scale**2 * expected_var)


def test_predicting_a_training_row_alone_matches_the_batch_prediction():
    model = RGPE(PLANE, sources_like(bowl), seed=0)
    X = points(12, 2)
    model.train(X, bowl(X)[:, None])
    batch = model.predict(X)
    for i in range(len(X)):
        alone = model.predict(X[i:i + 1])
        assert alone[0][0, 0] == pytest.approx(batch[0][i, 0], rel=1e-5)
        assert alone[1][0, 0] == pytest.approx(batch[1][i, 0], rel=1e-5)


def test_normal_scores_keep_the_order():
    y = np.array([3.0, -1.0, 10.0, 0.0])
    assert np.argsort(normal_scores(y)).tolist() == np.argsort(y).tolist()


def test_out_of_bag_predictions_leave_each_row_to_trees_that_did_not_see_it():
    X = impute(points(30, 0), impute_values(PLANE))
    y = bowl(X)
    forest = Forest(n_trees=30, seed=0).fit(X, y)
    oob = forest.out_of_bag(X)
    assert np.isfinite(oob).mean() > 0.9
    assert not np.allclose(oob[np.isfinite(oob)], y[np.isfinite(oob)])  # not in-sample
    assert np.corrcoef(oob[np.isfinite(oob)], y[np.isfinite(oob)])[0, 1] > 0.5


# -- sources and SMAC ----------------------------------------------------------------------------


def test_observations_of_excluded_families_are_skipped():
    sources = load_sources("classification").pick(range(5))
    only_linear = build_space("classification", select_families(
        "classification", registry(), include=["linear"]), seed=0)
    names, rows = encoded(sources, only_linear)
    linear = [sum(sources.configs[j]["model"] == "linear" for j in t.configs)
              for t in sources.tasks]
    assert [len(y) for _, y in rows] == [n for n in linear if n >= 2]
    assert len(names) == len(rows)


def test_without_a_valid_source_observation_the_search_keeps_its_forest():
    from smac.model.random_forest import RandomForest

    sources = load_sources("classification").pick(range(3))
    no_linear = replace(sources, configs=tuple(
        {"model": "xgboost"} if c["model"] == "linear" else c for c in sources.configs))
    only_linear = build_space("classification", select_families(
        "classification", registry(), include=["linear"]), seed=0)
    assert isinstance(RGPEFactory(no_linear)(only_linear, 0), RandomForest)
    assert isinstance(RGPEFactory(sources)(only_linear, 0), RGPE)


def test_the_shipped_hp_learner_joins_rgpe_on_the_space_it_was_trained_on():
    from autometa.hplearner import load as load_learner
    from autometa.metalearning.build import space_for

    learner = load_learner("classification")
    sources = load_sources("classification").pick(range(3))
    mf = dict(zip(sources.metafeature_names, sources.tasks[0].metafeatures, strict=True))
    model = RGPEFactory(sources, learner, mf)(space_for("classification"), 0)
    assert model.names[-1] == "hp-learner" and len(model.source_models) == 4
    only_linear = build_space("classification", select_families(
        "classification", registry(), include=["linear"]), seed=0)
    assert "hp-learner" not in RGPEFactory(sources, learner, mf)(only_linear, 0).names


def test_search_with_rgpe_is_reproducible_and_uses_it():
    factory = RGPEFactory(load_sources("classification").pick(range(6)))
    runs = []
    for _ in range(2):
        executor = FakeExecutor(succeed())
        state = run_search(SPACE, executor, settings(executor, max_evals=10, surrogate=factory))
        runs.append(state)
    assert [t.config for t in runs[0].trials] == [t.config for t in runs[1].trials]
    model = runs[0].smac._model
    assert isinstance(model, RGPE) and model.history
    assert len(model.source_models) == 6


def test_sources_leave_the_portfolio_left_out_group_out():
    portfolio = load_portfolio("classification")
    sources = load_sources("classification")
    task = sources.tasks[0]
    metafeatures = dict(zip(sources.metafeature_names, task.metafeatures, strict=True))
    everything = choose_surrogate("rgpe", "classification", metafeatures)
    assert task.name in everything.sources.names  # its own row is nearest
    held_out = choose_surrogate("rgpe", "classification", metafeatures,
                                portfolio.without([task.group]))
    assert task.group not in {t.group for t in held_out.sources.tasks}
    assert len(held_out.sources.tasks) == K_SOURCES


def test_surrogate_choice():
    assert resolve("auto", "off") == "rf"
    assert resolve("rgpe", "off") == "rgpe"
    assert choose_surrogate("rf", "classification", {}) is None
    with pytest.raises(ValueError, match="surrogate"):
        resolve("gp", "auto")


def test_an_unknown_surrogate_is_a_clear_error():
    X, y = mixed_frame(60)
    with pytest.raises(ValueError, match="surrogate"):
        AutoMetaClassifier(surrogate="gp").fit(X, y)


def test_a_fit_with_rgpe_is_reproducible():
    X, y = mixed_frame(150)
    runs = [AutoMetaClassifier(time_budget=300, max_evals=6, surrogate="rgpe",
                               n_initial_configs=2, include=["linear"], ensemble_size=5,
                               per_trial_time_limit=120, random_state=0).fit(X, y)
            for _ in range(2)]
    boards = [r.leaderboard()[["family", "score", "config"]] for r in runs]
    pd.testing.assert_frame_equal(boards[0], boards[1])
    assert (runs[0].leaderboard()["origin"] == "smac").sum() >= 3
    weights = runs[0].surrogate_weights_
    assert weights.columns[-1] == "target" and len(weights.columns) == K_SOURCES + 1
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert weights.index.is_monotonic_increasing and weights.index[0] >= 2
    plain = AutoMetaClassifier(time_budget=300, max_evals=3, include=["linear"],
                               ensemble_size=5, random_state=0).fit(X, y)
    assert plain.surrogate_weights_ is None


def test_stored_fits_are_sources_too(tmp_path):
    from autometa.experience import ExperienceStore
    from tests.test_experience import link, record, shipped

    store = ExperienceStore(tmp_path / "s.db")
    store.add(record("u1", losses={7: 0.01, 8: 0.02, 0: 0.5, 9: None}))
    stored = from_experience(link(store), "regression", None, ("f2", "f1"))
    [task] = stored.tasks
    assert task.name == "experience:t" and task.group == "experience:u1"
    assert [stored.configs[j]["id"] for j in task.configs] == [7, 8, 0]  # 9 failed
    assert task.quantiles.tolist() == sorted(task.quantiles.tolist())
    np.testing.assert_array_equal(task.metafeatures, [10.0, 10.0])
    portfolio = shipped()
    shipped_sources = from_rows("regression", ("f1", "f2"), [
        (name, group, vector, [({"model": "linear", "id": i}, loss)
                               for i, loss in enumerate(losses)])
        for name, group, vector, losses in zip(portfolio.tasks, portfolio.groups,
                                               portfolio.metafeatures, portfolio.losses,
                                               strict=True)])
    factory = choose_surrogate("rgpe", "regression", {"f1": 10.0, "f2": 10.0}, portfolio,
                               link(store), transfer=shipped_sources)
    assert factory.sources.names[0] == "experience:t"  # the nearest
    assert set(factory.sources.names) == {*portfolio.tasks, "experience:t"}
