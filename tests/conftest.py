"""Shared test data: small, mixed-type tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def mixed_frame(n: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric, categorical, string (with pd.NA), bool columns; missing values; binary y."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(n, 3))
    color = rng.choice(["red", "green", "blue"], size=n)
    X = pd.DataFrame(
        {
            "a": num[:, 0],
            "b": num[:, 1],
            "c": num[:, 2],
            "color": pd.Categorical(color),
            "city": pd.array(rng.choice(["x", "y", "z", None], size=n), dtype="string"),
            "flag": rng.random(n) > 0.5,
        }
    )
    X.loc[rng.random(n) < 0.1, "a"] = np.nan
    logit = 2 * num[:, 0] - num[:, 1] + (color == "red") * 1.5
    y = np.where(logit + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    return X, y


def task_data(X, y, task: str = "classification", resampling=3, seed: int = 0):
    """The TaskData of a raw table, as a fit prepares it."""
    from autometa.evaluation import TaskData
    from autometa.table import Table

    return TaskData.from_table(Table.from_raw(X, y, task), resampling=resampling, seed=seed)


@pytest.fixture
def mixed():
    return mixed_frame()


@pytest.fixture
def regression_data():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(150, 4)), columns=list("pqrs"))
    X["kind"] = pd.Categorical(rng.choice(["u", "v"], size=150))
    y = 3 * X["p"] - X["q"] ** 2 + (X["kind"] == "u") * 2 + rng.normal(scale=0.1, size=150)
    return X, y.to_numpy()
