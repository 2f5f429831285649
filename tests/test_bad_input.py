"""Bad or odd input, tried systematically.

One table of cases. Each case either *works* (fit and predict give the right shapes,
probabilities are valid) or raises a ``ValueError``/``TypeError`` whose message names
the problem in the user's terms and is raised where the input is checked, never a bare
error from deep inside pandas, NumPy or scikit-learn.
"""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn.utils

import autometa
from autometa import AutoMetaClassifier, AutoMetaRegressor
from autometa.data import NUMERIC

N = 60
FRAME, ARRAY = "shared model fitted on a DataFrame", "shared model fitted on an array"

# what libraries say on their own; a user should never get one of these without context
RAW_MESSAGES = ("could not convert", "Input contains", "Found array with", "unhashable",
                "setting an array element", "invalid literal", "not supported between",
                "Cannot cast", "has no attribute", "index out of", "trials failed",
                "The test_size", "The least populated class")
# where input is checked: autometa, or scikit-learn's own input validation
CHECKERS = (Path(autometa.__file__).parent, Path(sklearn.utils.__file__).parent)
# the warnings a user may see when a case works (each names its cause)
EXPECTED_WARNINGS = ("infinite values", "feature names", "column-vector y")


def tiny(task: str = "clf", **params):
    """The smallest search: two linear trials, no meta-learning."""
    cls = AutoMetaClassifier if task == "clf" else AutoMetaRegressor
    defaults = dict(time_budget=15, max_evals=2, include=["linear"], meta_learning="off",
                    random_state=0)
    return cls(**{**defaults, **params})


# -- data --------------------------------------------------------------------------------------


def base(n: int = N, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Two numeric columns and a learnable binary target."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    return X, np.where(X["a"] + 0.3 * X["b"] > 0, "yes", "no")


def with_column(values, name: str = "z") -> Callable[[], tuple]:
    """``base()`` plus one more column."""
    def make():
        X, y = base()
        X[name] = values() if callable(values) else values
        return X, y
    return make


def with_target(make_y: Callable[[np.ndarray], object], n: int = N) -> Callable[[], tuple]:
    """``base()`` features with another target, built from column ``a``."""
    def make():
        X, _ = base(n)
        return X, make_y(X["a"].to_numpy())
    return make


def regression(make_y: Callable[[np.ndarray], object]) -> Callable[[], tuple]:
    """A regression target built from column ``a``."""
    return with_target(make_y)


def reference() -> tuple[pd.DataFrame, np.ndarray]:
    """The table the shared models are fitted on: numbers, strings, integers, dates."""
    X, y = base()
    X["color"] = np.resize(["red", "green", "blue"], N)
    X["n"] = np.arange(N) % 4
    X["when"] = pd.date_range("2024-01-01", periods=N, freq="D")
    return X, y


def assign(X: pd.DataFrame, **columns) -> pd.DataFrame:
    return X.assign(**columns)


def every(k: int, value, n: int = N) -> list:
    """A column of ``n`` floats with ``value`` at every ``k``-th row."""
    return [value if i % k == 0 else float(i) for i in range(n)]


def cycle(values: list, n: int = N) -> list:
    return [values[i % len(values)] for i in range(n)]


def stamps_in_two_zones() -> pd.Series:
    paris = pd.date_range("2021-03-01", periods=N // 2, freq="h", tz="Europe/Paris")
    tokyo = pd.date_range("2021-03-01", periods=N - N // 2, freq="h", tz="Asia/Tokyo")
    return pd.Series(list(paris) + list(tokyo), dtype=object)


def arrow_columns() -> pd.DataFrame:
    """Columns backed by Arrow: numbers, booleans, timestamps, durations, strings."""
    X, _ = base()
    a = X["a"].where(X["a"] > -1)  # a few missing values
    return X.assign(
        a=pd.array(a, dtype="float64[pyarrow]"),
        b=pd.array(X["b"] > 0, dtype="bool[pyarrow]"),
        t=pd.array(pd.date_range("2020-01-01", periods=N), dtype="timestamp[ns][pyarrow]"),
        d=pd.array(pd.to_timedelta(np.arange(N), unit="s"), dtype="duration[ns][pyarrow]"),
        s=pd.array(cycle(["u", None, "v"]), dtype="string[pyarrow]"),
    )


def labels(values: list) -> Callable[[np.ndarray], np.ndarray]:
    """A target taking ``values`` by the sign of ``a`` (and of ``a`` > 1 for a third)."""
    def make(a):
        out = np.empty(len(a), dtype=object)
        out[:] = [values[0] if v <= 0 else values[1] for v in a]
        if len(values) > 2:
            out[a > 1] = values[2]
        return out
    return make


def one_rare_class(a: np.ndarray) -> np.ndarray:
    y = np.where(a > 0, "yes", "no").astype(object)
    y[0] = "rare"
    return y


def many_classes(n_classes: int, per_class: int) -> Callable[[], tuple]:
    def make():
        X, _ = base(n_classes * per_class)
        return X, np.repeat([f"c{i}" for i in range(n_classes)], per_class)
    return make


def renamed(columns) -> Callable[[], tuple]:
    def make():
        X, y = base()
        X.columns = columns
        return X, y
    return make


def reindexed(index) -> Callable[[], tuple]:
    def make():
        X, y = base()
        X.index = index
        return X, pd.Series(y, index=np.arange(N)[::-1])
    return make


def numeric(*columns: int) -> Callable:
    """Check that the fitted model typed these columns (by position) as numbers."""
    def check(model):
        assert all(model.schema_.columns[j].kind == NUMERIC for j in columns)
    return check


def classes(expected: list) -> Callable:
    def check(model):
        assert model.classes_.tolist() == expected
    return check


# -- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One input and its expected outcome.

    ``fit`` builds ``(X, y)`` to fit a fresh model on, or names a shared fitted model;
    ``predict`` maps the fit-time ``X`` to the ``X`` to predict (default: the same);
    ``raises`` is ``(exception, words of the message)``, or ``None`` when the case works.
    """

    id: str
    fit: Callable[[], tuple] | str
    predict: Callable[[object], object] | None = None
    raises: tuple[type[Exception], str] | None = None
    task: str = "clf"
    params: dict = field(default_factory=dict)
    check: Callable | None = None


def works(id, fit, predict=None, **kw) -> Case:
    return Case(id, fit, predict, None, **kw)


def fails(id, fit, raises, predict=None, **kw) -> Case:
    return Case(id, fit, predict, raises, **kw)


CASES = [
    # columns of X
    works("all-NaN column", with_column(np.nan)),
    works("all-None object column", with_column(lambda: [None] * N)),
    works("every column missing", lambda: (pd.DataFrame({"a": [np.nan] * N, "b": [None] * N}),
                                           base()[1])),
    works("constant column", with_column(7.0)),
    works("constant string column", with_column("same")),
    fails("duplicated column names", renamed(["a", "a"]), (ValueError, "duplicated column names")),
    works("datetime column", with_column(lambda: pd.date_range("2020-01-01", periods=N))),
    works("timezone-aware datetimes",
          with_column(lambda: pd.date_range("2020-01-01", periods=N, tz="Europe/Paris")),
          check=numeric(2)),
    works("timestamps in two time zones (object)", with_column(stamps_in_two_zones),
          check=numeric(2)),
    works("python date objects",
          with_column(lambda: [datetime.date(2020, 1, 1 + i % 28) for i in range(N)]),
          check=numeric(2)),
    works("timedelta column", with_column(lambda: pd.to_timedelta(np.arange(N), unit="s"))),
    works("high-cardinality strings", with_column(lambda: [f"id-{i}" for i in range(N)])),
    works("mixed types in an object column",
          with_column(lambda: cycle([1, "a", 2.5, None, True, "b"]))),
    works("object column of Decimals",
          with_column(lambda: [Decimal(i) / 7 for i in range(N)]), check=numeric(2)),
    fails("object column of lists", with_column(lambda: [[i, i + 1] for i in range(N)]),
          (ValueError, "'z' of X holds list")),
    works("nullable Int64 with pd.NA",
          with_column(lambda: pd.array(cycle([1, None, 3]), dtype="Int64")), check=numeric(2)),
    works("nullable boolean with pd.NA",
          with_column(lambda: pd.array(cycle([True, None, False]), dtype="boolean")),
          check=numeric(2)),
    works("pandas string dtype with pd.NA",
          with_column(lambda: pd.array(cycle(["u", None, "v"]), dtype="string"))),
    works("category with unused categories",
          with_column(lambda: pd.Categorical(cycle(["u", "v"]), categories=["u", "v", "w"]))),
    works("pandas sparse column",
          with_column(lambda: pd.arrays.SparseArray(every(5, 0.0)))),
    works("inf and -inf in X", lambda: (assign(base()[0], a=every(7, np.inf), b=every(5, -np.inf)),
                                        base()[1])),
    works("huge values", with_column(lambda: np.linspace(-1e300, 1e300, N))),
    fails("complex numbers", with_column(lambda: np.arange(N) * 1j), (ValueError, "[Cc]omplex")),
    works("very wide: 50 rows x 2000 columns",
          lambda: (np.random.default_rng(0).normal(size=(50, 2000)), np.arange(50) % 2),
          params={"resampling": "holdout"}),
    works("scipy sparse matrix",
          lambda: (sp.random(N, 8, density=0.3, format="csr", random_state=0), base()[1])),
    fails("sparse matrix too large to densify",
          lambda: (sp.csr_matrix((N, 10_000_000)), base()[1]), (TypeError, "too large")),
    works("Arrow-backed columns", lambda: (arrow_columns(), base()[1]),
          check=numeric(0, 1, 2, 3)),
    works("tuple of tuples with strings",
          lambda: (tuple((float(a), "s" if a > 0 else "t") for a in base()[0]["a"]), base()[1]),
          check=numeric(0)),
    works("list of lists with strings",
          lambda: ([[float(a), "s" if a > 0 else "t"] for a in base()[0]["a"]], base()[1])),
    works("numpy array of strings",
          lambda: (np.array(cycle([["x", "1"], ["y", "2"], ["z", "3"]])), base()[1])),
    works("MultiIndex columns", renamed(pd.MultiIndex.from_tuples([("g", "a"), ("g", "b")]))),
    works("MultiIndex rows, y on another index",
          reindexed(pd.MultiIndex.from_arrays([np.arange(N) % 3, np.arange(N)]))),
    works("integer column names", renamed([10, 20])),
    fails("mixed str/int column names", renamed(["a", 1]), (TypeError, "string names")),
    fails("empty DataFrame", lambda: (pd.DataFrame(), []), (ValueError, "0 feature")),
    fails("columns but no rows", lambda: (pd.DataFrame({"a": []}), []),
          (ValueError, "at least 10 rows")),
    fails("X is a Series", lambda: (base()[0]["a"], base()[1]), (ValueError, "Series")),
    fails("3-D X", lambda: (np.zeros((N, 2, 2)), base()[1]), (ValueError, "2D")),
    # the target
    works("boolean target", with_target(lambda a: a > 0), check=classes([False, True])),
    works("integer-coded classes", with_target(lambda a: np.where(a > 0, 7, 3)),
          check=classes([3, 7])),
    works("string labels with spaces", with_target(labels(["class one", " padded "])),
          check=classes([" padded ", "class one"])),
    works("mixed int/str labels", with_target(labels([1, "two"])), check=classes(["1", "two"])),
    works("a class with a single row", with_target(one_rare_class),
          check=classes(["no", "rare", "yes"])),
    works("1,000 classes, 3 rows each", many_classes(1000, 3)),
    works("more classes than holdout rows", many_classes(20, 3),
          params={"resampling": "holdout"}),
    works("nullable Int64 labels", with_target(lambda a: pd.Series(a > 0, dtype="Int64")),
          check=classes([0, 1])),
    works("categorical Series y", with_target(lambda a: pd.Series(pd.Categorical(a > 0)))),
    works("y as a one-column DataFrame", with_target(lambda a: pd.DataFrame({"t": a > 0}))),
    fails("y with two columns", with_target(lambda a: np.c_[a > 0, a > 1]),
          (ValueError, "1-D")),
    fails("NaN labels", with_target(lambda a: np.where(a > 1, np.nan, a > 0)),
          (ValueError, "missing values")),
    fails("pd.NA labels", with_target(lambda a: pd.array(labels(["u", None])(a), dtype="string")),
          (ValueError, "missing values")),
    fails("continuous target for a classifier", with_target(lambda a: a),
          (ValueError, "continuous")),
    fails("y of another length", with_target(lambda a: a[:-3] > 0),
          (ValueError, "inconsistent numbers of samples")),
    fails("y is None", with_target(lambda a: None), (ValueError, "requires y")),
    # regression targets
    fails("inf in y (regression)", regression(lambda a: np.where(a > 1, np.inf, a)),
          (ValueError, "infinite"), task="reg"),
    fails("NaN in y (regression)", regression(lambda a: np.where(a > 1, np.nan, a)),
          (ValueError, "missing values"), task="reg"),
    fails("labels as a regression target", regression(labels(["u", "v", "w"])),
          (ValueError, "numeric"), task="reg"),
    fails("binary strings as a regression target", regression(labels(["0", "1"])),
          (ValueError, "labels"), task="reg"),
    fails("NaN in a string regression target",
          regression(lambda a: np.where(a > 1, None, a.astype(str))),
          (ValueError, "missing values"), task="reg"),
    works("numeric strings as a regression target", regression(lambda a: a.astype(str)),
          task="reg"),
    works("constant regression target", regression(lambda a: np.full(len(a), 4.0)), task="reg"),
    # predict on a model fitted on other data
    works("1-row predict", FRAME, lambda X: X.head(1)),
    fails("one row passed as a Series", FRAME, (ValueError, "Series"), lambda X: X.iloc[0]),
    fails("0-row predict", FRAME, (ValueError, "0 rows"), lambda X: X.head(0)),
    fails("columns reordered at predict", FRAME, (ValueError, "same order"),
          lambda X: X[X.columns[::-1]]),
    fails("extra column at predict", FRAME, (ValueError, "unseen at fit time"),
          lambda X: X.assign(extra=1.0)),
    fails("missing column at predict", FRAME, (ValueError, "missing"),
          lambda X: X.drop(columns="b")),
    fails("strings in a numeric column at predict", FRAME, (ValueError, "'a'.*not numbers"),
          lambda X: X.assign(a=cycle(["abc", 1.0]))),
    fails("strings in a date column at predict", FRAME, (ValueError, "'when'.*not dates"),
          lambda X: X.assign(when=cycle(["2024-02-01", "soon"]))),
    works("dates as strings at predict", FRAME, lambda X: X.assign(when=X["when"].astype(str))),
    works("numbers as strings at predict", FRAME, lambda X: X.astype({"a": str, "n": str})),
    works("numbers in a string column at predict", FRAME, lambda X: X.assign(color=1.5)),
    works("unseen category at predict", FRAME, lambda X: X.assign(color="purple")),
    works("NaN, None and inf at predict", FRAME,
          lambda X: X.astype(object).assign(a=every(3, None), b=every(2, np.inf))),
    works("numpy array after fitting a DataFrame", FRAME, lambda X: X.to_numpy()),
    works("DataFrame after fitting an array", ARRAY, lambda X: pd.DataFrame(X)),
    fails("array of the wrong width at predict", ARRAY, (ValueError, "features"),
          lambda X: X[:, :1]),
]


@pytest.fixture(scope="module")
def shared():
    """Models fitted once for the cases that only concern predict, by the kind of ``X``."""
    fitted = {}

    def get(kind: str):
        if kind not in fitted:
            X, y = reference()
            X = X if kind == FRAME else X[["a", "b"]].to_numpy()
            fitted[kind] = tiny().fit(X, y), X
        return fitted[kind]
    return get


def assert_sensible(model, X, y, pred: np.ndarray) -> None:
    n = np.shape(X)[0]
    assert pred.shape == (n,)
    if isinstance(model, AutoMetaRegressor):
        assert np.isfinite(pred).all()
        return
    if y is not None:
        assert len(model.classes_) == len(pd.unique(np.asarray(y, dtype=object).ravel()))
    proba = model.predict_proba(X)
    assert proba.shape == (n, len(model.classes_))
    assert np.isfinite(proba).all() and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(pred.tolist()) <= set(model.classes_.tolist())


def assert_clear(info: pytest.ExceptionInfo) -> None:
    """The message has context, and it was raised where input is checked."""
    message = str(info.value)
    assert not any(raw in message for raw in RAW_MESSAGES), message
    where = Path(info.traceback[-1].path)
    assert any(where.is_relative_to(checker) for checker in CHECKERS), (where, message)


def assert_no_stray_warnings(caught: list) -> None:
    """No warning from deep inside a library reached the user."""
    for w in caught:
        if issubclass(w.category, (UserWarning, RuntimeWarning)):
            assert any(words in str(w.message) for words in EXPECTED_WARNINGS), w


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_or_odd_input(case: Case, shared):
    if isinstance(case.fit, str):
        model, X = shared(case.fit)
        y = None
    else:
        X, y = case.fit()
        model = tiny(case.task, **case.params)

    def run():
        if not isinstance(case.fit, str):
            model.fit(X, y)
        new = X if case.predict is None else case.predict(X)
        return new, model.predict(new)

    if case.raises is not None:
        exception, words = case.raises
        with pytest.raises(exception, match=words) as info, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run()
        assert_clear(info)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new, pred = run()
        assert_sensible(model, new, y, pred)
    assert_no_stray_warnings(caught)
    if case.check is not None:
        case.check(model)


def test_the_table_is_large_and_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) >= 24 and len(set(ids)) == len(ids)
