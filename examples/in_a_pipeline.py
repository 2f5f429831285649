"""AutoMetaClassifier as the last step of a scikit-learn Pipeline, cross-validated.

A feature-engineering step feeds a mixed-type table (numbers with missing values,
categories, strings, booleans) straight to AutoMetaClassifier, and
``cross_val_score`` runs one full search per fold.

Usage: python examples/in_a_pipeline.py [TIME_BUDGET_SECONDS_PER_FOLD]
"""

import sys

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from autometa import AutoMetaClassifier


def customers(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A synthetic churn table with the column types real data has."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.integers(18, 80, n).astype(float),
        "monthly_spend": rng.gamma(2.0, 30.0, n),
        "months_active": rng.integers(1, 120, n),
        "plan": pd.Categorical(rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])),
        "region": rng.choice(["north", "south", "east", "west"], n),
        "has_support_ticket": rng.random(n) < 0.3,
    })
    X.loc[rng.random(n) < 0.1, "monthly_spend"] = np.nan  # missing values are fine
    logit = (1.5 * X["has_support_ticket"] - 0.03 * X["months_active"]
             + 0.8 * (X["plan"] == "basic") + rng.normal(0, 0.5, n))
    return X, np.where(logit > -0.5, "churned", "stayed")


def add_ratios(X: pd.DataFrame) -> pd.DataFrame:
    """Feature engineering before the AutoML step: spend per month of tenure."""
    return X.assign(spend_per_month_active=X["monthly_spend"] / X["months_active"])


def main(budget: float) -> None:
    X, y = customers()
    pipeline = Pipeline([
        ("features", FunctionTransformer(add_ratios)),
        ("model", AutoMetaClassifier(time_budget=budget, metric="roc_auc", random_state=0)),
    ])
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    scores = cross_val_score(pipeline, X, y, cv=folds, scoring="roc_auc")
    print(f"ROC AUC per fold: {np.round(scores, 4)}")
    print(f"mean ROC AUC:     {scores.mean():.4f} +/- {scores.std():.4f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 20)
