import numpy as np
import pandas as pd
import pytest

from autometa import data as tabular
from autometa.data import CATEGORICAL, NUMERIC, check_target, learn_schema


def test_schema_types_each_kind_of_column(mixed):
    X, _ = mixed
    X = X.assign(when=pd.date_range("2020-01-01", periods=len(X), freq="D"))
    schema = learn_schema(X)
    kinds = [c.kind for c in schema.columns]
    assert kinds == [NUMERIC, NUMERIC, NUMERIC, CATEGORICAL, CATEGORICAL, NUMERIC, NUMERIC]
    frame = schema.transform(X)
    assert list(frame.columns) == [f"f{i}" for i in range(7)]
    assert frame["f3"].dtype == "category" and frame["f0"].dtype == np.float64
    assert frame["f4"].isna().sum() == X["city"].isna().sum()  # pd.NA -> missing
    assert set(frame["f5"].unique()) == {0.0, 1.0}


def test_unseen_category_becomes_missing():
    X = pd.DataFrame({"c": ["a", "b", "a"]})
    schema = learn_schema(X)
    out = schema.transform(pd.DataFrame({"c": ["b", "new", None]}))
    assert out["f0"].isna().tolist() == [False, True, True]


def test_object_column_of_numbers_is_numeric_and_mixed_is_categorical():
    X = pd.DataFrame({"n": np.array([1, 2.5, None], dtype=object), "m": [1, "a", 2.0]})
    schema = learn_schema(X)
    assert [c.kind for c in schema.columns] == [NUMERIC, CATEGORICAL]


def test_infinite_values_warn_and_become_missing():
    X = pd.DataFrame({"a": [1.0, np.inf, 3.0]})
    with pytest.warns(UserWarning, match="infinite"):
        out = learn_schema(X).transform(X)
    assert np.isnan(out["f0"][1])


@pytest.mark.parametrize(
    "y, task, message",
    [
        ([0, 1, np.nan, 1], "classification", "missing values"),
        ([0.0, 1.0, np.inf, 1.0], "regression", "infinite"),
        ([1.0, np.nan, 2.0, 3.0], "regression", "missing values"),
        (["a", "a", "a", "a"], "classification", "only 1 class"),
        ([1, 2, 3], "classification", "inconsistent numbers of samples"),
        (["a", "b", "a", "b"], "regression", "labels"),
        ([0.1, 0.25, 0.3, 0.7], "classification", "Unknown label type"),
    ],
)
def test_bad_targets_raise_clear_errors(y, task, message):
    with pytest.raises(ValueError, match=message):
        check_target(np.array(y, dtype=object if task == "classification" else None), 4, task,
                     "Est")


def test_labels_are_encoded_in_sorted_order():
    target = check_target(np.array(["b", "a", "c", "a"]), 4, "classification", "Est")
    assert target.classes.tolist() == ["a", "b", "c"]
    assert target.y.tolist() == [1, 0, 2, 0]


def test_as_frame_rejects_non_2d_and_accepts_lists_and_sparse():
    import scipy.sparse as sp

    with pytest.raises(ValueError, match="2D"):
        tabular.as_frame(np.zeros(5))
    assert tabular.as_frame([[1, "a"], [2, "b"]]).shape == (2, 2)
    assert tabular.as_frame(sp.eye(4, format="csr")).shape == (4, 4)


def test_numeric_columns_refuse_text_at_predict_but_read_blanks_as_missing():
    schema = learn_schema(pd.DataFrame({"n": [1.0, 2.0], "d": pd.date_range("2020", periods=2)}))
    out = schema.transform(pd.DataFrame({"n": ["3", " ", "", None], "d": ["2021-01-01"] * 4}))
    assert out["f0"].tolist()[0] == 3.0 and out["f0"][1:].isna().all()
    with pytest.raises(ValueError, match=r"'n' of X was numeric at fit time .* e.g. 'x'"):
        schema.transform(pd.DataFrame({"n": ["x", 1.0], "d": ["2021-01-01"] * 2}))
    with pytest.raises(ValueError, match=r"'d' .* not dates"):
        schema.transform(pd.DataFrame({"n": [1.0, 2.0], "d": ["soon", None]}))


def test_object_columns_of_decimals_and_dates_are_numeric_and_lists_refused():
    from datetime import date
    from decimal import Decimal

    X = pd.DataFrame({"dec": [Decimal("1.5"), None], "day": [date(2020, 1, 2), None]})
    assert [c.source for c in learn_schema(X).columns] == ["object", "datetime"]
    assert learn_schema(X).transform(X)["f0"].tolist()[0] == 1.5
    with pytest.raises(ValueError, match="'tags' of X holds list values"):
        learn_schema(pd.DataFrame({"tags": [["a"], ["b", "c"], None]}))


def test_duplicated_column_names_are_refused():
    X = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(ValueError, match="duplicated column names"):
        learn_schema(X)


def test_too_few_rows():
    with pytest.raises(ValueError, match="at least 10 rows"):
        tabular.check_min_rows(5)


def test_categories_and_numbers_are_typed_the_same_from_any_dtype():
    cats = ("1", "3", "a")
    as_category = pd.Series(pd.Categorical([1, None, 7, 3], categories=[1, 3, 7]))
    as_object = pd.Series([1, None, 7, 3], dtype=object)
    for col in (as_category, as_object):
        assert tabular._to_category(col, cats).codes.tolist() == [0, -1, -1, 1]
    for col in (pd.Series([1, 2], dtype=np.int8), pd.Series([True, False]),
                pd.Series([1, None], dtype="Int64"), pd.Series([1.0, np.nan])):
        assert tabular._to_float(col, "numeric").dtype == np.float64


def test_schema_transformer_is_a_fitted_typing_step(mixed):
    X, _ = mixed
    types = tabular.SchemaTransformer().fit(X)
    pd.testing.assert_frame_equal(types.transform(X), learn_schema(X).transform(X))
    assert types.n_features_in_ == 6 and list(types.feature_names_in_) == list(X.columns)
    with pytest.raises(ValueError, match="missing"):
        types.transform(X.drop(columns=["b"]))
