"""Input validation and typing: user data in, a canonical frame out.

Every pipeline autometa builds sees the same canonical ``pandas.DataFrame``:
columns ``f0 .. f{m-1}`` in the user's order, numeric columns as ``float64``
(missing = NaN) and categorical columns as ``category`` with the categories
learned at fit time (a category unseen at fit time becomes missing).
"""

from __future__ import annotations

import datetime
import numbers
import warnings
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from autometa.task import CLASSIFICATION

MIN_ROWS = 10
MAX_DENSE_CELLS = 200_000_000

NUMERIC, CATEGORICAL = "numeric", "categorical"


@dataclass(frozen=True)
class ColumnInfo:
    """How one input column is typed: its kind and, if categorical, its categories."""

    kind: str
    categories: tuple[str, ...] = ()
    source: str = "numeric"  # numeric, bool, datetime, timedelta, category, object


@dataclass(frozen=True)
class TabularSchema:
    """The typing of a table learned at fit time, applied unchanged at predict time."""

    columns: tuple[ColumnInfo, ...]

    @property
    def names(self) -> list[str]:
        """Canonical column names ``f0 .. f{m-1}``."""
        return [f"f{i}" for i in range(len(self.columns))]

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.array([c.kind == CATEGORICAL for c in self.columns], dtype=bool)

    @property
    def categorical_names(self) -> tuple[str, ...]:
        """Canonical names of the categorical columns."""
        return tuple(n for n, c in zip(self.names, self.columns, strict=True)
                     if c.kind == CATEGORICAL)

    @property
    def cardinalities(self) -> list[int]:
        return [len(c.categories) for c in self.columns if c.kind == CATEGORICAL]

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Type ``X`` (already checked to have the fit-time columns) as at fit time.

        Raises ``ValueError`` when ``X`` has no rows, or when a column numeric at fit time
        holds values that are not numbers (or dates, durations); empty strings are missing.
        """
        if X.shape[1] != len(self.columns):
            raise ValueError(
                f"X has {X.shape[1]} columns but the model was fitted on {len(self.columns)}."
            )
        if len(X) == 0:
            raise ValueError(f"X has 0 rows (shape={X.shape}); pass at least one sample.")
        index = pd.RangeIndex(len(X))
        dtypes = list(X.dtypes)
        plain = [j for j, info in enumerate(self.columns)
                 if info.kind == NUMERIC and _plain_number(dtypes[j], info.source)]
        block = _infinite_as_missing(X.iloc[:, plain].to_numpy(dtype=np.float64))
        if len(plain) == len(self.columns):  # all numbers: one conversion, one block
            return pd.DataFrame(block, columns=self.names, index=index)
        out = dict(zip([self.names[j] for j in plain], block.T, strict=True))
        for name, info, j in zip(self.names, self.columns, range(X.shape[1]), strict=True):
            if name in out:
                continue
            col = X.iloc[:, j]
            if info.kind == NUMERIC:
                out[name] = _checked_float(col, info.source, X.columns[j])
            else:
                out[name] = _to_category(col, info.categories)
        return pd.DataFrame({name: out[name] for name in self.names}, index=index)


class SchemaTransformer(TransformerMixin, BaseEstimator):
    """Check a table's columns and type it as at fit time (user data in, canonical frame out).

    The first step of every pipeline :meth:`to_sklearn` exports.

    Parameters
    ----------
    schema : TabularSchema or None, default=None
        The typing to apply; ``None`` learns it from the data passed to ``fit``.
    """

    def __init__(self, schema: TabularSchema | None = None):
        self.schema = schema

    def fit(self, X, y=None) -> SchemaTransformer:
        """Record the columns of ``X`` and its schema (unless one was given)."""
        frame = as_frame(X)
        validate_data(self, X, reset=True, skip_check_array=True)
        self.schema_ = learn_schema(frame) if self.schema is None else self.schema
        return self

    def transform(self, X) -> pd.DataFrame:
        """The canonical frame of ``X``: columns ``f0 .. f{m-1}`` typed as at fit time."""
        check_is_fitted(self, "schema_")
        frame = as_frame(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        return self.schema_.transform(frame)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags


def as_frame(X, *, allow_sparse: bool = True) -> pd.DataFrame:
    """Turn any 2-D table-like input into a DataFrame, with clear errors for the rest."""
    if isinstance(X, pd.DataFrame):
        check_unique_names(X)
        return X
    if sp.issparse(X):
        n, m = X.shape
        if not allow_sparse or n * m > MAX_DENSE_CELLS:
            raise TypeError(
                f"X is a sparse matrix of shape {X.shape}, too large to densify; "
                "autometa works on dense tables. Select fewer features or pass a DataFrame."
            )
        X = X.toarray()
    if isinstance(X, pd.Series):
        raise ValueError(
            "Expected a 2-D table for X, got a pandas Series. "
            "Use X.to_frame() for a single feature."
        )
    arr = np.asarray(X, dtype=object) if isinstance(X, (list, tuple)) else np.asarray(X)
    if arr.dtype.kind == "c":
        raise ValueError("Complex data not supported: X contains complex numbers.")
    if arr.ndim != 2:
        raise ValueError(
            f"Expected 2D array for X, got {arr.ndim}D array instead of shape (n_samples, "
            "n_features). Reshape your data with array.reshape(-1, 1) for a single feature "
            "or array.reshape(1, -1) for a single sample."
        )
    if arr.dtype.kind == "O":
        arr = _unwrap_object_numbers(arr)
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


def check_unique_names(X: pd.DataFrame) -> None:
    """Refuse a table with two columns of the same name."""
    if X.columns.has_duplicates:
        dup = sorted({str(c) for c in X.columns[X.columns.duplicated()]})
        raise ValueError(f"X has duplicated column names {dup}; give every column its own name.")


def _unwrap_object_numbers(arr: np.ndarray) -> np.ndarray:
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        return arr


def learn_schema(X: pd.DataFrame) -> TabularSchema:
    """Infer each column's kind from its dtype and values."""
    check_unique_names(X)
    return TabularSchema(tuple(_column_info(X.iloc[:, j], X.columns[j])
                               for j in range(X.shape[1])))


def _column_info(col: pd.Series, name: object = None) -> ColumnInfo:
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = tuple(str(c) for c in dtype.categories)
        return ColumnInfo(CATEGORICAL, _unique_sorted(cats), "category")
    if pd.api.types.is_bool_dtype(dtype):
        return ColumnInfo(NUMERIC, source="bool")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return ColumnInfo(NUMERIC, source="datetime")
    if pd.api.types.is_timedelta64_dtype(dtype) or dtype.kind == "m":  # NumPy or Arrow
        return ColumnInfo(NUMERIC, source="timedelta")
    if pd.api.types.is_numeric_dtype(dtype) and dtype.kind != "c":
        return ColumnInfo(NUMERIC)
    if dtype.kind == "c":
        raise ValueError("Complex data not supported: a column of X holds complex numbers.")
    values = col.dropna()
    if len(values) and _all_of(values, _is_number):
        return ColumnInfo(NUMERIC, source="object")
    if len(values) and _all_of(values, _is_date):
        return ColumnInfo(NUMERIC, source="datetime")
    if len(values) and _all_of(values, _is_nested):
        kind = type(values.iloc[0]).__name__
        raise ValueError(
            f"Column {name!r} of X holds {kind} values; autometa needs one number, string or "
            "date per cell. Expand them into columns of their own (e.g. one per item)."
        )
    return ColumnInfo(CATEGORICAL, _unique_sorted(values.astype(str).unique()), "object")


def _unique_sorted(values) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


def _all_of(values: pd.Series, test) -> bool:
    return all(test(v) for v in values)


def _is_number(v) -> bool:
    """A real number of any type (int, float, NumPy, Decimal, Fraction), not a boolean."""
    return isinstance(v, (numbers.Real, Decimal)) and not isinstance(v, bool)


def _is_date(v) -> bool:
    return isinstance(v, (datetime.date, np.datetime64))


def _is_nested(v) -> bool:
    return isinstance(v, (list, tuple, set, frozenset, dict, np.ndarray))


def _checked_float(col: pd.Series, source: str, name: object) -> np.ndarray:
    """:func:`_to_float`, refusing values that are present but are not numbers (or dates)."""
    out = _parse_float(col, source)
    lost = np.isnan(out)
    if lost.any() and (lost := lost & ~col.isna().to_numpy(dtype=bool)).any():
        odd = col[lost]
        odd = odd[~odd.map(_is_blank)]  # empty strings read as missing
        if len(odd):
            kind = {"datetime": "dates", "timedelta": "durations"}.get(source, "numbers")
            raise ValueError(
                f"Column {name!r} of X was numeric at fit time but holds values that are not "
                f"{kind}, e.g. {_examples(odd)}; convert them, or set them to NaN for missing."
            )
    return _infinite_as_missing(out)


def _is_blank(v) -> bool:
    return isinstance(v, str) and not v.strip()


def _to_float(col: pd.Series, source: str) -> np.ndarray:
    """The values of ``col`` as float64: unparseable and infinite values become NaN."""
    return _infinite_as_missing(_parse_float(col, source))


def _plain_number(dtype, source: str) -> bool:
    """Whether a column of ``dtype``, numeric at fit time from ``source``, holds numpy
    numbers or bools: nothing to parse or check."""
    return isinstance(dtype, np.dtype) and dtype.kind in "biuf" and source in (
        "numeric", "bool", "object")


def _parse_float(col: pd.Series, source: str) -> np.ndarray:
    if _plain_number(col.dtype, source):
        return col.to_numpy(dtype=np.float64)  # numpy numbers and bools: nothing to parse
    if source == "datetime":
        return _datetime_seconds(col)
    if source == "timedelta":
        return pd.to_timedelta(col, errors="coerce").dt.total_seconds().to_numpy(dtype=float)
    out = pd.to_numeric(col.astype(object).where(col.notna(), np.nan), errors="coerce")
    return np.asarray(out, dtype=np.float64)


def _infinite_as_missing(out: np.ndarray) -> np.ndarray:
    bad = np.isinf(out)
    if bad.any():
        warnings.warn(
            "X contains infinite values; they are treated as missing.", UserWarning, stacklevel=5
        )
        out = np.where(bad, np.nan, out)
    return out


def _datetime_seconds(col: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(col, errors="coerce", utc=True)
    if isinstance(stamps.dtype, pd.ArrowDtype):  # Arrow cannot subtract at nanosecond range
        stamps = stamps.astype(f"datetime64[{stamps.dtype.pyarrow_dtype.unit}, UTC]")
    seconds = (stamps - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    return seconds.to_numpy(dtype=float)


@lru_cache(maxsize=1024)
def _category_dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """The dtype of a categorical column (built once: it checks its categories)."""
    return pd.CategoricalDtype(list(categories))


def _to_category(col: pd.Series, categories: tuple[str, ...]) -> pd.Categorical:
    dtype = _category_dtype(categories)
    known = dtype.categories
    if isinstance(col.dtype, pd.CategoricalDtype):  # map the few categories, not every row
        lookup = np.append(known.get_indexer([str(c) for c in col.cat.categories]), -1)
        codes = lookup[col.cat.codes.to_numpy()]  # code -1 (missing) picks the appended -1
    else:
        values = col.astype(object)
        strings = values.where(values.isna(), values.astype(str))
        codes = known.get_indexer(strings)  # -1: missing or unseen
    return pd.Categorical.from_codes(codes, dtype=dtype)


# -- targets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A validated target: encoded values and, for classification, the original labels."""

    y: np.ndarray
    classes: np.ndarray | None = None


def check_target(y, n_rows: int, task: str, estimator_name: str) -> Target:
    """Validate ``y`` and encode it (labels -> 0..C-1 for classification)."""
    if y is None:
        raise ValueError(f"{estimator_name} requires y to be passed, but the target y is None.")
    y = _as_1d(y)
    if len(y) != n_rows:
        raise ValueError(
            f"X and y have inconsistent numbers of samples: X has {n_rows} rows, y has {len(y)}."
        )
    if task == CLASSIFICATION:
        return _encode_labels(y)
    return Target(_regression_values(y))


def _as_1d(y) -> np.ndarray:
    if isinstance(y, (pd.Series, pd.DataFrame)):
        y = y.to_numpy()
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        return column_or_1d(y, warn=True)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one target column), got shape {y.shape}.")
    return y


def _encode_labels(y: np.ndarray) -> Target:
    missing = pd.isna(y)
    if missing.any():
        raise ValueError(
            f"y contains {int(missing.sum())} missing values (NaN/None); drop those rows first."
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError("y contains infinite values; drop or fix those rows first.")
    if y.dtype.kind == "O":
        y = _uniform_labels(y)
    check_classification_targets(y)
    classes, encoded = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"y has only 1 class ({classes[0]!r}); a classifier needs at least 2 classes."
        )
    return Target(encoded.astype(np.int64), classes)


def _uniform_labels(y: np.ndarray) -> np.ndarray:
    kinds = {type(v) for v in y}
    if len(kinds) > 1 and not all(issubclass(k, (int, np.integer)) for k in kinds):
        return y.astype(str)
    return y


def _regression_values(y: np.ndarray) -> np.ndarray:
    values = np.asarray(pd.to_numeric(pd.Series(y), errors="coerce"), dtype=np.float64)
    odd = y[np.isnan(values) & ~pd.isna(y)]
    if len(odd):
        raise ValueError(f"y must be numeric for regression but holds {_examples(odd)}; "
                         "use AutoMetaClassifier for labels.")
    present = values[~np.isnan(values)]
    if y.dtype.kind in "OUSb" and len(np.unique(present)) <= 2:
        raise ValueError("y holds labels, not numbers; use AutoMetaClassifier for this target.")
    if len(present) < len(values):
        raise ValueError(
            f"y contains {len(values) - len(present)} missing values (NaN); "
            "drop those rows first."
        )
    if not np.isfinite(values).all():
        raise ValueError("y contains infinite values; drop or fix those rows first.")
    return values


def _examples(values, k: int = 3) -> str:
    """Up to ``k`` distinct values, as the user would write them."""
    head = pd.Series(values, dtype=object).iloc[:50]
    plain = (v.item() if isinstance(v, np.generic) else v for v in head)
    return ", ".join(list(dict.fromkeys(map(repr, plain)))[:k])


def check_min_rows(n_rows: int) -> None:
    if n_rows < MIN_ROWS:
        raise ValueError(
            f"Found {n_rows} sample(s) (n_samples = {n_rows}) but autometa needs at least "
            f"{MIN_ROWS} rows to validate models."
        )
