"""Sample weights: validated once, then carried by the table to every step of a fit.

Only relative weights matter: :func:`check_sample_weight` scales them to a mean of 1
over the rows of positive weight, and weights that are all equal are the same as none
(``None``), so that such a fit is the unweighted fit. Rows of weight 0 take no part in
training (:func:`training_rows`) and count for nothing in the validation losses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def check_sample_weight(sample_weight, n_rows: int) -> np.ndarray | None:
    """Validate ``sample_weight`` for ``n_rows`` rows and scale it.

    Parameters
    ----------
    sample_weight : array-like of shape (n_rows,), number or None
        Non-negative finite weights; a number weighs every row alike.
    n_rows : int
        Rows of X.

    Returns
    -------
    ndarray of float64 or None
        The weights divided by their mean over the rows of positive weight; ``None`` when
        no weights are given or all of them are equal.

    Raises
    ------
    ValueError
        With what to fix: not numbers, not one per row, NaN or infinite, negative, all 0.
    """
    if sample_weight is None:
        return None
    w = _as_float_array(sample_weight, n_rows)
    bad = ~np.isfinite(w)
    if bad.any():
        raise ValueError(f"sample_weight has {int(bad.sum())} NaN or infinite value(s); give "
                         "every row a finite weight (0 leaves a row out).")
    if (w < 0).any():
        raise ValueError(f"sample_weight has {int((w < 0).sum())} negative value(s) (the "
                         f"lowest is {w.min():g}); weights must be 0 or more.")
    positive = w > 0
    if not positive.any():
        raise ValueError("sample_weight is zero for every row; give at least some rows a "
                         "positive weight.")
    if np.all(w == w[0]):
        return None
    return w / w[positive].mean()


def _as_float_array(sample_weight, n_rows: int) -> np.ndarray:
    if isinstance(sample_weight, (pd.Series, pd.DataFrame)):
        sample_weight = sample_weight.to_numpy()
    values = np.asarray(sample_weight)
    if values.ndim == 0:
        values = np.full(n_rows, values)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"sample_weight must be 1-D (one weight per row), got shape "
                         f"{values.shape}.")
    if len(values) != n_rows:
        raise ValueError(f"sample_weight has {len(values)} values but X has {n_rows} rows; "
                         "give one weight per row.")
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("sample_weight must hold numbers, got values such as "
                         f"{values[:3].tolist()!r}.") from None


def check_class_weights(y: np.ndarray, sample_weight: np.ndarray | None,
                        classes: np.ndarray) -> None:
    """Every class of an encoded target ``y`` needs some positive weight.

    Raises
    ------
    ValueError
        Naming the classes whose rows all weigh 0.
    """
    if sample_weight is None:
        return
    totals = np.bincount(y, weights=sample_weight, minlength=len(classes))
    empty = [classes[i].item() if isinstance(classes[i], np.generic) else classes[i]
             for i in np.flatnonzero(totals == 0)]
    if empty:
        raise ValueError(f"sample_weight is 0 for every row of class(es) {empty!r}; give "
                         "them a positive weight or drop those rows.")


def training_rows(sample_weight: np.ndarray | None, rows: np.ndarray | None, n_rows: int
                  ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The rows a model is trained on, and their weights.

    Parameters
    ----------
    sample_weight : ndarray or None
        Weights of all rows.
    rows : ndarray or None
        Indices of the rows to train on (``None``: all ``n_rows``).
    n_rows : int
        Rows of the table.

    Returns
    -------
    rows : ndarray or None
        ``rows`` without those of weight 0 (``None``, all rows, when unweighted).
    weights : ndarray or None
        Their weights; ``None`` when they are all equal.
    """
    if sample_weight is None:
        return rows, None
    rows = np.arange(n_rows) if rows is None else np.asarray(rows)
    w = sample_weight[rows]
    keep = w > 0
    rows, w = rows[keep], w[keep]
    return rows, None if len(w) == 0 or np.all(w == w[0]) else w


def weights_of(sample_weight: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    """The weights of ``rows`` (``None`` when unweighted)."""
    return None if sample_weight is None else sample_weight[rows]
