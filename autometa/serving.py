"""Faster predictions from fitted pipelines: the same outputs, without the encoders' overhead.

A member's categorical encoding runs through scikit-learn's ``ColumnTransformer`` and
``OneHotEncoder`` / ``OrdinalEncoder`` at every prediction: column-by-column validation
and object comparisons that cost 5 to 15 ms per call on 1,000 rows, often more than the
model itself. The typed tables autometa predicts on hold categories as pandas codes of a
fixed dtype, so a fitted encoder is a lookup table from code to output column (one-hot)
or value (ordinal). :func:`accelerate` replaces the fitted encoders of a pipeline by such
tables:

* the one-hot preprocessing of tree models (:class:`~autometa.components.preprocessing.
  CategoryCodes` then a ``ColumnTransformer`` one-hot encoding the categorical columns and
  passing the rest through) becomes :class:`OneHotCodes`;
* HistGradientBoosting's own ordinal encoding of native categorical columns becomes
  :class:`OrdinalCodes`.

Each replacement is built from the fitted encoder's own answers (every code and a
missing value is passed through it once) and kept only when it gives exactly the
original output on sample rows; otherwise the pipeline is left as it is.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from autometa.components.preprocessing import CategoryCodes


class _Fitted(TransformerMixin, BaseEstimator):
    """A transformer built already fitted (from another one's fitted state)."""

    def fit(self, X, y=None):
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True


class OneHotCodes(_Fitted):
    """One-hot columns from category codes, then the other columns, as one array.

    Parameters
    ----------
    columns : list of str
        The categorical columns, in output order.
    tables : list of ndarray of int
        Per column, the output position (within its block) of code ``c`` at index
        ``c + 1`` (index 0: missing); -1 means no column is set.
    widths : list of int
        Output columns per categorical column.
    remainder : list of str
        Columns passed through after the one-hot blocks.
    dtype : numpy dtype
        Dtype of the output.
    """

    def __init__(self, columns, tables, widths, remainder, dtype):
        self.columns, self.tables, self.widths = columns, tables, widths
        self.remainder, self.dtype = remainder, dtype

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        width = sum(self.widths)
        out = np.zeros((len(X), width + len(self.remainder)), dtype=self.dtype)
        start = 0
        for column, table, w in zip(self.columns, self.tables, self.widths, strict=True):
            position = table[X[column].cat.codes.to_numpy(dtype=np.int64) + 1]
            rows = np.flatnonzero(position >= 0)
            out[rows, start + position[rows]] = 1
            start += w
        if self.remainder:
            out[:, width:] = X[self.remainder].to_numpy(dtype=np.float64)
        return out


class OrdinalCodes(_Fitted):
    """HistGradientBoosting's input from a typed frame: its ordinal codes of the
    categorical columns (float, NaN for missing or unknown), then the numeric columns."""

    def __init__(self, categorical, tables, numeric):
        self.categorical, self.tables, self.numeric = categorical, tables, numeric

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        k = len(self.categorical)
        out = np.empty((len(X), k + len(self.numeric)), dtype=np.float64)
        for j, (c, table) in enumerate(zip(self.categorical, self.tables, strict=True)):
            out[:, j] = table[X[c].cat.codes.to_numpy(dtype=np.int64) + 1]
        if self.numeric:
            out[:, k:] = X[self.numeric].to_numpy(dtype=np.float64)
        return out


def accelerate(pipeline, sample: pd.DataFrame):
    """``pipeline`` with its encoders replaced by lookup tables where that gives exactly
    the same output on ``sample`` (typed rows of the training table); unchanged otherwise.

    Parameters
    ----------
    pipeline : Pipeline or estimator
        A fitted pipeline of the search space (``("prep", ...), ("model", ...)``).
    sample : DataFrame
        Typed rows to check the replacements on.

    Returns
    -------
    The same object, changed in place where a replacement was exact.
    """
    if not isinstance(pipeline, Pipeline) or len(sample) == 0:
        return pipeline
    prep, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    fast = _one_hot_codes(prep, sample)
    if fast is not None and _same(prep.transform(sample), fast.transform(sample)):
        pipeline.steps[0] = (pipeline.steps[0][0], fast)
        prep = fast
    elif isinstance(prep, ColumnTransformer):
        _swap_branches(prep, sample)
    if isinstance(getattr(model, "_preprocessor", None), ColumnTransformer):
        seen = sample if prep in ("passthrough", None) else prep.transform(sample)
        if isinstance(seen, pd.DataFrame):
            _swap_hgb_encoder(model, seen)
    return pipeline


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def _one_hot_codes(prep, sample: pd.DataFrame) -> OneHotCodes | None:
    """The :class:`OneHotCodes` of a fitted ``CategoryCodes -> ColumnTransformer(one-hot,
    remainder passthrough)`` pipeline, or ``None`` when ``prep`` is not one."""
    if not _codes_then(prep, ColumnTransformer):
        return None
    fitted = [t for t in prep.steps[1][1].transformers_ if t[0] != "remainder"]
    if len(fitted) != 1 or not isinstance(fitted[0][1], OneHotEncoder):
        return None
    _, encoder, columns = fitted[0]
    remainder = [c for c in sample.columns if c not in set(columns)]
    return _from_encoder(encoder, list(columns), remainder, sample)


def _swap_branches(prep: ColumnTransformer, sample: pd.DataFrame) -> None:
    """Replace the ``CategoryCodes -> OneHotEncoder`` branches of a fitted
    ``ColumnTransformer`` by :class:`OneHotCodes` when its output stays exactly the same."""
    before, original = prep.transform(sample), list(prep.transformers_)
    for k, (name, branch, columns) in enumerate(original):
        if _codes_then(branch, OneHotEncoder):
            fast = _from_encoder(branch.steps[1][1], list(columns), [], sample)
            if fast is not None:
                prep.transformers_[k] = (name, fast, columns)
    if prep.transformers_ != original and not _same(before, prep.transform(sample)):
        prep.transformers_ = original


def _codes_then(step, kind) -> bool:
    """Whether ``step`` is a two-step pipeline of ``CategoryCodes`` then a ``kind``."""
    return isinstance(step, Pipeline) and len(step.steps) == 2 \
        and isinstance(step.steps[0][1], CategoryCodes) and isinstance(step.steps[1][1], kind)


def _from_encoder(encoder: OneHotEncoder, columns: list, remainder: list,
                  sample: pd.DataFrame) -> OneHotCodes | None:
    """The :class:`OneHotCodes` doing what the fitted ``encoder`` does on the codes of
    ``columns`` (``None`` for an encoder of another kind of output)."""
    widths = getattr(encoder, "_n_features_outs", None)
    if widths is None or encoder.sparse_output or encoder.drop is not None \
            or not all(isinstance(sample[c].dtype, pd.CategoricalDtype) for c in columns):
        return None
    tables = _one_hot_tables(encoder, [len(sample[c].cat.categories) for c in columns], widths)
    dtype = np.result_type(encoder.dtype, *([np.float64] if remainder else []))
    return OneHotCodes(columns, tables, list(widths), remainder, dtype)


def _one_hot_tables(encoder: OneHotEncoder, n_codes: list[int], widths) -> list[np.ndarray]:
    """Per column, the one-hot position the fitted ``encoder`` gives each code (missing
    first), asked of the encoder itself."""
    longest = max(n_codes) + 1
    probe = np.full((longest, len(n_codes)), np.nan)
    for j, n in enumerate(n_codes):
        probe[1:n + 1, j] = np.arange(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown codes: "encoded as all zeros"
        encoded = np.asarray(encoder.transform(pd.DataFrame(probe,
                                                            columns=encoder.feature_names_in_)))
    tables, start = [], 0
    for n, w in zip(n_codes, widths, strict=True):
        block = encoded[: n + 1, start:start + w]
        tables.append(np.where(block.any(axis=1), block.argmax(axis=1), -1))
        start += w
    return tables


def _swap_hgb_encoder(model, seen: pd.DataFrame) -> None:
    """Replace HistGradientBoosting's fitted ordinal ``ColumnTransformer`` by
    :class:`OrdinalCodes` when that gives exactly its output on ``seen``."""
    original, mask = model._preprocessor, getattr(model, "is_categorical_", None)
    if mask is None or len(mask) != seen.shape[1]:
        return
    names = list(seen.columns)
    categorical = [n for n, m in zip(names, mask, strict=True) if m]
    numeric = [n for n, m in zip(names, mask, strict=True) if not m]
    fitted = [t for t in original.transformers_ if isinstance(t[1], OrdinalEncoder)]
    if len(fitted) != 1 or not all(isinstance(seen[c].dtype, pd.CategoricalDtype)
                                   for c in categorical):
        return
    encoder = fitted[0][1]
    tables = []
    for c, known in zip(categorical, encoder.categories_, strict=True):
        position = {v: float(i) for i, v in enumerate(known) if not pd.isna(v)}
        codes = [position.get(v, np.nan) for v in seen[c].cat.categories]
        tables.append(np.array([np.nan, *codes], dtype=np.float64))
    fast = OrdinalCodes(categorical, tables, numeric)
    if _same(original.transform(seen), fast.transform(seen)):
        model._preprocessor = fast


def use_threads(model, n_threads: int):
    """``model`` (a pipeline, its fold average or a transformed-target wrapper) set to
    predict with ``n_threads`` threads: the ``n_jobs`` of its final estimator (LightGBM,
    XGBoost, k-nearest neighbours and forests read it when predicting; the others follow
    the OpenMP/BLAS limit the caller sets). Changed in place; returned for chaining."""
    for pipeline in getattr(model, "pipelines", [model]):
        final = pipeline.steps[-1][1] if isinstance(pipeline, Pipeline) else pipeline
        final = getattr(final, "regressor_", final)
        if hasattr(final, "get_params") and "n_jobs" in final.get_params(deep=False):
            final.set_params(n_jobs=n_threads)
    return model
