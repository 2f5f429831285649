"""Test-only model families that misbehave on purpose (raise, hang, eat memory)."""

from __future__ import annotations

import time

import numpy as np
from ConfigSpace import Float
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier

from autometa.components import ModelSpec
from autometa.components.base import subspace


class Misbehaving(ClassifierMixin, BaseEstimator):
    def __init__(self, how: str = "raise", x: float = 0.5):
        self.how = how
        self.x = x

    def fit(self, X, y):
        if self.how == "raise":
            raise RuntimeError("this component always fails")
        if self.how == "hang":
            time.sleep(3600)
        if self.how == "memory":
            hog = [np.ones(2**27) for _ in range(40)]  # 40 GB if nothing stops it
            del hog
        self.inner_ = DummyClassifier().fit(X, y)
        self.classes_ = self.inner_.classes_
        return self

    def predict_proba(self, X):
        return self.inner_.predict_proba(X)


def _spec(how: str) -> ModelSpec:
    return ModelSpec(
        name=f"faulty_{how}",
        tasks=("classification",),
        space=lambda task: subspace([Float("x", (0.0, 1.0), default=0.5)]),
        build=lambda params, ctx: Misbehaving(how, params["x"]),
    )


RAISES, HANGS, MEMORY = _spec("raise"), _spec("hang"), _spec("memory")
