"""Preprocessing choices shared by the model families, and their builders.

Two shapes of preprocessing exist:

* tree models see numbers as they are (missing values included) and categories
  either natively / as ordinal codes, or one-hot encoded with a cardinality cap;
* scale-sensitive models (linear, k-NN, MLP) get imputation, a scaler and one-hot
  encoding with a cardinality cap.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from ConfigSpace import EqualsCondition
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    OneHotEncoder,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

from autometa.components.base import BuildContext, choice, log_int

NATIVE, ORDINAL, ONEHOT = "native", "ordinal", "onehot"


class CategoryCodes(TransformerMixin, BaseEstimator):
    """Replace categorical columns of a DataFrame by their codes (float, NaN = missing).

    Parameters
    ----------
    columns : list of str or None
        Columns to encode; ``None`` encodes every ``category`` column.
    """

    def __init__(self, columns: list[str] | None = None):
        self.columns = columns

    def fit(self, X: pd.DataFrame, y=None) -> CategoryCodes:
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        columns = self.columns
        if columns is None:
            columns = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        if not columns:
            return X
        X = X.copy(deep=False)
        for c in columns:
            codes = X[c].cat.codes.to_numpy().astype(np.float64)
            codes[codes < 0] = np.nan
            X[c] = codes
        return X


# -- spaces ----------------------------------------------------------------------------------


def tree_encoding_space(native: bool) -> tuple[list, list]:
    """Hyperparameters and conditions for categorical encoding in tree models."""
    enc = choice("cat_encoding", [NATIVE if native else ORDINAL, ONEHOT])
    cap = log_int("onehot_max_categories", 4, 64, 16)
    return [enc, cap], [EqualsCondition(cap, enc, ONEHOT)]


def scaled_space() -> list:
    """Hyperparameters for imputation, scaling and capped one-hot encoding."""
    return [
        choice("imputer", ["median", "mean"]),
        choice("scaler", ["standard", "robust", "quantile"]),
        log_int("onehot_max_categories", 4, 64, 16),
    ]


# -- builders --------------------------------------------------------------------------------


def _onehot(cap: int) -> OneHotEncoder:
    return OneHotEncoder(
        handle_unknown="infrequent_if_exist",
        max_categories=int(cap),
        sparse_output=False,
        dtype=np.float32,
    )


def tree_preprocessing(params: dict[str, Any], ctx: BuildContext, native_max: int | None = None):
    """Preprocessing for a tree model.

    ``native_max`` is the largest cardinality the model handles natively (``None``: any);
    columns above it are passed as ordinal codes.
    """
    encoding = params.get("cat_encoding", ORDINAL)
    if not ctx.categorical:
        return "passthrough"
    if encoding == ONEHOT:
        encode = ColumnTransformer(
            [("cat", _onehot(params["onehot_max_categories"]), list(ctx.categorical))],
            remainder="passthrough",
            verbose_feature_names_out=False,
        )
        return make_pipeline(CategoryCodes(), encode)
    if encoding == NATIVE:
        too_many = [
            c for c, k in zip(ctx.categorical, ctx.cardinalities, strict=True)
            if native_max is not None and k > native_max
        ]
        return CategoryCodes(too_many) if too_many else "passthrough"
    return CategoryCodes()


def scaled_preprocessing(params: dict[str, Any], ctx: BuildContext) -> ColumnTransformer:
    """Imputation + scaling for numbers, capped one-hot encoding for categories."""
    numeric = Pipeline(
        [
            # an all-missing column is kept (as zeros): no warning at every predict
            ("impute", SimpleImputer(strategy=params["imputer"], add_indicator=True,
                                     keep_empty_features=True)),
            ("scale", _scaler(params["scaler"], ctx.n_rows)),
        ]
    )
    categorical = make_pipeline(CategoryCodes(), _onehot(params["onehot_max_categories"]))
    return ColumnTransformer(
        [("num", numeric, list(ctx.numeric)), ("cat", categorical, list(ctx.categorical))],
        verbose_feature_names_out=False,
    )


def _scaler(name: str, n_rows: int):
    if name == "standard":
        return StandardScaler()
    if name == "robust":
        return RobustScaler()
    n_quantiles = int(min(1000, max(10, n_rows // 2)))
    return QuantileTransformer(n_quantiles=n_quantiles, output_distribution="normal")
