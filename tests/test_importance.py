"""Permutation feature importance, scored with the fit's metric."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score, log_loss, r2_score, roc_auc_score

from autometa import AutoMetaClassifier, AutoMetaRegressor
from autometa.importance import encode_labels, metric_scorer
from autometa.metrics import resolve_metric
from tests.conftest import mixed_frame


def labelled(labels, seed: int = 0):
    """Three numeric features and ``labels`` given by noisy bins of the first."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(90, 3))
    score = X[:, 0] + rng.normal(scale=0.7, size=90)
    edges = np.quantile(score, np.linspace(0, 1, len(labels) + 1)[1:-1])
    return X, np.asarray(labels)[np.digitize(score, edges)]


@pytest.mark.parametrize("labels, name, expected", [
    (["b", "a"], "roc_auc", lambda y, m, X: roc_auc_score(y == "b", m.predict_proba(X)[:, 1])),
    (["b", "a"], "f1", lambda y, m, X: f1_score(y, m.predict(X), pos_label="b")),
    ([30, 10, 20], "f1_macro", lambda y, m, X: f1_score(y, m.predict(X), average="macro")),
    ([30, 10, 20], "balanced_accuracy",
     lambda y, m, X: balanced_accuracy_score(y, m.predict(X))),
    ([30, 10, 20], "neg_log_loss", lambda y, m, X: -log_loss(y, m.predict_proba(X))),
])
def test_the_scorer_scores_original_labels_as_the_metric_does(labels, name, expected):
    """The estimator predicts the original labels (probabilities in ``classes_`` order);
    the metric scores their positions in ``classes_``."""
    X, y = labelled(labels)
    model = LogisticRegression().fit(X, y)  # classes_ sorted, as autometa's are
    metric = resolve_metric(name, "classification", len(labels))
    score = metric_scorer(metric, model.classes_)(model, X, encode_labels(y, model.classes_))
    assert score == pytest.approx(expected(y, model, X), rel=1e-9)


def test_the_regression_scorer_scores_values():
    X, _ = labelled(["a", "b"])
    y = X @ [1.0, -2.0, 0.5] + np.random.default_rng(1).normal(size=len(X))
    model = LinearRegression().fit(X, y)
    metric = resolve_metric("r2", "regression")
    assert metric_scorer(metric, None)(model, X, y) == pytest.approx(r2_score(y, model.predict(X)))


def test_unknown_labels_are_named():
    with pytest.raises(ValueError, match=r"y holds 2 value\(s\) that are not classes the model "
                       r"was fitted on \('maybe', nan\); the classes are no, yes"):
        encode_labels(np.array(["yes", "maybe", np.nan], dtype=object),
                      np.array(["no", "yes"], dtype=object))
    np.testing.assert_array_equal(encode_labels(pd.Series([20, 10]), np.array([10, 20])), [1, 0])


@pytest.fixture(scope="module")
def fitted():
    X, y = mixed_frame(240)
    X["noise"] = np.random.default_rng(5).normal(size=len(X))
    model = AutoMetaClassifier(time_budget=15, max_evals=6, include=["linear", "lightgbm"],
                               random_state=0).fit(X, y)
    return model, X, y


@pytest.mark.slow
def test_an_informative_column_ranks_above_noise(fitted):
    model, X, y = fitted
    frame = model.feature_importance(X, y, n_repeats=3, random_state=0)
    assert list(frame.columns) == ["feature", "importance_mean", "importance_std", "importances"]
    assert sorted(frame["feature"]) == sorted(X.columns)
    assert frame["importance_mean"].is_monotonic_decreasing
    rank = {name: i for i, name in enumerate(frame["feature"])}
    assert rank["a"] < rank["noise"] and rank["a"] < rank["c"]
    assert frame.set_index("feature").loc["a", "importance_mean"] > 0.05
    row = frame.iloc[0]
    assert len(row["importances"]) == 3
    assert row["importance_mean"] == pytest.approx(np.mean(row["importances"]))


@pytest.mark.slow
def test_importance_refuses_other_columns_with_the_estimators_error(fitted):
    model, X, y = fitted
    with pytest.raises(ValueError, match="missing") as predicted:
        model.predict(X.drop(columns="color"))
    with pytest.raises(ValueError) as scored:
        model.feature_importance(X.drop(columns="color"), y)
    assert str(scored.value) == str(predicted.value)
    with pytest.raises(ValueError, match="one label per row"):
        model.feature_importance(X, y[:-1])


@pytest.mark.slow
def test_regression_importance_on_an_array_names_columns_x0(regression_data):
    X, y = regression_data
    model = AutoMetaRegressor(time_budget=10, max_evals=3, include=["linear"],
                              random_state=0).fit(X.to_numpy(), y)
    frame = model.feature_importance(X.to_numpy(), y, n_repeats=2, random_state=0)
    assert set(frame["feature"]) == {"x0", "x1", "x2", "x3", "x4"}
    assert frame["feature"].iloc[0] == "x0"  # p carries most of the signal


def test_the_importance_plot_is_a_png(tmp_path):
    from autometa.plots import plot_importance

    frame = pd.DataFrame({"feature": [f"f{i}" for i in range(25)],
                          "importance_mean": np.linspace(0.3, -0.01, 25),
                          "importance_std": np.full(25, 0.01)})
    path = plot_importance(frame, tmp_path / "importance.png", metric="neg_log_loss")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
