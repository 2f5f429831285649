"""Forest predictions without the per-tree dispatch of scikit-learn's forests.

scikit-learn's ``RandomForest*`` and ``ExtraTrees*`` predict each tree through joblib
with a configuration context and warning filters around every call: about 80 µs per
tree whatever the number of rows, so a 300-tree forest spends some 25 ms per call
before predicting anything. :func:`forest_predict` asks each fitted tree structure for
its leaf values directly and sums them in the forest's order: the same predictions, at
the cost of the trees alone. A forest set to ``n_jobs > 1`` predicts shares of the rows in
that many threads (the trees' traversal releases the GIL), each row as above.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from joblib import effective_n_jobs
from sklearn.ensemble._forest import BaseForest, ForestClassifier
from sklearn.pipeline import Pipeline

THREADED_ROWS = 200  # rows per thread at least: fewer cost more in threads than they save


def is_forest(model) -> bool:
    """Whether ``model`` is a fitted single-output scikit-learn forest."""
    return isinstance(model, BaseForest) and getattr(model, "n_outputs_", 0) == 1 \
        and hasattr(model, "estimators_")


def forest_predict(forest: BaseForest, X) -> np.ndarray:
    """The forest's ``predict_proba`` (classifier) or ``predict`` (regressor) of ``X``.

    Parameters
    ----------
    forest : RandomForest* or ExtraTrees* estimator
        Fitted, single output.
    X : array-like of shape (n_samples, n_features)
        Rows as the forest's own ``predict`` takes them.

    Returns
    -------
    ndarray
        Class probabilities of shape (n_samples, n_classes), or values of shape
        (n_samples,).
    """
    X = forest._validate_X_predict(X)
    trees = forest.estimators_
    n_threads = min(effective_n_jobs(forest.n_jobs), len(X) // THREADED_ROWS)
    if n_threads > 1 and isinstance(X, np.ndarray):
        with ThreadPoolExecutor(n_threads) as pool:
            total = np.concatenate(list(pool.map(
                lambda rows: _summed(trees, rows), np.array_split(X, n_threads))))
    else:
        total = _summed(trees, X)
    total /= len(trees)
    if isinstance(forest, ForestClassifier):
        return total[:, : forest.n_classes_]
    return total[:, 0]


def _summed(trees: list, X) -> np.ndarray:
    """The sum of the leaf values of ``trees`` on the rows ``X``, in the trees' order."""
    total = np.zeros((X.shape[0], trees[0].tree_.value.shape[2]))
    for tree in trees:
        total += tree.tree_.predict(X)
    return total


def pipeline_predict(pipeline, X, proba: bool) -> np.ndarray:
    """``pipeline.predict_proba(X)`` (``proba``) or ``pipeline.predict(X)``, through
    :func:`forest_predict` when ``pipeline`` is a :class:`~sklearn.pipeline.Pipeline`
    ending in a forest (``proba`` must then match the forest's kind)."""
    model = pipeline.steps[-1][1] if isinstance(pipeline, Pipeline) else None
    if not is_forest(model):
        return pipeline.predict_proba(X) if proba else pipeline.predict(X)
    for _, step in pipeline.steps[:-1]:
        if step is not None and step != "passthrough":
            X = step.transform(X)
    return forest_predict(model, X)
