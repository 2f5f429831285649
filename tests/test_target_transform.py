"""The regression search's target transformation: space, builds, scores, design, export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline

from autometa import AutoMetaClassifier, AutoMetaRegressor
from autometa.components import registry
from autometa.components.target import (
    NONE,
    TRANSFORMS,
    TargetTransformer,
    signed_expm1,
    signed_log1p,
    with_target_transform,
)
from autometa.ensemble import Ensemble, Member
from autometa.evaluation import evaluate_with_models, predict_pipeline, refit
from autometa.export import fitted_types, to_voting
from autometa.initial_design import portfolio_design
from autometa.leaderboard import leaderboard_frame
from autometa.portfolio import load
from autometa.records import Trial, config_key
from autometa.search import SearchSettings, run_search
from autometa.space import (
    TARGET_TRANSFORM,
    build_pipeline,
    build_space,
    configuration,
    family_default,
    root_defaults,
    select_families,
)
from autometa.table import Table
from tests.fakes import FakeExecutor, outcome

SPECS = registry()


def skewed(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A positive, right-skewed target (log-normal in two of the features)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    X["kind"] = pd.Categorical(rng.choice(["u", "v"], size=n))
    y = np.exp(1.5 * X["a"] + 0.5 * X["b"] + (X["kind"] == "u") + rng.normal(0, 0.3, n))
    return X, y.to_numpy()


def space(task: str, transforms=TRANSFORMS, seed: int = 0):
    return build_space(task, select_families(task, SPECS), seed=seed,
                       target_transforms=transforms)


def regression_config(family: str, transform: str) -> dict:
    return {**family_default(SPECS[family], "regression"), TARGET_TRANSFORM: transform}


def regression_data(X, y, n_splits: int = 3):
    from autometa.evaluation import TaskData

    table = Table.from_raw(X, y, "regression")
    return TaskData.from_table(table, resampling=n_splits, seed=0), table


# -- the transformations ----------------------------------------------------------------


def test_signed_log1p_is_log1p_on_non_negative_values_and_inverts_everywhere():
    y = np.array([-1e6, -3.5, -1e-9, 0.0, 1e-9, 2.0, 1e7])
    np.testing.assert_allclose(signed_expm1(signed_log1p(y)), y, rtol=1e-12)
    positive = y[y >= 0]
    np.testing.assert_array_equal(signed_log1p(positive), np.log1p(positive))


@pytest.mark.parametrize("method", ["log1p", "yeo-johnson"])
def test_the_inverse_is_exact_inside_the_training_range_and_clipped_outside(method):
    y = np.exp(np.random.default_rng(0).normal(2.0, 1.5, size=(300, 1)))
    t = TargetTransformer(method).fit(y)
    np.testing.assert_allclose(t.inverse_transform(t.transform(y)), y, rtol=1e-8)
    wild = np.array([[-1e6], [1e6], [np.inf]])  # a model extrapolating far
    back = t.inverse_transform(wild)
    assert np.isfinite(back).all()
    np.testing.assert_allclose(back.ravel(), [y.min(), y.max(), y.max()], rtol=1e-8)


def test_an_unknown_transformation_is_refused():
    with pytest.raises(ValueError, match="Unknown target transformation"):
        with_target_transform(Pipeline([("model", None)]), "log")
    with pytest.raises(ValueError, match="Unknown target transformation"):
        TargetTransformer("box-cox").fit(np.ones((3, 1)))


# -- the space ----------------------------------------------------------------------------


def test_only_regression_spaces_offer_the_transformation_with_none_by_default():
    reg = space("regression")
    assert reg[TARGET_TRANSFORM].choices == TRANSFORMS
    assert root_defaults(reg) == {TARGET_TRANSFORM: NONE}
    assert reg.get_default_configuration()[TARGET_TRANSFORM] == NONE
    assert TARGET_TRANSFORM not in space("regression", (NONE,))
    assert space("regression", (NONE,)) == build_space(
        "regression", select_families("regression", SPECS), seed=0, target_transforms=(NONE,))
    assert TARGET_TRANSFORM not in space("classification")
    assert root_defaults(space("classification")) == {}


def test_classification_spaces_and_trials_do_not_change():
    with_option, without = space("classification", seed=3), space("classification", (NONE,), 3)
    assert with_option == without
    assert [dict(c) for c in with_option.sample_configuration(5)] == \
        [dict(c) for c in without.sample_configuration(5)]
    runs = []
    for transforms in (TRANSFORMS, (NONE,)):
        cs = space("classification", transforms, seed=3)
        design = portfolio_design("classification", "greedy", None, 4,
                                  [s.name for s in select_families("classification", SPECS)],
                                  defaults=root_defaults(cs))
        executor = FakeExecutor(lambda job: ("ok", outcome(len(config_key(job.run.config)) % 7),
                                             1.0))
        settings = SearchSettings(seed=3, deadline=1e9, trial_time_limit=100.0, max_evals=8,
                                  initial_design=design, clock=executor.clock)
        runs.append([(t.config, t.origin) for t in run_search(cs, executor, settings).trials])
    assert runs[0] == runs[1]
    assert all(TARGET_TRANSFORM not in config for config, _ in runs[0])


def test_shipped_regression_candidates_are_valid_and_mean_no_transformation():
    cs = space("regression")
    portfolio = load("regression")
    assert all(TARGET_TRANSFORM not in c for c in portfolio.configs)  # stored without it
    for stored in portfolio.configs:
        config = configuration(cs, stored)
        assert config[TARGET_TRANSFORM] == NONE
        assert {k: v for k, v in dict(config).items() if k != TARGET_TRANSFORM} == \
            pytest.approx(stored)


def test_the_initial_design_hands_out_the_candidates_completed_once_each():
    cs = space("regression")
    families = [s.name for s in select_families("regression", SPECS)]
    design = portfolio_design("regression", "greedy", None, 6, families,
                              defaults=root_defaults(cs), n_rows=10**6)  # baseline second
    executor = FakeExecutor(lambda job: ("ok", outcome(0.5 + len(config_key(job.run.config))
                                                        % 11 / 100), 1.0))
    settings = SearchSettings(seed=0, deadline=1e9, trial_time_limit=100.0, max_evals=10,
                              initial_design=design, n_random_initial=0,
                              clock=executor.clock)
    trials = run_search(cs, executor, settings).trials
    first = trials[:6]
    assert [t.origin for t in first] == ["portfolio"] * 6
    assert [t.config for t in first] == [p.config for p in design.picks]
    assert len({config_key(t.config) for t in first}) == 6  # no candidate twice
    assert all(t.config[TARGET_TRANSFORM] == NONE for t in first)
    assert design.picks[1].reason == "default"


# -- builds and scores --------------------------------------------------------------------


def test_the_model_step_is_wrapped_and_none_builds_the_plain_pipeline():
    X, y = skewed()
    data, _ = regression_data(X, y)
    ctx = data.context(len(y), seed=0, n_threads=1)
    plain = build_pipeline(family_default(SPECS["lightgbm"], "regression"), ctx, SPECS)
    same = build_pipeline(regression_config("lightgbm", NONE), ctx, SPECS)
    wrapped = build_pipeline(regression_config("lightgbm", "log1p"), ctx, SPECS)
    assert type(plain.steps[-1][1]) is type(same.steps[-1][1])
    assert [n for n, _ in wrapped.steps] == [n for n, _ in plain.steps]
    model = wrapped.steps[-1][1]
    assert isinstance(model, TransformedTargetRegressor)
    assert type(model.regressor) is type(plain.steps[-1][1])
    assert model.transformer.method == "log1p"


def test_validation_losses_score_original_scale_predictions_of_forest_pipelines():
    X, y = skewed()
    data, _ = regression_data(X, y)
    config = regression_config("random_forest", "log1p")
    result, folds = evaluate_with_models(config, data, seed=0)
    assert all(isinstance(p.steps[-1][1], TransformedTargetRegressor) for p in folds.pipelines)
    # the same forest on log1p(y) by scikit-learn alone, transformed back with expm1
    expected = []
    for train, val in data.splits:
        ctx = data.context(len(train), 0, 1)
        pipe = build_pipeline(family_default(SPECS["random_forest"], "regression"), ctx, SPECS)
        prep, forest = pipe.steps[0][1], pipe.steps[-1][1]
        forest.fit(prep.fit_transform(data.X.iloc[train]), np.log1p(data.y[train]))
        expected.append(np.expm1(forest.predict(prep.transform(data.X.iloc[val]))))
    expected = np.concatenate(expected)
    np.testing.assert_allclose(result.predictions, expected, rtol=1e-5)
    y_val = data.y[data.val_index]
    rmse = np.sqrt(np.mean((y_val - result.predictions.astype(np.float64)) ** 2))
    assert result.loss == pytest.approx(rmse, rel=1e-5)
    assert result.loss < np.std(y_val)  # the original scale: log-scale predictions score worse
    for pipeline, (_, val) in zip(folds.pipelines, data.splits, strict=True):
        rows = data.X.iloc[val]
        np.testing.assert_array_equal(predict_pipeline(pipeline, rows, "regression", None),
                                      pipeline.predict(rows))


@pytest.mark.parametrize("transform", ["log1p", "yeo-johnson"])
def test_refitted_members_export_with_identical_predictions(transform):
    X, y = skewed(seed=1)
    data, table = regression_data(X, y)
    members = tuple(Member(i, w, refit(regression_config(family, transform), data, seed=0))
                    for i, (family, w) in enumerate([("lightgbm", 0.6), ("linear", 0.4)]))
    assert all(isinstance(m.pipeline.steps[-1][1], TransformedTargetRegressor) for m in members)
    ensemble = Ensemble(members, "regression")
    vote = to_voting(ensemble, fitted_types(table.schema, X.shape[1], np.asarray(X.columns)))
    np.testing.assert_allclose(vote.predict(X), ensemble.predict(table.X), rtol=1e-12)


# -- what users see -----------------------------------------------------------------------


def trial(i: int, config: dict) -> Trial:
    return Trial(i, config["model"], config, "smac", "ok", 1.0 + i, 0.1, 0.01, 0.2)


def test_the_leaderboard_shows_the_transformation_when_the_search_chose_one():
    with_it = [trial(0, regression_config("linear", "log1p")),
               trial(1, regression_config("knn", NONE))]
    board = leaderboard_frame(with_it, {0: 1.0})
    assert list(board.columns[:4]) == ["rank", "trial", "family", TARGET_TRANSFORM]
    assert board[TARGET_TRANSFORM].tolist() == ["log1p", NONE]
    without = [trial(0, family_default(SPECS["linear"], "regression"))]
    assert TARGET_TRANSFORM not in leaderboard_frame(without, {0: 1.0}).columns


def test_the_regressor_parameter_sets_the_plan_and_is_validated():
    table = Table.from_raw(*skewed(100), "regression")
    assert AutoMetaRegressor()._plan(table, 0, 0.0, 1).target_transforms == (NONE,)
    assert AutoMetaRegressor(target_transform="auto")._plan(table, 0, 0.0, 1).target_transforms \
        == TRANSFORMS
    assert "target_transform" not in AutoMetaClassifier().get_params()
    X, y = skewed(60)
    with pytest.raises(ValueError, match="target_transform"):
        AutoMetaRegressor(target_transform="log").fit(X, y)


@pytest.mark.slow
def test_a_fit_searches_the_transformation_and_exports_it():
    X, y = skewed(300)
    common = dict(time_budget=30, max_evals=12, meta_learning="off", random_state=0,
                  include=["lightgbm", "linear", "random_forest"])
    model = AutoMetaRegressor(**common, target_transform="auto").fit(X, y)
    board = model.leaderboard()
    assert set(board[TARGET_TRANSFORM]) - {NONE}  # the search tried a transformation
    assert all(TARGET_TRANSFORM in t.config for t in model.trials_)
    exported = model.to_sklearn()
    np.testing.assert_allclose(exported.predict(X), model.predict(X), rtol=1e-9)
    raw = AutoMetaRegressor(**common).fit(X, y)
    assert TARGET_TRANSFORM not in raw.leaderboard().columns
    assert not any(TARGET_TRANSFORM in t.config for t in raw.trials_)
