"""One shared checker run against every model family: sample, build, fit, predict."""

import numpy as np
import pytest

from autometa import data as tabular
from autometa.components import MODELS
from autometa.components.base import BuildContext
from autometa.evaluation import fit_pipeline, predict_pipeline
from autometa.space import (
    ROOT,
    build_pipeline,
    build_space,
    configuration,
    family_default,
    root_defaults,
    select_families,
    to_dict,
)
from tests.conftest import mixed_frame

TASKS = ("classification", "regression")


def _typed(task):
    X, y = mixed_frame(120)
    schema = tabular.learn_schema(X)
    frame = schema.transform(X)
    if task == "classification":
        target = tabular.check_target(y, len(X), task, "t").y
    else:
        target = frame["f0"].fillna(0).to_numpy() * 2 + 1
    ctx = BuildContext(task, len(frame), ("f0", "f1", "f2", "f5"), ("f3", "f4"), (3, 3), 0, 1)
    return frame, target, ctx


def check_family(spec, task, n_samples=2):
    frame, y, ctx = _typed(task)
    cs = build_space(task, [spec], seed=1)
    configs = [family_default(spec, task)] + [to_dict(c) for c in
                                              cs.sample_configuration(n_samples)]
    for config in configs:
        configuration(cs, config)  # valid in the joint space
        pipeline = build_pipeline(config, ctx, {spec.name: spec})  # target transform included
        fit_pipeline(pipeline, frame, y, task)
        pred = predict_pipeline(pipeline, frame, task, 2 if task == "classification" else None)
        assert np.isfinite(pred).all()
        if task == "classification":
            assert pred.shape == (len(frame), 2)
            np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("spec", MODELS, ids=[m.name for m in MODELS])
def test_every_family_builds_fits_and_predicts(spec, task):
    check_family(spec, task)


@pytest.mark.parametrize("task", TASKS)
def test_hyperparameters_are_active_only_under_their_family(task):
    cs = build_space(task, select_families(task, dict((m.name, m) for m in MODELS)), seed=0)
    roots = {ROOT, *root_defaults(cs)}  # regression: also target_transform
    assert roots == ({ROOT, "target_transform"} if task == "regression" else {ROOT})
    for config in cs.sample_configuration(50):
        family = config[ROOT]
        assert all(k in roots or k.startswith(family + ":") for k in dict(config))


def test_at_least_eight_families_with_log_scaled_hyperparameters():
    cs = build_space("classification", list(MODELS))
    assert len(cs[ROOT].choices) >= 8
    assert cs["lightgbm:learning_rate"].log and cs["knn:n_neighbors"].log
    assert len(cs.conditions) > len(MODELS)


def test_include_exclude_validation():
    from autometa.components import registry

    specs = registry()
    assert [s.name for s in select_families("regression", specs, include=["knn"])] == ["knn"]
    with pytest.raises(ValueError, match="Unknown model families"):
        select_families("regression", specs, include=["nope"])
    with pytest.raises(ValueError, match="no model family"):
        select_families("regression", specs, include=["knn"], exclude=["knn"])


def test_registry_rejects_duplicate_names():
    from autometa.components import registry

    with pytest.raises(ValueError, match="share the name"):
        registry([MODELS[0]])
