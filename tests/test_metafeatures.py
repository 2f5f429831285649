import math

import numpy as np
import pandas as pd
import pytest

from autometa import metafeatures
from autometa.data import check_target, learn_schema
from tests.conftest import mixed_frame

FAMILIES = ("simple.", "stat.", "info.", "land.")


def canonical(X: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The canonical typed frame and its categorical column names, as autometa builds them."""
    schema = learn_schema(X)
    mask = schema.categorical_mask
    cats = [name for name, is_cat in zip(schema.names, mask, strict=True) if is_cat]
    return schema.transform(X), cats


def mixed_task(n: int = 200, seed: int = 0):
    X, y = mixed_frame(n, seed)
    frame, cats = canonical(X)
    return frame, check_target(y, n, "classification", "test").y, cats


def blobs(n: int = 300, n_classes: int = 2, n_features: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    centres = rng.normal(scale=20.0, size=(n_classes, n_features))
    X = centres[y] + rng.normal(size=(n, n_features))
    return pd.DataFrame(X, columns=[f"f{j}" for j in range(n_features)]), y


def check_shape(mf: dict, task: str) -> None:
    assert list(mf) == metafeatures.names(task)
    assert all(type(v) is float for v in mf.values())


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_names_are_fixed_and_cover_all_families(task):
    names = metafeatures.names(task)
    assert len(names) == len(set(names))
    for family in FAMILIES:
        assert any(n.startswith(family) for n in names), family
    expected = {"simple.n_rows", "simple.missing_cell_share", "stat.skew_mean",
                "stat.abs_corr_mean", "info.mi_mean", "land.1nn", "land.stump"}
    assert expected <= set(names)


def test_same_keys_for_different_classification_datasets():
    X1, y1, cats1 = mixed_task(200, seed=0)
    X2, y2 = blobs(150, n_classes=3)
    a = metafeatures.compute(X1, y1, "classification", categorical=cats1)
    b = metafeatures.compute(X2, y2, "classification")
    check_shape(a, "classification")
    check_shape(b, "classification")
    assert {"land.naive_bayes", "land.lda", "simple.n_classes"} <= set(a)


def test_regression_keys_and_values(regression_data):
    X, y = regression_data
    frame, cats = canonical(X)
    mf = metafeatures.compute(frame, y, "regression", categorical=cats)
    check_shape(mf, "regression")
    assert {"simple.target_skew", "land.ridge"} <= set(mf)
    assert "simple.n_classes" not in mf
    assert all(math.isfinite(v) for v in mf.values()), mf
    assert -1.0 <= mf["land.ridge"] <= 1.0 and mf["land.ridge"] > 0.5


def test_deterministic_for_a_seed():
    X, y, cats = mixed_task(300)
    a = metafeatures.compute(X, y, "classification", categorical=cats, seed=3, max_rows=120)
    b = metafeatures.compute(X, y, "classification", categorical=cats, seed=3, max_rows=120)
    assert a.keys() == b.keys()
    assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_simple_features_are_exact():
    X = pd.DataFrame({
        "a": [1.0, np.nan, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
        "b": [0.5] * 10,
        "c": pd.Categorical(["u", "v", None, "u", "v", "u", "v", "u", None, "u"]),
    })
    y = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    mf = metafeatures.compute(X, y, "classification", categorical=["c"])
    assert mf["simple.n_rows"] == 10.0 and mf["simple.n_features"] == 3.0
    assert mf["simple.missing_cell_share"] == pytest.approx(3 / 30)
    assert mf["simple.missing_row_share"] == pytest.approx(3 / 10)
    assert mf["simple.cat_share"] == pytest.approx(1 / 3)
    assert mf["simple.log_rows_per_feature"] == pytest.approx(math.log(10 / 3))
    assert mf["simple.n_classes"] == 2.0
    assert mf["simple.minority_share"] == pytest.approx(0.3)
    assert mf["simple.majority_share"] == pytest.approx(0.7)
    assert mf["stat.cat_card_mean"] == 2.0


def test_mixed_data_with_missing_values_is_finite():
    X, y, cats = mixed_task(200)
    mf = metafeatures.compute(X, y, "classification", categorical=cats)
    assert all(math.isfinite(v) for v in mf.values()), mf
    assert 0 < mf["simple.missing_cell_share"] < 1
    assert 0 <= mf["info.mi_mean"] <= mf["info.mi_max"]
    assert 0 <= mf["info.target_entropy"] <= 1


def test_subsampling_keeps_simple_features_exact():
    X, y, cats = mixed_task(400)
    full = metafeatures.compute(X, y, "classification", categorical=cats)
    sub = metafeatures.compute(X, y, "classification", categorical=cats, max_rows=50)
    for key in ("simple.n_rows", "simple.missing_cell_share", "simple.minority_share"):
        assert sub[key] == full[key]
    assert math.isfinite(sub["land.1nn"]) and math.isfinite(sub["info.mi_mean"])


def test_single_feature():
    X, y = blobs(60, n_features=1)
    mf = metafeatures.compute(X, y, "classification")
    check_shape(mf, "classification")
    assert math.isnan(mf["stat.abs_corr_mean"])  # no pair of columns
    assert math.isfinite(mf["land.1nn"]) and math.isfinite(mf["info.mi_max"])


def test_all_nan_and_constant_columns():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"nan": np.full(50, np.nan), "const": np.full(50, 2.5),
                      "x": rng.normal(size=50), "z": rng.normal(size=50)})
    y = (X["x"] > 0).to_numpy().astype(np.int64)
    for task, target in [("classification", y), ("regression", X["x"].to_numpy() * 2)]:
        mf = metafeatures.compute(X, target, task)
        check_shape(mf, task)
        assert mf["simple.missing_cell_share"] == pytest.approx(0.25)
        assert math.isfinite(mf["stat.skew_mean"]) and math.isfinite(mf["stat.abs_corr_max"])
        assert all(math.isfinite(mf[k]) for k in mf if k.startswith(("land.", "info.mi")))


def test_ten_rows():
    X, y, cats = mixed_task(10, seed=4)
    mf = metafeatures.compute(X, y, "classification", categorical=cats)
    check_shape(mf, "classification")
    assert mf["simple.n_rows"] == 10.0
    assert math.isfinite(mf["land.1nn"])


def test_twenty_classes_and_high_cardinality_categorical():
    X, y = blobs(200, n_classes=20, n_features=3)
    rng = np.random.default_rng(1)
    X["id"] = pd.Categorical(rng.integers(0, 10_000, len(X)).astype(str))
    mf = metafeatures.compute(X, y, "classification", categorical=["id"])
    check_shape(mf, "classification")
    assert mf["simple.n_classes"] == 20.0
    assert mf["simple.log_n_classes"] == pytest.approx(math.log(20))
    assert mf["stat.cat_card_max"] > 150
    assert all(math.isfinite(mf[k]) for k in mf if k.startswith(("land.", "info.")))


def test_tiny_classes_do_not_break_landmarkers():
    X, _ = blobs(30)
    y = np.zeros(30, dtype=np.int64)
    y[:2] = [1, 2]  # two singleton classes
    mf = metafeatures.compute(X, y, "classification")
    assert math.isfinite(mf["land.1nn"]) and math.isfinite(mf["land.stump"])


def test_landmarker_scores_high_on_separable_blobs():
    X, y = blobs(300, n_classes=3)
    mf = metafeatures.compute(X, y, "classification")
    assert mf["land.1nn"] > 0.9
    assert mf["land.lda"] > 0.9


def test_unknown_task_is_rejected():
    with pytest.raises(ValueError, match="task"):
        metafeatures.names("clustering")
