"""Forest predictions without the per-tree dispatch of scikit-learn's forests.

scikit-learn's ``RandomForest*`` and ``ExtraTrees*`` predict each tree through joblib
with a configuration context and warning filters around every call: about 80 µs per
tree whatever the number of rows, so a 300-tree forest spends some 25 ms per call
before predicting anything. :func:`forest_predict` asks each fitted tree structure for
its leaf values directly and sums them in the forest's order: the same predictions, at
the cost of the trees alone.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble._forest import BaseForest, ForestClassifier
from sklearn.pipeline import Pipeline


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
    total = np.zeros((X.shape[0], forest.estimators_[0].tree_.value.shape[2]))
    for tree in forest.estimators_:
        total += tree.tree_.predict(X)
    total /= len(forest.estimators_)
    if isinstance(forest, ForestClassifier):
        return total[:, : forest.n_classes_]
    return total[:, 0]


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
