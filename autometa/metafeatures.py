"""Dataset meta-features: a fixed-length description of a tabular learning task.

:func:`compute` turns autometa's canonical typed frame (numeric ``float64`` columns,
categorical ``category`` columns, NaN = missing) and an encoded target into a flat
``dict[str, float]`` with four families from the meta-learning literature:

* ``simple.*`` — sizes, missingness, categorical share, class balance (classification)
  or target skewness/kurtosis (regression), computed exactly on all rows;
* ``stat.*`` — skewness/kurtosis of numeric columns, absolute pairwise correlation,
  categorical cardinality, on a seeded row subsample;
* ``info.*`` — entropies and mutual information between discretised features and the
  (discretised, for regression) target, on the same subsample;
* ``land.*`` — out-of-fold scores of cheap landmark models on a smaller subsample.

The key set depends only on the task type (see :func:`names`); a value that cannot be
computed is NaN, and no family ever raises.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from threadpoolctl import threadpool_limits

from autometa.task import CLASSIFICATION, REGRESSION

logger = logging.getLogger(__name__)

LANDMARK_ROWS = 1000  # rows for the landmark models (after the ``max_rows`` subsample)
MAX_CORR_COLUMNS = 50  # numeric columns sampled for pairwise correlations
N_BINS = 10  # equal-frequency bins for numeric features and a regression target
N_FOLDS = 3
_AGG = ("min", "mean", "max", "std")

_SIMPLE = ["n_rows", "n_features", "log_n_rows", "log_n_features", "log_rows_per_feature",
           "cat_share", "missing_cell_share", "missing_row_share"]
_SIMPLE_TASK = {
    CLASSIFICATION: ["n_classes", "log_n_classes", "minority_share", "majority_share",
                     "minority_majority_ratio"],
    REGRESSION: ["target_skew", "target_kurtosis"],
}
_STAT = ([f"skew_{a}" for a in _AGG] + [f"kurt_{a}" for a in _AGG]
         + ["abs_corr_mean", "abs_corr_max", "abs_corr_std", "cat_card_mean", "cat_card_max"])
_INFO = ["target_entropy", "attr_entropy_mean", "mi_mean", "mi_max", "equiv_n_attr",
         "noise_signal_ratio"]
_LANDMARKS = {
    CLASSIFICATION: {
        "1nn": KNeighborsClassifier(n_neighbors=1, algorithm="brute"),
        "naive_bayes": GaussianNB(),
        "stump": DecisionTreeClassifier(max_depth=1, random_state=0),
        "lda": LinearDiscriminantAnalysis(),
    },
    REGRESSION: {
        "1nn": KNeighborsRegressor(n_neighbors=1, algorithm="brute"),
        "stump": DecisionTreeRegressor(max_depth=1, random_state=0),
        "ridge": Ridge(alpha=1.0),
    },
}


def names(task: str) -> list[str]:
    """The meta-feature names :func:`compute` returns for a task type, in order.

    Parameters
    ----------
    task : {"classification", "regression"}
        The task type.

    Returns
    -------
    list of str
        Names prefixed by their family: ``simple.``, ``stat.``, ``info.``, ``land.``.
    """
    if task not in (CLASSIFICATION, REGRESSION):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}.")
    return ([f"simple.{n}" for n in _SIMPLE + _SIMPLE_TASK[task]]
            + [f"stat.{n}" for n in _STAT] + [f"info.{n}" for n in _INFO]
            + [f"land.{n}" for n in _LANDMARKS[task]])


@dataclass(frozen=True)
class _Sample:
    """A seeded row subsample, split into a numeric matrix and categorical codes."""

    num: np.ndarray  # (n, p_num) float64, NaN = missing
    codes: np.ndarray  # (n, p_cat) int64, -1 = missing
    cards: np.ndarray  # (p_cat,) number of categories per categorical column
    y: np.ndarray  # (n,)


def compute(X: pd.DataFrame, y: np.ndarray, task: str, *, categorical: Sequence[str] = (),
            seed: int = 0, max_rows: int = 5000) -> dict[str, float]:
    """Compute the meta-features of a dataset.

    Parameters
    ----------
    X : pandas.DataFrame
        Canonical typed frame: numeric columns ``float64`` and categorical columns
        ``category`` dtype, NaN for missing values.
    y : numpy.ndarray
        Target: labels ``0 .. C-1`` for classification, floats for regression.
    task : {"classification", "regression"}
        The task type; it fixes the returned key set.
    categorical : sequence of str, default=()
        Names of the categorical columns. Columns of non-numeric dtype are treated as
        categorical too.
    seed : int, default=0
        Seed for the row subsamples, correlation column sample and landmark folds.
    max_rows : int, default=5000
        Rows subsampled for the statistical and information-theoretic features; the
        landmarkers use at most ``LANDMARK_ROWS`` of them.

    Returns
    -------
    dict of str to float
        One value per name in ``names(task)``; NaN where a value cannot be computed.

    Notes
    -----
    During the call, warnings are silenced and BLAS/OpenMP pools are limited to one
    thread (both process-wide): the matrices involved are small, and extra threads only
    slowed the landmarkers down on a busy machine.
    """
    keys = names(task)
    out: dict[str, float] = dict.fromkeys(keys, np.nan)
    with warnings.catch_warnings(), np.errstate(all="ignore"), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        y = np.asarray(y).ravel()
        cats = _categorical_columns(X, categorical)
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed % 2**63).spawn(3)]
        out.update(_safe(_simple, X, y, task, cats))
        sample = _safe(_subsample, X, y, cats, max_rows, rngs[0])
        if isinstance(sample, _Sample):
            out.update(_safe(_statistical, sample, rngs[1]))
            out.update(_safe(_information, sample, task))
            out.update(_safe(_landmarks, sample, task, rngs[2]))
    return {k: _as_float(out[k]) for k in keys}


def _safe(fn: Callable, *args) -> dict | _Sample:
    """Run one family; a failure is logged and yields no values (they stay NaN)."""
    try:
        return fn(*args)
    except Exception:  # a meta-feature must never break the caller
        logger.debug("meta-feature step %s failed", fn.__name__, exc_info=True)
        return {}


def _as_float(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return np.nan
    return value if np.isfinite(value) else np.nan


def _log(x: float) -> float:
    return float(np.log(x)) if x > 0 else np.nan


def _categorical_columns(X: pd.DataFrame, categorical: Sequence[str]) -> list:
    listed = set(categorical)
    return [c for c, dtype in X.dtypes.items()
            if c in listed or not pd.api.types.is_numeric_dtype(dtype)]


# -- simple -----------------------------------------------------------------------------


def _simple(X: pd.DataFrame, y: np.ndarray, task: str, cats: list) -> dict[str, float]:
    n, p = X.shape
    missing = X.isna().to_numpy() if n and p else np.zeros((n, p), dtype=bool)
    out = {
        "n_rows": n, "n_features": p, "log_n_rows": _log(n), "log_n_features": _log(p),
        "log_rows_per_feature": _log(n / p) if p else np.nan,
        "cat_share": len(cats) / p if p else np.nan,
        "missing_cell_share": missing.mean() if missing.size else np.nan,
        "missing_row_share": missing.any(axis=1).mean() if missing.size else np.nan,
    }
    out.update(_class_balance(y) if task == CLASSIFICATION else _target_shape(y))
    return {f"simple.{k}": v for k, v in out.items()}


def _class_balance(y: np.ndarray) -> dict[str, float]:
    counts = np.unique(y, return_counts=True)[1]
    share = counts / counts.sum()
    return {"n_classes": len(counts), "log_n_classes": _log(len(counts)),
            "minority_share": share.min(), "majority_share": share.max(),
            "minority_majority_ratio": share.min() / share.max()}


def _target_shape(y: np.ndarray) -> dict[str, float]:
    skew, kurt = _moments(np.asarray(y, dtype=np.float64)[:, None])[2:]
    return {"target_skew": skew[0], "target_kurtosis": kurt[0]}


# -- subsample --------------------------------------------------------------------------


def _subsample(X: pd.DataFrame, y: np.ndarray, cats: list, max_rows: int,
               rng: np.random.Generator) -> _Sample:
    n = len(X)
    if n > max_rows:
        idx = np.sort(rng.choice(n, size=max(int(max_rows), 1), replace=False))
        X, y = X.iloc[idx], y[idx]
    cat_set = set(cats)
    nums = [c for c in X.columns if c not in cat_set]
    num = X[nums].to_numpy(dtype=np.float64, na_value=np.nan) if nums else np.empty((len(X), 0))
    num = np.where(np.isfinite(num), num, np.nan)  # a copy: pandas may hand out read-only views
    codes, cards = np.empty((len(X), len(cats)), dtype=np.int64), np.zeros(len(cats))
    for j, c in enumerate(cats):  # a loop over columns of the subsample only
        col = X[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes[:, j], cards[j] = col.cat.codes.to_numpy(), len(col.cat.categories)
        else:
            codes[:, j], uniques = pd.factorize(col)
            cards[j] = len(uniques)
    return _Sample(num, codes, cards, y)


# -- statistical ------------------------------------------------------------------------


def _moments(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-column NaN-aware centred matrix (NaN -> 0), variance, skewness, kurtosis."""
    count = (~np.isnan(A)).sum(axis=0)
    mean = np.nansum(A, axis=0) / np.maximum(count, 1)
    centred = np.nan_to_num(A - mean, nan=0.0)
    sq = centred**2
    m2 = sq.sum(axis=0) / np.maximum(count, 1)
    m3 = (sq * centred).sum(axis=0) / np.maximum(count, 1)
    m4 = (sq * sq).sum(axis=0) / np.maximum(count, 1)
    ok = (count >= 3) & (np.sqrt(m2) > 1e-9 * np.abs(mean)) & (m2 > 0)
    skew = np.where(ok, m3 / np.where(ok, m2, 1.0) ** 1.5, np.nan)
    kurt = np.where(ok, m4 / np.where(ok, m2, 1.0) ** 2 - 3.0, np.nan)
    return centred, np.where(ok, m2, np.nan), skew, kurt


def _aggregate(prefix: str, values: np.ndarray, stats: Sequence[str] = _AGG) -> dict:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return {}
    funcs = {"min": np.min, "mean": np.mean, "max": np.max, "std": np.std}
    return {f"{prefix}_{s}": funcs[s](v) for s in stats}


def _statistical(s: _Sample, rng: np.random.Generator) -> dict[str, float]:
    centred, var, skew, kurt = _moments(s.num)
    out = {**_aggregate("skew", skew), **_aggregate("kurt", kurt)}
    usable = np.flatnonzero(np.isfinite(var))
    if len(usable) > MAX_CORR_COLUMNS:
        usable = np.sort(rng.choice(usable, size=MAX_CORR_COLUMNS, replace=False))
    if len(usable) >= 2:
        z = centred[:, usable] / np.sqrt(var[usable])  # mean-imputed, standardised
        corr = np.clip(z.T @ z / len(z), -1.0, 1.0)
        upper = np.abs(corr[np.triu_indices(len(usable), k=1)])
        out.update(_aggregate("abs_corr", upper, ("mean", "max", "std")))
    if s.cards.size:
        out.update({"cat_card_mean": s.cards.mean(), "cat_card_max": s.cards.max()})
    return {f"stat.{k}": v for k, v in out.items()}


# -- information-theoretic --------------------------------------------------------------


def _discretise(A: np.ndarray, bins: int = N_BINS) -> np.ndarray:
    """Equal-frequency bin codes ``0 .. bins-1`` per column (ties kept together); NaN -> bins."""
    n = A.shape[0]
    order = np.argsort(A, axis=0, kind="stable")  # NaN sorts last
    ordered = np.take_along_axis(A, order, axis=0)
    valid = (~np.isnan(A)).sum(axis=0)
    pos = np.arange(n)[:, None]
    new_value = np.ones(ordered.shape, dtype=bool)
    new_value[1:] = ordered[1:] != ordered[:-1]
    run_start = np.maximum.accumulate(np.where(new_value, pos, 0), axis=0)
    sorted_bins = np.where(pos < valid, run_start * bins // np.maximum(valid, 1), bins)
    out = np.empty(A.shape, dtype=np.int64)
    np.put_along_axis(out, order, sorted_bins, axis=0)
    return out


def _compress_codes(codes: np.ndarray, bins: int = N_BINS) -> np.ndarray:
    """Keep each column's ``bins-1`` most frequent categories, lump the rest; missing -> bins."""
    out = np.full(codes.shape, bins, dtype=np.int64)
    for j in range(codes.shape[1]):  # columns of the subsample only
        present = codes[:, j] >= 0
        if not present.any():
            continue
        counts = np.bincount(codes[present, j])
        rank = np.empty(len(counts), dtype=np.int64)
        rank[np.argsort(-counts, kind="stable")] = np.arange(len(counts))
        out[present, j] = np.minimum(rank[codes[present, j]], bins - 1)
    return out


def _entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=axis)


def _information(s: _Sample, task: str) -> dict[str, float]:
    if task == CLASSIFICATION:
        target = np.unique(s.y, return_inverse=True)[1].ravel()
    else:
        target = _discretise(np.asarray(s.y, dtype=np.float64)[:, None])[:, 0]
    n_target = int(target.max()) + 1
    py = np.bincount(target, minlength=n_target) / len(target)
    hy = _entropy(py)
    occupied = int((py > 0).sum())
    out = {"target_entropy": hy / np.log(occupied) if occupied > 1 else np.nan}
    D = np.hstack([_discretise(s.num), _compress_codes(s.codes)])
    if D.shape[1]:
        mi, hx = _mutual_information(D, target, N_BINS + 1, n_target)
        out.update({"attr_entropy_mean": hx.mean(), "mi_mean": mi.mean(), "mi_max": mi.max()})
        if mi.mean() > 1e-12:
            out["equiv_n_attr"] = hy / mi.mean()
            out["noise_signal_ratio"] = (hx.mean() - mi.mean()) / mi.mean()
    return {f"info.{k}": v for k, v in out.items()}


def _mutual_information(D: np.ndarray, t: np.ndarray, k: int,
                        c: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-column MI(feature; target) and feature entropy, in nats, from one joint count."""
    n, p = D.shape
    flat = (np.arange(p) * k * c)[None, :] + D * c + t[:, None]
    joint = np.bincount(flat.ravel(), minlength=p * k * c).reshape(p, k, c) / n
    px, pt = joint.sum(axis=2), joint.sum(axis=1)
    hx, ht = _entropy(px), _entropy(pt)
    hxt = _entropy(joint.reshape(p, k * c))
    return np.maximum(hx + ht - hxt, 0.0), hx


# -- landmarkers ------------------------------------------------------------------------


def _landmark_matrix(s: _Sample, rows: np.ndarray) -> np.ndarray:
    """Median-imputed numeric and ordinal-coded categorical columns, standardised."""
    num = s.num[rows]
    median = np.nan_to_num(np.nanmedian(num, axis=0), nan=0.0) if num.size else 0.0
    Z = np.hstack([np.where(np.isnan(num), median, num), s.codes[rows].astype(np.float64)])
    std = Z.std(axis=0)
    return (Z - Z.mean(axis=0)) / np.where(std > 1e-12, std, 1.0)


def _folds(t: np.ndarray, task: str, k: int, rng: np.random.Generator) -> np.ndarray:
    """Fold ids ``0 .. k-1``; stratified by class for classification."""
    order = rng.permutation(len(t))
    if task == CLASSIFICATION:
        order = order[np.argsort(t[order], kind="stable")]
    folds = np.empty(len(t), dtype=np.int64)
    folds[order] = np.arange(len(t)) % k
    return folds


def _landmarks(s: _Sample, task: str, rng: np.random.Generator) -> dict[str, float]:
    n = len(s.y)
    rows = np.sort(rng.permutation(n)[:LANDMARK_ROWS])
    Z = _landmark_matrix(s, rows)
    if task == CLASSIFICATION:
        t = np.unique(s.y[rows], return_inverse=True)[1].ravel()
    else:
        t = np.asarray(s.y[rows], dtype=np.float64)
    k = min(N_FOLDS, len(t))
    if k < 2 or Z.shape[1] == 0:
        return {}
    folds = _folds(t, task, k, rng)
    out = {}
    for name, model in _LANDMARKS[task].items():
        out.update(_safe(_landmark_score, f"land.{name}", model, Z, t, folds, task))
    return out


def _landmark_score(key: str, model, Z: np.ndarray, t: np.ndarray, folds: np.ndarray,
                    task: str) -> dict[str, float]:
    """Out-of-fold balanced accuracy (classification) or R² clipped to [-1, 1]."""
    pred = np.empty(len(t), dtype=t.dtype)
    for f in np.unique(folds):
        test = folds == f
        pred[test] = clone(model).fit(Z[~test], t[~test]).predict(Z[test])
    if task == CLASSIFICATION:
        counts = np.bincount(t)
        hits = np.bincount(t, weights=(pred == t).astype(np.float64), minlength=len(counts))
        return {key: np.mean(hits[counts > 0] / counts[counts > 0])}
    sst = np.sum((t - t.mean()) ** 2)
    if sst <= 0:
        return {}
    return {key: np.clip(1.0 - np.sum((t - pred) ** 2) / sst, -1.0, 1.0)}


def of_table(X, y, task: str, seed: int = 0) -> dict[str, float]:
    """:func:`compute` on a raw table: X as given to ``fit``, y of labels or numbers."""
    from autometa.table import Table

    table = Table.from_raw(X, y, task, "metafeatures")
    return compute(table.X, table.y, task, categorical=table.schema.categorical_names,
                   seed=seed)
