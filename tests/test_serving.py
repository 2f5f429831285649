"""Faster encoders for serving: exactly the predictions of the pipelines they replace."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer

from autometa import data as tabular
from autometa.components import registry
from autometa.components.base import BuildContext
from autometa.evaluation import fit_pipeline, predict_pipeline
from autometa.serving import OneHotCodes, OrdinalCodes, accelerate
from autometa.space import build_pipeline, family_default

SPECS = registry()


def table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Two numbers and three categorical columns: one with rare levels (grouped as
    infrequent by a small one-hot cap), one with missing values."""
    rng = np.random.default_rng(seed)
    levels = [f"l{i}" for i in range(12)]
    X = pd.DataFrame({
        "a": rng.normal(size=n),
        "shop": rng.choice(levels, size=n, p=np.r_[[0.3, 0.3], np.full(10, 0.04)]),
        "b": rng.normal(size=n),
        "colour": rng.choice(["red", "green", "blue", None], size=n),
        "size": rng.choice(["s", "m", "l"], size=n),
    })
    y = (X["a"] + (X["shop"] == "l1") - (X["colour"] == "red") > 0).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def typed():
    X, y = table(400, 0)
    schema = tabular.learn_schema(X)
    new, _ = table(300, 1)
    new.loc[:20, "shop"] = "never seen"  # unseen at fit time: missing after typing
    return schema.transform(X), y, schema.transform(new), schema.categorical_names


def fitted(family: str, typed, **params):
    frame, y, _, cats = typed
    numbers = tuple(c for c in frame.columns if c not in cats)
    ctx = BuildContext("classification", len(frame), numbers, tuple(cats),
                       tuple(len(frame[c].cat.categories) for c in cats), 0, 1)
    config = {**family_default(SPECS[family], "classification"),
              **{f"{family}:{k}": v for k, v in params.items()}}
    return fit_pipeline(build_pipeline(config, ctx, SPECS), frame, y, "classification")


@pytest.mark.parametrize("family, params, replaced", [
    ("random_forest", {"cat_encoding": "onehot", "onehot_max_categories": 4}, OneHotCodes),
    ("lightgbm", {"cat_encoding": "onehot", "onehot_max_categories": 16}, OneHotCodes),
    ("hist_gradient_boosting", {"cat_encoding": "native"}, OrdinalCodes),
    ("linear", {"onehot_max_categories": 4}, OneHotCodes),
])
def test_accelerated_pipelines_predict_exactly_as_before(typed, family, params, replaced):
    pipeline = fitted(family, typed, **params)
    frame, _, new, _ = typed
    before = predict_pipeline(pipeline, new, "classification", 2)
    accelerate(pipeline, frame.iloc[:100])
    prep, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    branches = [t for _, t, _ in prep.transformers_] if isinstance(prep, ColumnTransformer) else []
    used = [prep, getattr(model, "_preprocessor", None), *branches]
    assert any(isinstance(step, replaced) for step in used)
    np.testing.assert_array_equal(predict_pipeline(pipeline, new, "classification", 2), before)


def test_a_replacement_that_would_change_the_output_is_not_made(typed, monkeypatch):
    pipeline = fitted("random_forest", typed, cat_encoding="onehot", onehot_max_categories=4)
    original = pipeline.steps[0][1]
    monkeypatch.setattr(OneHotCodes, "transform", lambda self, X: np.zeros((len(X), 1)))
    accelerate(pipeline, typed[0].iloc[:100])
    assert pipeline.steps[0][1] is original


def test_other_pipelines_are_left_as_they_are(typed):
    pipeline = fitted("random_forest", typed, cat_encoding="ordinal")
    steps = list(pipeline.steps)
    assert accelerate(pipeline, typed[0].iloc[:100]) is pipeline
    assert pipeline.steps == steps
