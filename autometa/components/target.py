"""Target transformations of regression pipelines, chosen by the search.

A regression configuration's root-level ``target_transform`` decides whether the built
pipeline's model learns the target as it is (``"none"``, the default), as
``sign(y) * log1p(|y|)`` (``"log1p"``: defined for every real target, the plain
``log1p`` on non-negative ones) or Yeo-Johnson transformed and standardised
(``"yeo-johnson"``). The model step is wrapped in scikit-learn's
``TransformedTargetRegressor``, so predictions are on the original scale and every
metric sees them there. The inverse transformation clips the model's predictions to the
range of the transformed training targets: a model that extrapolates far (a linear
model or an MLP) cannot turn into infinite or undefined values.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PowerTransformer

NONE = "none"
TRANSFORMS = (NONE, "log1p", "yeo-johnson")


def signed_log1p(y: np.ndarray) -> np.ndarray:
    """``sign(y) * log1p(|y|)``: ``log1p`` on non-negative values, odd around zero."""
    return np.sign(y) * np.log1p(np.abs(y))


def signed_expm1(z: np.ndarray) -> np.ndarray:
    """The inverse of :func:`signed_log1p`."""
    return np.sign(z) * np.expm1(np.abs(z))


class TargetTransformer(TransformerMixin, BaseEstimator):
    """A target transformation whose inverse stays within the training targets' range.

    Parameters
    ----------
    method : {"log1p", "yeo-johnson"}
        ``"log1p"``: :func:`signed_log1p`; ``"yeo-johnson"``: scikit-learn's
        ``PowerTransformer`` (standardised).

    Attributes
    ----------
    low_, high_ : float
        Range of the transformed training targets; :meth:`inverse_transform` clips to it.
    power_ : PowerTransformer or None
        The fitted Yeo-Johnson transformation.
    """

    def __init__(self, method: str = "log1p"):
        self.method = method

    def fit(self, y, _=None):
        """Fit on targets ``y`` of shape (n_samples, 1)."""
        if self.method not in TRANSFORMS[1:]:
            raise ValueError(f"Unknown target transformation {self.method!r}; "
                             f"known: {list(TRANSFORMS[1:])}.")
        y = np.asarray(y, dtype=np.float64)
        self.power_ = PowerTransformer(method="yeo-johnson").fit(y) \
            if self.method == "yeo-johnson" else None
        z = self.transform(y)
        self.low_, self.high_ = float(np.min(z)), float(np.max(z))
        return self

    def transform(self, y) -> np.ndarray:
        """The transformed targets."""
        y = np.asarray(y, dtype=np.float64)
        return signed_log1p(y) if self.power_ is None else self.power_.transform(y)

    def inverse_transform(self, z) -> np.ndarray:
        """Values on the original scale, from predictions clipped to the training range."""
        z = np.clip(np.asarray(z, dtype=np.float64), self.low_, self.high_)
        return signed_expm1(z) if self.power_ is None else self.power_.inverse_transform(z)


def with_target_transform(pipeline, method: str):
    """``pipeline`` with its model step learning the ``method``-transformed target.

    Parameters
    ----------
    pipeline : Pipeline or regressor
        A built (unfitted) regression pipeline; for a Pipeline its last step is wrapped,
        so the preprocessing steps stay where they are.
    method : str
        One of :data:`TRANSFORMS`; ``"none"`` returns ``pipeline`` unchanged.

    Returns
    -------
    Pipeline or TransformedTargetRegressor
    """
    if method == NONE:
        return pipeline
    if method not in TRANSFORMS:
        raise ValueError(f"Unknown target transformation {method!r}; known: {list(TRANSFORMS)}.")

    def wrap(model):
        return TransformedTargetRegressor(model, transformer=TargetTransformer(method),
                                          check_inverse=False)

    if not isinstance(pipeline, Pipeline):
        return wrap(pipeline)
    name, model = pipeline.steps[-1]
    return Pipeline([*pipeline.steps[:-1], (name, wrap(model))])
